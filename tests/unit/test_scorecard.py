"""The service scorecard on a generated data set whose answers the generator wrote down from its plan, and on
small hand-made cases: attribution, repeat business in event time, promises, business time, the previous period."""

from __future__ import annotations

import random
from dataclasses import asdict
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from domain.quality.periods import PeriodKind
from domain.quality.scorecard import ScorecardRow
from domain.quality.servqual import Grouping, ServqualCell
from domain.sla.calendar import BusinessCalendar, calendar_from_mapping
from projections.scorecard.memory import MemoryScorecardStore
from projections.scorecard.queries import ScorecardQuery
from projections.servqual.memory import MemoryServqualStore
from projections.servqual.queries import ServqualQuery
from tests.support.builders import make_event, recorded
from tests.support.quality_data import CALENDAR, NOW, ServqualExpected, generate, iter_batches, servqual_expected

pytestmark = pytest.mark.unit

WORKDAYS = calendar_from_mapping("workdays", CALENDAR)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def calendar_for(_department: str) -> BusinessCalendar:
    return WORKDAYS


def query(kind: PeriodKind = PeriodKind.MONTH, **kwargs: Any) -> ScorecardQuery:
    return ScorecardQuery(now=NOW, calendar_for=calendar_for, period=kind, **kwargs)


def as_answers(row: ScorecardRow) -> dict[str, Any]:
    return {"measures": asdict(row.measures), "previous": asdict(row.previous)}


def servqual_answers(cell: ServqualCell) -> ServqualExpected:
    return ServqualExpected(cell.customers, cell.surveys, cell.score, {str(d): g for d, g in cell.dimensions.items()},
                            cell.weighted_customers, cell.weighted)


@pytest.mark.parametrize("seed", [7, 11, 2026])
@pytest.mark.parametrize("kind", [PeriodKind.MONTH, PeriodKind.QUARTER])
def test_every_scorecard_measure_matches_the_written_down_answers(seed: int, kind: PeriodKind) -> None:
    data = generate(seed)
    store = MemoryScorecardStore()
    for batch in iter_batches(data.recorded(), random.Random(seed)):
        store.apply(batch)
    found = {(row.department, row.period): as_answers(row) for row in store.scorecard(query(kind))}
    expected = data.scorecard.expected(kind.value)
    assert sorted(found) == sorted(expected)
    for key, answers in expected.items():
        assert found[key] == answers, key


@pytest.mark.parametrize("seed", [7, 11, 2026])
@pytest.mark.parametrize("by", list(Grouping))
@pytest.mark.parametrize("kind", [PeriodKind.MONTH, PeriodKind.QUARTER])
def test_every_servqual_cell_matches_the_written_down_answers(seed: int, by: Grouping, kind: PeriodKind) -> None:
    data = generate(seed)
    store = MemoryServqualStore()
    for batch in iter_batches(data.recorded(), random.Random(seed)):
        store.apply(batch)
    found = {(c.group, c.period): servqual_answers(c) for c in store.cells(ServqualQuery(by=by, period=kind))}
    assert found == servqual_expected(data.surveys, by.value, kind.value)


def test_the_change_is_against_the_previous_period_of_the_same_department() -> None:
    october, november = datetime(2026, 10, 5, 10, tzinfo=SHANGHAI), datetime(2026, 11, 5, 10, tzinfo=SHANGHAI)
    events = [make_event("complaint.filed", occurred_at=at, department="hotline", payload={"form": form})
              for at, form in [(october, "written"), (october, "written"), (october, "verbal"),
                               (november, "written")]]
    events.append(make_event("referral.made", occurred_at=november, department="hotline"))
    store = MemoryScorecardStore()
    store.apply(recorded(events))
    rows = {row.period: row for row in store.scorecard(query())}
    assert sorted(rows) == ["2026-10", "2026-11"]
    change = rows["2026-11"].change
    assert (change["written_complaints"], change["verbal_complaints"], change["referrals"]) == (-1, -1, 1)
    assert change["first_response_p50"] is None and rows["2026-10"].previous.written_complaints == 0
    only = store.scorecard(query(since=november, until=november + timedelta(days=30), department="hotline"))
    assert [row.period for row in only] == ["2026-11"]


def test_repeat_business_follows_event_time_not_the_order_of_the_log() -> None:
    first, later = datetime(2026, 10, 5, 10, tzinfo=SHANGHAI), datetime(2026, 11, 5, 10, tzinfo=SHANGHAI)

    def order(order_id: str, at: datetime, department: str) -> Any:
        return make_event("sale.order_placed", occurred_at=at, department=department,
                          customer={"customer_number": "C-9"},
                          payload={"order_id": order_id, "amount": 5, "currency": "CNY",
                                   "items": [{"sku": "X", "quantity": 1, "amount": 5}]})

    store = MemoryScorecardStore()
    store.apply(recorded([order("SO-2", later, "branch"), order("SO-1", first, "sales"), order("SO-2", later, "x")]))
    rows = {(row.department, row.period): row.measures for row in store.scorecard(query())}
    assert set(rows) == {("branch", "2026-11"), ("sales", "2026-10")}  # the resent SO-2 counts once, as first sent
    assert (rows[("branch", "2026-11")].repeat_customers, rows[("branch", "2026-11")].repeat_rate) == (1, Fraction(1))
    assert (rows[("sales", "2026-10")].buying_customers, rows[("sales", "2026-10")].repeat_customers) == (1, 0)


def test_response_and_turnaround_run_in_business_time_for_the_opening_department() -> None:
    friday = datetime(2026, 11, 6, 17, 0, tzinfo=SHANGHAI)  # one business hour left on Friday
    monday = datetime(2026, 11, 9, 10, 0, tzinfo=SHANGHAI)  # one business hour into Monday
    events = [make_event("case.opened", occurred_at=friday, department="card-centre", case_id="K-1"),
              make_event("case.handoff_accepted", occurred_at=friday, department="approvals", case_id="K-1",
                         payload={"department": "approvals"}),
              make_event("case.waiting_on_customer", occurred_at=monday, department="approvals", case_id="K-1"),
              make_event("case.resolved", occurred_at=monday + timedelta(hours=2), department="approvals",
                         case_id="K-1")]
    store = MemoryScorecardStore()
    store.apply(recorded(events))
    [row] = store.scorecard(query())
    assert (row.department, row.measures.first_response_p50, row.measures.turnaround_p90) == (
        "card-centre", 7200.0, 14400.0)


def test_a_promise_counts_once_due_and_is_kept_by_a_callback_made_in_time() -> None:
    due = datetime(2026, 11, 6, 12, 0, tzinfo=SHANGHAI)
    events = [make_event("callback.made", occurred_at=due, department="hotline", payload={"promise_id": "P-1"}),
              make_event("callback.promised", occurred_at=due - timedelta(hours=3), department="hotline",
                         payload={"promise_id": "P-1", "due_at": due.isoformat()}),
              make_event("callback.promised", occurred_at=due, department="hotline",
                         payload={"promise_id": "P-2", "due_at": (due + timedelta(hours=1)).isoformat()})]
    store = MemoryScorecardStore()
    store.apply(recorded(events))
    [row] = store.scorecard(ScorecardQuery(now=due + timedelta(minutes=30), calendar_for=calendar_for))
    assert (row.measures.promises_due, row.measures.promises_kept) == (1, 1)  # made before promised in the log
    [row] = store.scorecard(ScorecardQuery(now=due + timedelta(hours=2), calendar_for=calendar_for))
    assert (row.measures.promises_due, row.measures.promises_kept_rate) == (2, Fraction(1, 2))
