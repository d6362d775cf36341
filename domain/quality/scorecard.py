"""The service scorecard: per department and period, the measures of seed 002 with the change against the
previous period (fewer complaints, more referrals and repeat business, faster response and turnaround, less rework,
promises kept).

Inputs are facts drawn from the log (instants in µs since the epoch); each fact names the department it counts for
and the instant that puts it in a period (local calendar of a zone). Times are in the department's business time
(`calendar_for(department)`); percentiles are nearest-rank (`domain.percentile`), so always observed values.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from fractions import Fraction
from typing import Protocol
from zoneinfo import ZoneInfo

from domain.instants import epoch_us
from domain.percentile import nearest_rank
from domain.quality.periods import PeriodIndex, PeriodKind, previous_period

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Calendar(Protocol):
    """Business time of a department (domain.sla.calendar.BusinessCalendar satisfies it)."""

    def business_seconds_between(self, start: datetime, end: datetime) -> float: ...


CalendarFor = Callable[[str], Calendar]


class FeedbackKind(StrEnum):
    WRITTEN_COMPLAINT = "written_complaint"
    VERBAL_COMPLAINT = "verbal_complaint"
    COMPLIMENT = "compliment"
    REFERRAL = "referral"


@dataclass(frozen=True, slots=True)
class Feedback:
    """A complaint (written or verbal), a compliment or a referral, counted for `department` at `at_us`."""

    kind: FeedbackKind
    department: str
    at_us: int


@dataclass(frozen=True, slots=True)
class Sale:
    """An order: whose (None when the order names no customer), booked by which department, when."""

    order_id: str
    customer_id: str | None
    department: str
    at_us: int


@dataclass(frozen=True, slots=True)
class CaseTimes:
    """A case: the department that opened it, when, its first response and first resolution (if any), and the
    instants it was reopened."""

    case_id: str
    department: str
    opened_us: int
    first_response_us: int | None
    resolved_us: int | None
    reopened_us: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Visit:
    """A completed repair visit of an order; `position` breaks ties between visits at the same instant."""

    order_id: str
    department: str
    at_us: int
    position: int


@dataclass(frozen=True, slots=True)
class Promise:
    """A promised callback: the promising department, its due instant, the earliest callback made (if any)."""

    promise_id: str
    department: str
    due_us: int
    made_us: int | None


@dataclass(frozen=True, slots=True)
class Facts:
    feedback: Sequence[Feedback] = ()
    sales: Sequence[Sale] = ()
    cases: Sequence[CaseTimes] = ()
    visits: Sequence[Visit] = ()
    promises: Sequence[Promise] = ()


@dataclass(frozen=True, slots=True)
class Measures:
    """One department's measures in one period (seconds are business seconds)."""

    written_complaints: int = 0
    verbal_complaints: int = 0
    compliments: int = 0
    referrals: int = 0
    orders: int = 0
    buying_customers: int = 0
    repeat_customers: int = 0
    repeat_rate: Fraction | None = None
    first_responses: int = 0
    first_response_p50: float | None = None
    first_response_p90: float | None = None
    resolutions: int = 0
    turnaround_p50: float | None = None
    turnaround_p90: float | None = None
    reopened: int = 0
    repeat_visits: int = 0
    promises_due: int = 0
    promises_kept: int = 0
    promises_kept_rate: Fraction | None = None

    def change(self, before: Measures) -> dict[str, int | float | Fraction | None]:
        """Each measure minus its value in `before` (None where either is None)."""
        out: dict[str, int | float | Fraction | None] = {}
        for f in fields(self):
            now, then = getattr(self, f.name), getattr(before, f.name)
            out[f.name] = None if now is None or then is None else now - then
        return out


@dataclass(frozen=True, slots=True)
class ScorecardRow:
    """A department's measures in a period, those of the period before, and the change between them."""

    department: str
    period: str
    measures: Measures
    previous: Measures
    change: dict[str, int | float | Fraction | None] = field(default_factory=dict)


def scorecard(facts: Facts, kind: PeriodKind, zone: ZoneInfo, calendar_for: CalendarFor, now: datetime,
              since: datetime | None = None, until: datetime | None = None) -> list[ScorecardRow]:
    """One row per (department, period) with any fact in [since, until), sorted; promises count once due by
    `now`. Previous periods are computed from all facts, whatever the range."""
    buckets = _Buckets(kind, zone)
    _count_feedback(buckets, facts.feedback)
    _count_sales(buckets, facts.sales)
    _count_cases(buckets, facts.cases, calendar_for)
    _count_visits(buckets, facts.visits)
    _count_promises(buckets, facts.promises, epoch_us(now))
    rows = []
    for department, period in sorted(buckets.seen(since, until)):
        measures, previous = buckets.measures(department, period), buckets.measures(department,
                                                                                     previous_period(period))
        rows.append(ScorecardRow(department, period, measures, previous, measures.change(previous)))
    return rows


