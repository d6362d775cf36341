"""The contact-quality measures kept up to date fact by fact (pure): FCR rates, staff assessment, segments and
proactive contact as of any `now` at or after the latest fact, without going over the history again.

`QualityViews` computes every measure from all the facts at each request; that grows with the history. Here each
fact updates only what it touches: its case (and the cases of its customer, for repeat contacts), its customer,
its promise, its agent's and department's tallies. What still depends on `now` once every fact is past is kept in
a form a lookup answers:
- a case's FCR outcome is one `Settlement` (pending until an instant, then decided), so the rates of a department,
  channel or agent are two bisections in sorted lists of those instants;
- a promise not kept is broken once its due time is past: a bisection in the sorted due times;
- a customer's segment changes only when a contact leaves the 365-day window or the customer stops being new: it
  is worked out again only when such an instant has passed (or the customer has new facts);
- a customer's proactive-contact timing depends on their touches alone.
Identities are an input (`reassign`): the customers projection's anchor -> customer, as `QualityViews` takes it.

The answers equal `QualityViews`' for every `now` >= `latest_us` (tests/unit/test_quality_live.py); for an
earlier `now` callers compute from the facts.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right, insort
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain.identity.segments import SegmentRule
from domain.instants import DAY_US, epoch_us
from domain.percentile import nearest_rank_sorted
from domain.quality.cases import CaseFacts, add_fact
from domain.quality.customers import CONTACT_KINDS, CustomerFacts, segment_name
from domain.quality.facts import GAP_SCALE, TOUCH_TYPES, Fact
from domain.quality.fcr import (
    CaseOutcome,
    FcrConfig,
    FcrRate,
    Outcome,
    Settlement,
    outcome_of,
    repeat_contacts,
    settle,
    window_end,
)
from domain.quality.proactive import Due, ProactiveConfig, due_of, timing_of
from domain.quality.staff import Segment, StaffRow
from domain.quality.touchpoints import FirstContactPart, FirstContacts, HandoffSignal, TouchpointScore, rank_with

BY = ("department", "channel", "agent")
STAFF_BY = ("agent", "department")
NEVER = 2**62


class Sorted:
    """A multiset of numbers for bisection: while the index is built, values come and go in any order and are
    sorted once, when first asked for; after that it is kept sorted value by value."""

    __slots__ = ("_gone", "_ordered", "_values")

    def __init__(self) -> None:
        self._values: list[Any] = []
        self._gone: Counter[Any] = Counter()  # removed while not ordered
        self._ordered = True

    def add(self, value: Any) -> None:
        if self._ordered and self._values and value < self._values[-1]:
            if len(self._values) <= 64:
                insort(self._values, value)
                return
            self._ordered = False
        self._values.append(value)

    def remove(self, value: Any) -> None:
        if self._ordered:
            del self._values[bisect_left(self._values, value)]
        else:
            self._gone[value] += 1

    @property
    def values(self) -> list[Any]:
        if not self._ordered:
            self._values.sort()
            if self._gone:
                kept = []
                for value in self._values:
                    if self._gone[value]:
                        self._gone[value] -= 1
                    else:
                        kept.append(value)
                self._values, self._gone = kept, Counter()
            self._ordered = True
        return self._values

    def __len__(self) -> int:
        return len(self._values) - sum(self._gone.values())


@dataclass(slots=True)
class _Decided:
    """The cases of one (department, key): how many, and the instants from which each is FCR / not FCR."""

    total: int = 0
    fcr: Sorted = field(default_factory=Sorted)
    not_fcr: Sorted = field(default_factory=Sorted)

    def add(self, settlement: Settlement, sign: int) -> None:
        self.total += sign
        instants = self.fcr if settlement.outcome is Outcome.FCR else self.not_fcr
        if sign > 0:
            instants.add(settlement.at_us)
        else:
            instants.remove(settlement.at_us)

    def counts(self, now_us: int) -> tuple[int, int, int]:
        fcr, not_fcr = bisect_right(self.fcr.values, now_us), bisect_right(self.not_fcr.values, now_us)
        return fcr, not_fcr, self.total - fcr - not_fcr


@dataclass(slots=True)
class _Tally:
    """What a staff row counts that does not depend on `now`, and the due times of the promises not kept."""

    contacts: int = 0
    cases: int = 0
    complaints: int = 0
    gap_sum: int = 0
    gaps: int = 0
    responses: Sorted = field(default_factory=Sorted)
    kept: int = 0
    open_dues: Sorted = field(default_factory=Sorted)  # due instants of promises not kept


@dataclass(frozen=True, slots=True)
class _CasePart:
    complaints: int
    gap_sum: int
    gaps: int
    response: float | None


class LiveQuality:
    """The measures of the facts added so far (in log order), with identities as last `reassign`ed."""

    def __init__(self, fcr: FcrConfig, proactive: ProactiveConfig, rules: Sequence[SegmentRule]) -> None:
        self.fcr_config, self.proactive_config, self.rules = fcr, proactive, tuple(rules)
        self.position = 0
        self.latest_us = -NEVER
        self._customer_of: dict[str, str] = {}
        self._anchors: dict[str, set[str]] = defaultdict(set)  # customer -> anchors with facts
        self._facts: dict[str, list[Fact]] = defaultdict(list)  # anchor -> its facts, log order
        self._cases: dict[str, CaseFacts] = {}
        self._case_anchor: dict[str, str | None] = {}
        self._cases_of_anchor: dict[str, set[str]] = defaultdict(set)
        self._named: dict[str, list[Fact]] = defaultdict(list)  # case -> contacts naming it
        self._unnamed: dict[str, list[Fact]] = defaultdict(list)  # anchor -> contacts naming no case
        self._unnamed_us: dict[str, list[int]] = defaultdict(list)  # the same, instants sorted
        self._settled: dict[str, Settlement] = {}
        self._decided: dict[str, dict[tuple[str, str], _Decided]] = {by: defaultdict(_Decided) for by in BY}
        self._tallies: dict[str, dict[str, _Tally]] = {by: defaultdict(_Tally) for by in STAFF_BY}
        self._case_parts: dict[str, _CasePart] = {}
        self._first_contacts = FirstContacts()
        self._first_parts: dict[str, FirstContactPart] = {}
        self._breaching: set[str] = set()
        self._promised: dict[str, Fact] = {}
        self._made: dict[str, int] = {}
        self._promise_kept: dict[str, bool] = {}
        self._department_anchors: dict[str, set[str]] = defaultdict(set)
        self._department_agents: dict[str, set[str]] = defaultdict(set)
        self._customer_views: dict[str, CustomerFacts] = {}
        self._segments: dict[str, tuple[str | None, int]] = {}  # customer -> (segment, worked out again from)
        self._stale: set[str] = set()  # customers whose segment is to be worked out (again)
        self._expiry: list[tuple[int, str]] = []  # (instant, customer), a heap; entries may be outdated
        self._members: dict[str, set[str]] = defaultdict(set)
        self._sorted_members: dict[str, tuple[str, ...]] = {}
        self._segments_now = -NEVER
        self._timings: dict[str, dict[str, tuple[int, int] | None]] = defaultdict(dict)  # customer -> segment

    # -- updates -------------------------------------------------------------------------------------------------

    def customer(self, anchor: str) -> str:
        return self._customer_of.get(anchor, anchor)

    def add(self, facts: Iterable[Fact]) -> None:
        """Fold facts past `position`, in log order."""
        cases: set[str] = set()
        customers: set[str] = set()
        contacted: set[str] = set()  # customers with a contact naming no case: their cases' repeats may change
        promises: set[str] = set()
        for fact in facts:
            if fact.position <= self.position:
                continue
            self.position, self.latest_us = fact.position, max(self.latest_us, fact.occurred_us)
            anchor = fact.anchor
            if anchor is not None:
                self._facts[anchor].append(fact)
                self._department_anchors[fact.department].add(anchor)
                customer = self.customer(anchor)
                self._anchors[customer].add(anchor)
                customers.add(customer)
            if fact.agent is not None:
                self._department_agents[fact.department].add(fact.agent)
            if fact.kind in TOUCH_TYPES:
                for by in STAFF_BY:
                    if (key := getattr(fact, by)) is not None:
                        self._tallies[by][key].contacts += 1
            case = add_fact(self._cases, fact, self.customer)
            if case is not None:
                cases.add(case.case_id)
                if fact.kind == "case.opened" and case.case_id not in self._case_anchor:
                    self._case_anchor[case.case_id] = anchor
                    if anchor is not None:
                        self._cases_of_anchor[anchor].add(case.case_id)
            if fact.contact and fact.case_id is not None:
                self._named[fact.case_id].append(fact)
                cases.add(fact.case_id)
            elif fact.contact and anchor is not None:
                self._unnamed[anchor].append(fact)
                insort(self._unnamed_us[anchor], fact.occurred_us)
                contacted.add(self.customer(anchor))
            if fact.detail and fact.kind == "callback.promised" and fact.due_us is not None:
                if fact.detail not in self._promised:
                    self._promised[fact.detail] = fact
                    promises.add(fact.detail)
            elif fact.detail and fact.kind == "callback.made":
                self._made[fact.detail] = min(self._made.get(fact.detail, fact.occurred_us), fact.occurred_us)
                promises.add(fact.detail)
        for customer in contacted:
            cases |= self._cases_of(customer)
        self._changed(cases, customers)
        for promise_id in promises:
            self._update_promise(promise_id)

    def reassign(self, customer_of: Mapping[str, str]) -> None:
        """Identities now of these anchors: anchor -> customer (anchors not given keep theirs; an anchor never
        given stands for itself)."""
        moved = {a: c for a, c in customer_of.items() if c != self.customer(a)}
        if not moved:
            return
        customers = {self.customer(a) for a in moved} | set(moved.values())
        for anchor, new in moved.items():
            old = self.customer(anchor)
            if anchor in self._facts:
                self._anchors[old].discard(anchor)
                if not self._anchors[old]:
                    del self._anchors[old]
                self._anchors[new].add(anchor)
            self._customer_of[anchor] = new
        cases: set[str] = set()
        for customer in customers:
            cases |= self._cases_of(customer)
        for anchor in moved:
            for case_id in self._cases_of_anchor.get(anchor, ()):
                self._cases[case_id].customer = self.customer(anchor)
        self._changed(cases, customers)

    def _cases_of(self, customer: str) -> set[str]:
        found: set[str] = set()
        for anchor in self._anchors.get(customer, ()):
            found |= self._cases_of_anchor.get(anchor, set())
        return found

    def _changed(self, cases: set[str], customers: set[str]) -> None:
        for case_id in cases:
            if case_id in self._cases:
                self._resettle(self._cases[case_id])
        for customer in customers:
            self._forget_customer(customer)

    def _first_repeat(self, case: CaseFacts) -> int | None:
        """The earliest contact after the opening naming the case, or naming no case by the case's customer."""
        after = [f.occurred_us for f in self._named.get(case.case_id, ()) if f.occurred_us > case.opened_us]
        if case.customer is not None:
            for anchor in self._anchors.get(case.customer, ()):
                instants = self._unnamed_us.get(anchor)
                if instants:
                    index = bisect_right(instants, case.opened_us)
                    if index < len(instants):
                        after.append(instants[index])
        return min(after, default=None)

    def _resettle(self, case: CaseFacts) -> None:
        new = settle(case, self._first_repeat(case), self.fcr_config)
        old = self._settled.get(case.case_id)
        if old != new:
            for by in BY:
                if (key := getattr(case, by)) is not None:
                    decided = self._decided[by][(case.department, key)]
                    if old is not None:
                        decided.add(old, -1)
                    decided.add(new, 1)
            self._settled[case.case_id] = new
        part = _CasePart(len(case.complaints), sum(case.gaps), len(case.gaps),
                         None if case.first_response_us is None
                         else (case.first_response_us - case.opened_us) / 1_000_000)
        before = self._case_parts.get(case.case_id)
        if before != part:
            for by in STAFF_BY:
                if (key := getattr(case, by)) is not None:
                    tally = self._tallies[by][key]
                    if before is None:
                        tally.cases += 1
                    else:
                        _count_part(tally, before, -1)
                    _count_part(tally, part, 1)
            self._case_parts[case.case_id] = part
        first = FirstContactPart.of(case, self._repeat_count(case))
        known = self._first_parts.get(case.case_id)
        if known != first:
            if known is not None:
                self._first_contacts.add(case.case_id, known, -1)
            self._first_contacts.add(case.case_id, first)
            self._first_parts[case.case_id] = first
        if case.breaches:
            self._breaching.add(case.case_id)

    def _repeat_count(self, case: CaseFacts) -> int:
        """How many repeat contacts count against the case with `now` past every fact: those after the opening, up
        to the end of the window when the case is resolved."""
        until = NEVER if case.resolved_us is None else window_end(case, 0, self.fcr_config)
        count = sum(1 for f in self._named.get(case.case_id, ()) if case.opened_us < f.occurred_us <= until)
        if case.customer is not None:
            for anchor in self._anchors.get(case.customer, ()):
                instants = self._unnamed_us.get(anchor, ())
                count += bisect_right(instants, until) - bisect_right(instants, case.opened_us)
        return count

    def _update_promise(self, promise_id: str) -> None:
        promise = self._promised.get(promise_id)
        if promise is None or promise.due_us is None:
            return
        made = self._made.get(promise_id)
        kept = made is not None and made <= promise.due_us
        before = self._promise_kept.get(promise_id)
        if before == kept:
            return
        for by in STAFF_BY:
            if (key := getattr(promise, by)) is not None:
                tally = self._tallies[by][key]
                if before is True:
                    tally.kept -= 1
                elif before is False:
                    tally.open_dues.remove(promise.due_us)
                if kept:
                    tally.kept += 1
                else:
                    tally.open_dues.add(promise.due_us)
        self._promise_kept[promise_id] = kept

    def _forget_customer(self, customer: str) -> None:
        self._customer_views.pop(customer, None)
        self._timings.pop(customer, None)
        self._unplace(customer)
        self._stale.add(customer)

    def _unplace(self, customer: str) -> None:
        known = self._segments.pop(customer, None)
        if known is not None and known[0] is not None:
            self._members[known[0]].discard(customer)
            self._sorted_members.pop(known[0], None)

    def compact(self) -> None:
        """Sort what was added in any order (after a large `add`), so that no answer pays for it."""
        for decided in self._decided.values():
            for item in decided.values():
                _ = item.fcr.values, item.not_fcr.values
        for tallies in self._tallies.values():
            for tally in tallies.values():
                _ = tally.responses.values, tally.open_dues.values

    # -- questions (every `now` must be >= latest_us) --------------------------------------------------------------

    def rates(self, now_us: int, by: str, department: str | None = None) -> list[FcrRate]:
        """FCR per `by` (department, channel, agent) of the cases opened by `department` (all when None)."""
        counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        for (opened_by, key), decided in self._decided[by].items():
            if department is None or opened_by == department:
                for i, n in enumerate(decided.counts(now_us)):
                    counts[key][i] += n
        return [FcrRate(key, *c) for key, c in sorted(counts.items()) if sum(c)]

    def outcomes(self, now_us: int, department: str | None = None) -> list[CaseOutcome]:
        """Every case's outcome and reason (as `QualityViews.fcr().cases`), by case id."""
        found = []
        for case_id in sorted(self._cases):
            case = self._cases[case_id]
            if department is not None and case.department != department:
                continue
            found.append(outcome_of(case, self._repeats(case, now_us), now_us, self.fcr_config))
        return found

    def _repeats(self, case: CaseFacts, now_us: int) -> list[Fact]:
        mine = list(self._named.get(case.case_id, ()))
        if case.customer is not None:
            for anchor in self._anchors.get(case.customer, ()):
                mine.extend(self._unnamed.get(anchor, ()))
        until = window_end(case, now_us, self.fcr_config)
        mine.sort(key=lambda f: f.position)
        return [c for c in repeat_contacts(case, mine, self.customer) if c.occurred_us <= until]

    def staff(self, now_us: int, by: str, keys: set[str] | None = None) -> list[StaffRow]:
        """Per agent or department (those in `keys` when given), as `domain.quality.staff.assess`."""
        rates = {r.key: r for r in self.rates(now_us, by)}
        rows = []
        for key in sorted(self._tallies[by].keys() | rates.keys()):
            if keys is not None and key not in keys:
                continue
            tally = self._tallies[by].get(key) or _Tally()
            rate = rates.get(key) or FcrRate(key, 0, 0, 0)
            broken = bisect_left(tally.open_dues.values, now_us)  # due before now
            gap = round(tally.gap_sum / tally.gaps / GAP_SCALE, 4) if tally.gaps else None
            rows.append(StaffRow(key, tally.contacts, tally.cases, rate.fcr, rate.not_fcr, rate.pending, tally.kept,
                                 broken, len(tally.open_dues) - broken, nearest_rank_sorted(tally.responses.values, 50),
                                 nearest_rank_sorted(tally.responses.values, 90), tally.gaps, gap, tally.complaints))
        return rows

    def touchpoints(self, handoffs: Iterable[HandoffSignal], examples: int) -> list[TouchpointScore]:
        """Touchpoints ranked (as `domain.quality.touchpoints.rank`), given the handoffs as of `now`."""
        breaching = [self._cases[case_id] for case_id in sorted(self._breaching)]
        return rank_with(self._first_contacts, self._cases, breaching, handoffs, examples)

    def agents_of(self, department: str) -> set[str]:
        return set(self._department_agents.get(department, ()))

    def touched_by(self, department: str) -> set[str]:
        """Customers with a fact recorded by `department`."""
        return {self.customer(a) for a in self._department_anchors.get(department, ())}

    def segments(self, now: datetime) -> list[Segment]:
        """Customers per segment at `now` (as `domain.quality.staff.segments`)."""
        self._segments_at(epoch_us(now), now)
        found = []
        for name in sorted(n for n, members in self._members.items() if members):
            if name not in self._sorted_members:
                self._sorted_members[name] = tuple(sorted(self._members[name]))
            found.append(Segment(name, self._sorted_members[name]))
        return found

    def proactive(self, now: datetime) -> list[Due]:
        """Customers due for a proactive contact at `now` (as `domain.quality.proactive.proactive`)."""
        now_us = epoch_us(now)
        self._segments_at(now_us, now)
        found = []
        for segment in dict.fromkeys(name for name, _ in self.proactive_config.rhythms):
            rhythm = self.proactive_config.rhythm_for(segment)
            assert rhythm is not None
            for customer_id in self._members.get(segment, ()):
                timings = self._timings[customer_id]
                if segment not in timings:
                    timings[segment] = timing_of(self._view(customer_id), rhythm)
                timing = timings[segment]
                if timing is not None and now_us >= timing[1]:
                    due = due_of(self._view(customer_id), segment, timing, now_us, self.proactive_config)
                    if due is not None:
                        found.append(due)
        return sorted(found, key=lambda d: (d.due_at, d.customer_id))

    def _view(self, customer_id: str) -> CustomerFacts:
        view = self._customer_views.get(customer_id)
        if view is None:
            view = CustomerFacts(customer_id)
            anchors = self._anchors.get(customer_id, ())
            facts = [f for a in anchors for f in self._facts.get(a, ())]
            if len(anchors) > 1:
                facts.sort(key=lambda f: f.position)
            for fact in facts:
                view.add(fact)
            self._customer_views[customer_id] = view
        return view

    def _segments_at(self, now_us: int, now: datetime) -> None:
        """Bring every customer's segment to `now`: those with new facts or identities, and those whose segment
        may have changed since it was worked out (every one when `now` went back)."""
        if now_us < self._segments_now:
            for customer in list(self._segments):
                self._unplace(customer)
            self._stale |= self._anchors.keys()
            self._expiry = []
        self._segments_now = now_us
        while self._expiry and self._expiry[0][0] <= now_us:
            until, customer = heapq.heappop(self._expiry)
            known = self._segments.get(customer)
            if known is not None and known[1] == until:
                self._unplace(customer)
                self._stale.add(customer)
        for customer in self._stale:
            if customer not in self._anchors:
                continue
            name, until = self._segment_of(customer, now_us, now)
            self._segments[customer] = (name, until)
            if name is not None:
                self._members[name].add(customer)
                self._sorted_members.pop(name, None)
            if until < NEVER:
                heapq.heappush(self._expiry, (until, customer))
        self._stale.clear()

    def _segment_of(self, customer: str, now_us: int, now: datetime) -> tuple[str | None, int]:
        """The segment at `now` and the first later instant at which it may differ: when the oldest contact in
        the 365-day window leaves it, or when a `first contact within` rule stops holding."""
        view = self._view(customer)
        name = segment_name(self.rules, view, now)
        changes = [f.occurred_us + 365 * DAY_US + 1 for f in view.facts
                   if f.kind in CONTACT_KINDS and now_us - f.occurred_us <= 365 * DAY_US]
        first = min((f.occurred_us for f in view.facts), default=None)
        if first is not None:
            changes += [first + rule.first_contact_within_days * DAY_US + 1 for rule in self.rules
                        if rule.first_contact_within_days is not None
                        and now_us <= first + rule.first_contact_within_days * DAY_US]
        return name, min(changes, default=NEVER)


def _count_part(tally: _Tally, part: _CasePart, sign: int) -> None:
    tally.complaints += sign * part.complaints
    tally.gap_sum += sign * part.gap_sum
    tally.gaps += sign * part.gaps
    if part.response is not None:
        if sign > 0:
            tally.responses.add(part.response)
        else:
            tally.responses.remove(part.response)
