"""First-contact resolution, computed from the log rather than declared by the agent (pure).

A case is resolved at first contact (FCR) when it was resolved within `resolve_within_hours` of being opened, and
within `window_days` of that resolution there was no handoff, no reopen and no repeat contact: a contact by the
case's customer (the *resolved* customer: a contact filed under another identifier of the same person counts)
naming the case or no case, after the opening. A case is `pending` while it may still turn out either way.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from domain.instants import DAY_US
from domain.quality.cases import CaseFacts
from domain.quality.facts import HOUR_US, Fact, Resolve, customer_of


@dataclass(frozen=True, slots=True)
class FcrConfig:
    """`window_days`: how long after resolution a handoff, reopen or repeat contact still undoes FCR (calendar
    days). `resolve_within_hours`: how soon after opening a case must be resolved to count as resolved in its
    first contact."""

    window_days: int = 7
    resolve_within_hours: int = 24

    def __post_init__(self) -> None:
        if self.window_days < 0 or self.resolve_within_hours < 0:
            raise ValueError("FCR windows must not be negative")


class Outcome(StrEnum):
    FCR = "fcr"
    NOT_FCR = "not_fcr"
    PENDING = "pending"


@dataclass(frozen=True, slots=True)
class CaseOutcome:
    """One case's FCR outcome as of `now`; `reason` says what undid it (`handoff`, `repeat_contact`, `reopen`,
    `unresolved`, `resolved_late`)."""

    case_id: str
    customer: str | None
    channel: str
    department: str
    agent: str | None
    outcome: Outcome
    reason: str | None = None


def repeat_contacts(case: CaseFacts, contacts: Sequence[Fact], resolve: Resolve) -> list[Fact]:
    """The customer's contacts after the case opened that name this case or no case (`contacts` in log order)."""
    return [c for c in contacts if c.occurred_us > case.opened_us and (
        c.case_id == case.case_id or (c.case_id is None and case.customer is not None
                                      and customer_of(c, resolve) == case.customer))]


def window_end(case: CaseFacts, now_us: int, config: FcrConfig) -> int:
    """Until when a handoff, reopen or repeat contact counts against the case: its resolution (or `now`) plus
    the window."""
    return (case.resolved_us if case.resolved_us is not None else now_us) + config.window_days * DAY_US


def outcome_of(case: CaseFacts, repeats: Sequence[Fact], now_us: int, config: FcrConfig) -> CaseOutcome:
    """The case's outcome as of `now_us` (every input already cut at `now_us`)."""
    limit = case.opened_us + config.resolve_within_hours * HOUR_US
    until = window_end(case, now_us, config)
    signals = sorted([*((at, "handoff") for at, _, _ in case.handoffs), *((at, "reopen") for at in case.reopened_us),
                      *((c.occurred_us, "repeat_contact") for c in repeats)])
    reason = next((kind for at, kind in signals if at <= until), None)
    if reason is None and case.resolved_us is None and now_us > limit:
        reason = "unresolved"
    elif reason is None and case.resolved_us is not None and case.resolved_us > limit:
        reason = "resolved_late"
    if reason is not None:
        return _outcome(case, Outcome.NOT_FCR, reason)
    done = case.resolved_us is not None and now_us >= until
    return _outcome(case, Outcome.FCR if done else Outcome.PENDING)


SETTLED_FROM_THE_START = -(2**62)
"""`Settlement.at_us` of a case whose outcome is decided by its facts alone, whatever `now`."""


@dataclass(frozen=True, slots=True)
class Settlement:
    """A case's outcome for every `now` at or after its last fact (and its customer's): `outcome` (FCR or
    NOT_FCR) once `now` >= `at_us`, PENDING before. What turns a pending case with no further facts: the end of
    its window (FCR) or its resolution deadline passing unresolved (NOT_FCR)."""

    at_us: int
    outcome: Outcome

    def at(self, now_us: int) -> Outcome:
        return self.outcome if now_us >= self.at_us else Outcome.PENDING


def settle(case: CaseFacts, first_repeat_us: int | None, config: FcrConfig) -> Settlement:
    """`outcome_of` for every `now` past every fact, in one value. `first_repeat_us`: the earliest repeat contact
    after the opening (`repeat_contacts`, not cut at a window). With `now` past every fact, an unresolved case's
    window (`now` + the window) holds every signal, and a resolved case's window is fixed."""
    limit = case.opened_us + config.resolve_within_hours * HOUR_US
    signals = [at for at, _, _ in case.handoffs] + case.reopened_us
    if first_repeat_us is not None:
        signals.append(first_repeat_us)
    first = min(signals, default=None)
    if case.resolved_us is None:
        if first is not None:
            return Settlement(SETTLED_FROM_THE_START, Outcome.NOT_FCR)
        return Settlement(limit + 1, Outcome.NOT_FCR)  # `unresolved` once now > limit
    until = case.resolved_us + config.window_days * DAY_US
    if (first is not None and first <= until) or case.resolved_us > limit:
        return Settlement(SETTLED_FROM_THE_START, Outcome.NOT_FCR)
    return Settlement(until, Outcome.FCR)


def _outcome(case: CaseFacts, outcome: Outcome, reason: str | None = None) -> CaseOutcome:
    return CaseOutcome(case.case_id, case.customer, case.channel, case.department, case.agent, outcome, reason)


def repeats_by_case(cases: Mapping[str, CaseFacts], facts: Sequence[Fact], resolve: Resolve, now_us: int,
                    config: FcrConfig) -> dict[str, list[Fact]]:
    """Each case's repeat contacts up to the end of its window (`facts` cut at `now_us`, in log order)."""
    named: dict[str, list[Fact]] = defaultdict(list)
    unnamed: dict[str | None, list[Fact]] = defaultdict(list)
    for fact in facts:
        if fact.contact and fact.case_id is not None:
            named[fact.case_id].append(fact)
        elif fact.contact:
            unnamed[customer_of(fact, resolve)].append(fact)
    found = {}
    for case_id, case in sorted(cases.items()):
        mine = sorted([*named.get(case_id, ()), *(unnamed.get(case.customer, ()) if case.customer else ())],
                      key=lambda f: f.position)
        until = window_end(case, now_us, config)
        found[case_id] = [c for c in repeat_contacts(case, mine, resolve) if c.occurred_us <= until]
    return found


def outcomes(cases: Mapping[str, CaseFacts], repeats: Mapping[str, Sequence[Fact]], now_us: int,
             config: FcrConfig) -> list[CaseOutcome]:
    """Every case's outcome as of `now_us`, by case id (`repeats` from `repeats_by_case`)."""
    return [outcome_of(cases[case_id], repeats.get(case_id, ()), now_us, config) for case_id in sorted(cases)]


@dataclass(frozen=True, slots=True)
class FcrRate:
    """FCR of one department, channel or agent: `rate` = fcr / (fcr + not_fcr), None when nothing is decided."""

    key: str
    fcr: int
    not_fcr: int
    pending: int

    @property
    def rate(self) -> float | None:
        decided = self.fcr + self.not_fcr
        return round(self.fcr / decided, 4) if decided else None


def rates(found: Iterable[CaseOutcome], by: str) -> list[FcrRate]:
    """Rates per `by` (`department`, `channel` or `agent`; cases opened by no agent are left out of `agent`)."""
    counts: dict[str, Counter[Outcome]] = defaultdict(Counter)
    for item in found:
        key = getattr(item, by)
        if key is not None:
            counts[key][item.outcome] += 1
    return [FcrRate(key, c[Outcome.FCR], c[Outcome.NOT_FCR], c[Outcome.PENDING]) for key, c in sorted(counts.items())]