class _Buckets:
    """Raw counts and samples per (department, period), and the instants that made each key appear."""

    def __init__(self, kind: PeriodKind, zone: ZoneInfo) -> None:
        self._period_of = PeriodIndex(kind, zone)
        self.counts: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.samples: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        self.customers: dict[tuple[str, str], dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        self._instants: dict[tuple[str, str], list[int]] = defaultdict(list)

    def key(self, department: str, at_us: int) -> tuple[str, str]:
        key = (department, self._period_of(at_us))
        self._instants[key].append(at_us)
        return key

    def seen(self, since: datetime | None, until: datetime | None) -> list[tuple[str, str]]:
        """The keys with a fact whose instant lies in [since, until)."""
        low = None if since is None else epoch_us(since)
        high = None if until is None else epoch_us(until)
        return [key for key, instants in self._instants.items()
                if any((low is None or at >= low) and (high is None or at < high) for at in instants)]

    def measures(self, department: str, period: str) -> Measures:
        counts = self.counts.get((department, period), {})
        samples = self.samples.get((department, period), {})
        customers = self.customers.get((department, period), {})
        buying, repeat = len(customers.get("buying", ())), len(customers.get("repeat", ()))
        due, kept = counts.get("promises_due", 0), counts.get("promises_kept", 0)
        response, turnaround = samples.get("first_response", []), samples.get("turnaround", [])
        return Measures(
            written_complaints=counts.get(FeedbackKind.WRITTEN_COMPLAINT, 0),
            verbal_complaints=counts.get(FeedbackKind.VERBAL_COMPLAINT, 0),
            compliments=counts.get(FeedbackKind.COMPLIMENT, 0), referrals=counts.get(FeedbackKind.REFERRAL, 0),
            orders=counts.get("orders", 0), buying_customers=buying, repeat_customers=repeat,
            repeat_rate=Fraction(repeat, buying) if buying else None,
            first_responses=len(response), first_response_p50=nearest_rank(response, 50),
            first_response_p90=nearest_rank(response, 90),
            resolutions=len(turnaround), turnaround_p50=nearest_rank(turnaround, 50),
            turnaround_p90=nearest_rank(turnaround, 90),
            reopened=counts.get("reopened", 0), repeat_visits=counts.get("repeat_visits", 0),
            promises_due=due, promises_kept=kept, promises_kept_rate=Fraction(kept, due) if due else None,
        )


def _count_feedback(buckets: _Buckets, feedback: Iterable[Feedback]) -> None:
    for fact in feedback:
        buckets.counts[buckets.key(fact.department, fact.at_us)][fact.kind] += 1


def _count_sales(buckets: _Buckets, sales: Iterable[Sale]) -> None:
    """Repeat business: a customer buys again when an order of theirs follows an earlier one (any department;
    order by instant, then order id). A department's repeat customers in a period are the distinct customers
    with such an order booked by it then."""
    first: dict[str, tuple[int, str]] = {}
    listed = list(sales)
    for sale in listed:
        if sale.customer_id is not None:
            mark = (sale.at_us, sale.order_id)
            first[sale.customer_id] = min(first.get(sale.customer_id, mark), mark)
    for sale in listed:
        key = buckets.key(sale.department, sale.at_us)
        buckets.counts[key]["orders"] += 1
        if sale.customer_id is None:
            continue
        buckets.customers[key]["buying"].add(sale.customer_id)
        if first[sale.customer_id] != (sale.at_us, sale.order_id):
            buckets.customers[key]["repeat"].add(sale.customer_id)


def _count_cases(buckets: _Buckets, cases: Iterable[CaseTimes], calendar_for: CalendarFor) -> None:
    """First response and turnaround count in the period of the response and of the resolution; reopenings in
    theirs; all for the department that opened the case."""
    for case in cases:
        calendar = calendar_for(case.department)
        if case.first_response_us is not None:
            answered = max(case.first_response_us, case.opened_us)
            key = buckets.key(case.department, answered)
            buckets.samples[key]["first_response"].append(business_seconds(calendar, case.opened_us, answered))
        if case.resolved_us is not None:
            resolved = max(case.resolved_us, case.opened_us)
            key = buckets.key(case.department, resolved)
            buckets.samples[key]["turnaround"].append(business_seconds(calendar, case.opened_us, resolved))
        for at_us in case.reopened_us:
            buckets.counts[buckets.key(case.department, at_us)]["reopened"] += 1


def _count_visits(buckets: _Buckets, visits: Iterable[Visit]) -> None:
    """A repeat visit is a completed visit of an order after its first completed one (instant, then position)."""
    by_order: dict[str, list[Visit]] = defaultdict(list)
    for visit in visits:
        by_order[visit.order_id].append(visit)
    for order_visits in by_order.values():
        ordered = sorted(order_visits, key=lambda v: (v.at_us, v.position))
        for visit in ordered[1:]:
            buckets.counts[buckets.key(visit.department, visit.at_us)]["repeat_visits"] += 1


def _count_promises(buckets: _Buckets, promises: Iterable[Promise], now_us: int) -> None:
    """A promise counts in the period it falls due, once due (due at or before `now`); kept when a callback was
    made at or before the due instant."""
    for promise in promises:
        if promise.due_us > now_us:
            continue
        key = buckets.key(promise.department, promise.due_us)
        buckets.counts[key]["promises_due"] += 1
        if promise.made_us is not None and promise.made_us <= promise.due_us:
            buckets.counts[key]["promises_kept"] += 1


def business_seconds(calendar: Calendar, start_us: int, end_us: int) -> float:
    return calendar.business_seconds_between(_at(start_us), _at(end_us))


def _at(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)
