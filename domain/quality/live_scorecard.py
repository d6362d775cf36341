"""The service scorecard kept up to date row by row (pure): `domain.quality.scorecard.scorecard` without going over
every case, order, visit and promise at each question.

Each unit of the scorecard's facts (a feedback, a customer's orders, a case with its reopenings, an order's repair
visits, a promise) adds entries to the buckets (department, period) of every board asked for so far (one per
period kind and zone): counts, business-time samples (kept sorted), customers, the instants that make a bucket
appear in a range, and promises by due time. When a unit's facts change, its old entries are taken out and its
new ones put in. A question only reads the buckets: promises count once due by `now` (a bisection), everything
else does not depend on `now`. The answers equal `scorecard`'s (tests/unit/test_quality_live_scorecard.py).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from domain.instants import epoch_us
from domain.percentile import nearest_rank_sorted
from domain.quality.live import Sorted
from domain.quality.periods import PeriodIndex, PeriodKind, previous_period
from domain.quality.scorecard import (
    CalendarFor,
    CaseTimes,
    Feedback,
    FeedbackKind,
    Measures,
    Promise,
    Sale,
    ScorecardRow,
    Visit,
    business_seconds,
)

Key = tuple[str, str]  # (department, period)
Unit = tuple[str, str]  # (what, id): feedback, a customer's (or an order's) sales, a case, an order's visits, promise
Entry = tuple[Any, ...]


@dataclass(slots=True)
class _Bucket:
    counts: Counter[str] = field(default_factory=Counter)
    samples: dict[str, Sorted] = field(default_factory=lambda: defaultdict(Sorted))
    customers: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    instants: Sorted = field(default_factory=Sorted)
    dues: Sorted = field(default_factory=Sorted)
    kept_dues: Sorted = field(default_factory=Sorted)


class _Board:
    """The buckets of one period kind and zone, and the entries each unit put in them."""

    def __init__(self, kind: PeriodKind, zone: ZoneInfo) -> None:
        self.period_of = PeriodIndex(kind, zone)
        self.buckets: dict[Key, _Bucket] = defaultdict(_Bucket)
        self.entries: dict[Unit, list[Entry]] = {}

    def key(self, department: str, at_us: int) -> Key:
        return department, self.period_of(at_us)

    def put(self, unit: Unit, entries: list[Entry]) -> None:
        for entry in self.entries.pop(unit, ()):
            self._apply(entry, -1)
        if entries:
            self.entries[unit] = entries
            for entry in entries:
                self._apply(entry, 1)

    def _apply(self, entry: Entry, sign: int) -> None:
        what, key = entry[0], entry[1]
        bucket = self.buckets[key]
        if what == "count":
            bucket.counts[entry[2]] += sign
            _change(bucket.instants, entry[3], sign)
        elif what == "sample":
            _change(bucket.samples[entry[2]], entry[3], sign)
            _change(bucket.instants, entry[4], sign)
        elif what == "customer":
            customers = bucket.customers[entry[2]]
            customers[entry[3]] += sign
            if not customers[entry[3]]:
                del customers[entry[3]]
        else:  # a promise: its due instant, in `kept_dues` too when kept
            _change(bucket.dues, entry[2], sign)
            if entry[3]:
                _change(bucket.kept_dues, entry[2], sign)

    def seen(self, low: int | None, high: int | None, now_us: int) -> list[Key]:
        """The buckets with an instant in [low, high) (a promise's once due by `now_us`)."""
        found = []
        for key, bucket in self.buckets.items():
            for instants, limit in ((bucket.instants.values, None), (bucket.dues.values, now_us + 1)):
                start = 0 if low is None else bisect_left(instants, low)
                end = len(instants) if high is None else bisect_left(instants, high)
                if limit is not None:
                    end = min(end, bisect_left(instants, limit))
                if start < end:
                    found.append(key)
                    break
        return found

    def measures(self, key: Key, now_us: int) -> Measures:
        bucket = self.buckets.get(key) or _Bucket()
        counts, customers = bucket.counts, bucket.customers
        buying, repeat = len(customers.get("buying", ())), len(customers.get("repeat", ()))
        due, kept = bisect_right(bucket.dues.values, now_us), bisect_right(bucket.kept_dues.values, now_us)
        response = bucket.samples["first_response"].values if "first_response" in bucket.samples else []
        turnaround = bucket.samples["turnaround"].values if "turnaround" in bucket.samples else []
        return Measures(
            written_complaints=counts[FeedbackKind.WRITTEN_COMPLAINT],
            verbal_complaints=counts[FeedbackKind.VERBAL_COMPLAINT],
            compliments=counts[FeedbackKind.COMPLIMENT], referrals=counts[FeedbackKind.REFERRAL],
            orders=counts["orders"], buying_customers=buying, repeat_customers=repeat,
            repeat_rate=Fraction(repeat, buying) if buying else None,
            first_responses=len(response), first_response_p50=nearest_rank_sorted(response, 50),
            first_response_p90=nearest_rank_sorted(response, 90),
            resolutions=len(turnaround), turnaround_p50=nearest_rank_sorted(turnaround, 50),
            turnaround_p90=nearest_rank_sorted(turnaround, 90),
            reopened=counts["reopened"], repeat_visits=counts["repeat_visits"],
            promises_due=due, promises_kept=kept, promises_kept_rate=Fraction(kept, due) if due else None,
        )


class LiveScorecard:
    """The scorecard's facts as last `update`d, and a board per period kind and zone asked for."""

    def __init__(self, calendar_for: CalendarFor) -> None:
        self._calendar_for = calendar_for
        self._feedback: dict[str, Feedback] = {}
        self._sales: dict[str, Sale] = {}
        self._cases: dict[str, CaseTimes] = {}
        self._visits: dict[str, Visit] = {}
        self._promises: dict[str, Promise] = {}
        self._orders_of: dict[str, set[str]] = defaultdict(set)  # customer -> order ids
        self._visits_of: dict[str, set[str]] = defaultdict(set)  # order -> visit ids
        self._boards: dict[tuple[PeriodKind, str], _Board] = {}

    def update(self, feedback: Mapping[str, Feedback] | None = None, sales: Mapping[str, Sale] | None = None,
               cases: Mapping[str, CaseTimes] | None = None, visits: Mapping[str, Visit] | None = None,
               promises: Mapping[str, Promise] | None = None) -> None:
        """Facts new or changed, by their id (feedback and visits: event id; sales: order id)."""
        units: set[Unit] = set()
        for feedback_id, item in (feedback or {}).items():
            self._feedback[feedback_id] = item
            units.add(("feedback", feedback_id))
        for order_id, sale in (sales or {}).items():
            before = self._sales.get(order_id)
            if before is not None:
                units.add(_sales_unit(before))
                if before.customer_id is not None:
                    self._orders_of[before.customer_id].discard(order_id)
            self._sales[order_id] = sale
            if sale.customer_id is not None:
                self._orders_of[sale.customer_id].add(order_id)
            units.add(_sales_unit(sale))
        for case_id, case in (cases or {}).items():
            self._cases[case_id] = case
            units.add(("case", case_id))
        for visit_id, visit in (visits or {}).items():
            before_visit = self._visits.get(visit_id)
            if before_visit is not None:
                self._visits_of[before_visit.order_id].discard(visit_id)
                units.add(("visits", before_visit.order_id))
            self._visits[visit_id] = visit
            self._visits_of[visit.order_id].add(visit_id)
            units.add(("visits", visit.order_id))
        for promise_id, promise in (promises or {}).items():
            self._promises[promise_id] = promise
            units.add(("promise", promise_id))
        for board in self._boards.values():
            for unit in units:
                board.put(unit, self._entries(board, unit))

    def scorecard(self, kind: PeriodKind, zone: ZoneInfo, now: datetime, since: datetime | None = None,
                  until: datetime | None = None) -> list[ScorecardRow]:
        """As `domain.quality.scorecard.scorecard` over the facts held."""
        board = self._board(kind, zone)
        now_us = epoch_us(now)
        low = None if since is None else epoch_us(since)
        high = None if until is None else epoch_us(until)
        rows = []
        for department, period in sorted(board.seen(low, high, now_us)):
            measures = board.measures((department, period), now_us)
            previous = board.measures((department, previous_period(period)), now_us)
            rows.append(ScorecardRow(department, period, measures, previous, measures.change(previous)))
        return rows

    def _board(self, kind: PeriodKind, zone: ZoneInfo) -> _Board:
        board = self._boards.get((kind, zone.key))
        if board is None:
            board = self._boards[(kind, zone.key)] = _Board(kind, zone)
            units = {("feedback", i) for i in self._feedback} | {_sales_unit(s) for s in self._sales.values()}
            units |= {("case", i) for i in self._cases} | {("visits", o) for o in self._visits_of}
            units |= {("promise", i) for i in self._promises}
            for unit in units:
                board.put(unit, self._entries(board, unit))
        return board

    def _entries(self, board: _Board, unit: Unit) -> list[Entry]:
        what, ident = unit
        if what == "feedback":
            item = self._feedback[ident]
            return [("count", board.key(item.department, item.at_us), item.kind, item.at_us)]
        if what == "sales":
            return _sale_entries(board, [self._sales[o] for o in sorted(self._orders_of.get(ident, ()))])
        if what == "order":  # an order naming nobody (unless it names someone now: then in their unit)
            sale = self._sales[ident]
            return _sale_entries(board, [sale]) if sale.customer_id is None else []
        if what == "case":
            return _case_entries(board, self._cases[ident], self._calendar_for)
        if what == "visits":
            ordered = sorted((self._visits[v] for v in self._visits_of.get(ident, ())),
                             key=lambda v: (v.at_us, v.position))
            return [("count", board.key(v.department, v.at_us), "repeat_visits", v.at_us) for v in ordered[1:]]
        promise = self._promises[ident]
        kept = promise.made_us is not None and promise.made_us <= promise.due_us
        return [("promise", board.key(promise.department, promise.due_us), promise.due_us, kept)]


def _change(values: Sorted, value: Any, sign: int) -> None:
    if sign > 0:
        values.add(value)
    else:
        values.remove(value)


def _sales_unit(sale: Sale) -> Unit:
    return ("sales", sale.customer_id) if sale.customer_id is not None else ("order", sale.order_id)


def _sale_entries(board: _Board, sales: Iterable[Sale]) -> list[Entry]:
    """A customer's orders (or an order naming nobody): each counts; its customer is buying, and buying again
    when the order follows their first (by instant, then order id)."""
    listed = list(sales)
    first = min(((s.at_us, s.order_id) for s in listed), default=None)
    entries: list[Entry] = []
    for sale in listed:
        key = board.key(sale.department, sale.at_us)
        entries.append(("count", key, "orders", sale.at_us))
        if sale.customer_id is not None:
            entries.append(("customer", key, "buying", sale.customer_id))
            if (sale.at_us, sale.order_id) != first:
                entries.append(("customer", key, "repeat", sale.customer_id))
    return entries


def _case_entries(board: _Board, case: CaseTimes, calendar_for: CalendarFor) -> list[Entry]:
    entries: list[Entry] = []
    calendar = calendar_for(case.department)
    if case.first_response_us is not None:
        answered = max(case.first_response_us, case.opened_us)
        entries.append(("sample", board.key(case.department, answered), "first_response",
                        business_seconds(calendar, case.opened_us, answered), answered))
    if case.resolved_us is not None:
        resolved = max(case.resolved_us, case.opened_us)
        entries.append(("sample", board.key(case.department, resolved), "turnaround",
                        business_seconds(calendar, case.opened_us, resolved), resolved))
    entries += [("count", board.key(case.department, at), "reopened", at) for at in case.reopened_us]
    return entries
