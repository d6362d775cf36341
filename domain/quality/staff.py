"""Segments and staff assessment: customers per segment, and per agent and department what they handled and how
it went (pure, as of an injected `now`).

Per agent (and per department, the same way): contacts handled (touches recorded with them), cases opened, the FCR
outcomes of those cases, callback promises they made kept / broken / pending, first-response times of their cases
(opening to the first event answering the customer; nearest-rank median and 90th percentile), the mean survey gap
of their cases, and complaints filed on their cases.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from domain.identity.segments import SegmentRule
from domain.percentile import nearest_rank
from domain.quality.cases import CaseFacts
from domain.quality.customers import CustomerFacts, segment_name
from domain.quality.facts import GAP_SCALE, TOUCH_TYPES, Fact
from domain.quality.fcr import CaseOutcome, Outcome


@dataclass(frozen=True, slots=True)
class Segment:
    name: str
    customers: tuple[str, ...]

    @property
    def count(self) -> int:
        return len(self.customers)


def segments(customers: Iterable[CustomerFacts], rules: Sequence[SegmentRule], now: datetime) -> list[Segment]:
    """Customers per segment at `now` (customers no rule places are left out), by segment name."""
    found: dict[str, list[str]] = defaultdict(list)
    for customer in customers:
        name = segment_name(rules, customer, now)
        if name is not None:
            found[name].append(customer.customer_id)
    return [Segment(name, tuple(sorted(ids))) for name, ids in sorted(found.items())]


class PromiseStatus(StrEnum):
    KEPT = "kept"
    BROKEN = "broken"
    PENDING = "pending"


def promise_status(due_us: int, made_us: int | None, now_us: int) -> PromiseStatus:
    """Kept when the callback was made by its due time; broken once the due time passed without it."""
    if made_us is not None and made_us <= due_us:
        return PromiseStatus.KEPT
    return PromiseStatus.BROKEN if due_us < now_us else PromiseStatus.PENDING


@dataclass(slots=True)
class _Tally:
    contacts: int = 0
    cases: int = 0
    outcomes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(Outcome, 0))
    promises: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PromiseStatus, 0))
    responses: list[float] = field(default_factory=list)
    gaps: list[int] = field(default_factory=list)
    complaints: int = 0


@dataclass(frozen=True, slots=True)
class StaffRow:
    """One agent's or department's assessment; `fcr_rate` over decided cases, `survey_gap` their mean gap."""

    key: str
    contacts_handled: int
    cases: int
    fcr: int
    not_fcr: int
    fcr_pending: int
    promises_kept: int
    promises_broken: int
    promises_pending: int
    response_median_seconds: float | None
    response_p90_seconds: float | None
    surveys: int
    survey_gap: float | None
    complaints: int

    @property
    def fcr_rate(self) -> float | None:
        decided = self.fcr + self.not_fcr
        return round(self.fcr / decided, 4) if decided else None


def assess(facts: Sequence[Fact], cases: Mapping[str, CaseFacts], found: Iterable[CaseOutcome], now_us: int,
           by: str) -> list[StaffRow]:
    """Per `by` (`agent` or `department`), from facts cut at `now_us` (in log order), the cases they open and
    those cases' FCR outcomes."""
    tallies: dict[str, _Tally] = defaultdict(_Tally)

    def who(item: Fact | CaseFacts | CaseOutcome) -> str | None:
        key: str | None = getattr(item, by)
        return key

    for fact in facts:
        if fact.kind in TOUCH_TYPES and (key := who(fact)) is not None:
            tallies[key].contacts += 1
    for case in cases.values():
        if (key := who(case)) is not None:
            tally = tallies[key]
            tally.cases += 1
            tally.complaints += len(case.complaints)
            tally.gaps.extend(case.gaps)
            if case.first_response_us is not None:
                tally.responses.append((case.first_response_us - case.opened_us) / 1_000_000)
    for outcome in found:
        if (key := who(outcome)) is not None:
            tallies[key].outcomes[outcome.outcome] += 1
    for promise, made_us in _promises(facts):
        if (key := who(promise)) is not None:
            tallies[key].promises[promise_status(promise.due_us or 0, made_us, now_us)] += 1
    return [_row(key, tally) for key, tally in sorted(tallies.items())]


def _promises(facts: Sequence[Fact]) -> list[tuple[Fact, int | None]]:
    """Each promise (the first recorded with its id) with when its callback was first made, if it was."""
    promised: dict[str, Fact] = {}
    made: dict[str, int] = {}
    for fact in facts:
        if fact.kind == "callback.promised" and fact.detail and fact.due_us is not None:
            promised.setdefault(fact.detail, fact)
        elif fact.kind == "callback.made" and fact.detail:
            made[fact.detail] = min(made.get(fact.detail, fact.occurred_us), fact.occurred_us)
    return [(promise, made.get(promise_id)) for promise_id, promise in sorted(promised.items())]


def _row(key: str, tally: _Tally) -> StaffRow:
    gap = round(sum(tally.gaps) / len(tally.gaps) / GAP_SCALE, 4) if tally.gaps else None
    outcomes, promises = tally.outcomes, tally.promises
    return StaffRow(key, tally.contacts, tally.cases, outcomes[Outcome.FCR], outcomes[Outcome.NOT_FCR],
                    outcomes[Outcome.PENDING], promises[PromiseStatus.KEPT], promises[PromiseStatus.BROKEN],
                    promises[PromiseStatus.PENDING], nearest_rank(tally.responses, 50),
                    nearest_rank(tally.responses, 90), len(tally.gaps), gap, tally.complaints)
