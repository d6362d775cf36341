"""SERVQUAL from the seed's definition: gap = perception − expectation per item; a customer's score the mean gap
over their items; a unit's the mean over its customers; weighted by importance points. Worked by hand below."""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from contracts import Envelope, ServqualDimension, SurveyServqualAnsweredPayload
from domain.quality.periods import PeriodKind, period_of, previous_period
from domain.quality.servqual import Grouping, SurveyAnswers
from projections.servqual.memory import MemoryServqualStore
from projections.servqual.queries import ServqualQuery
from tests.support.builders import make_event, recorded

pytestmark = pytest.mark.unit

SHANGHAI = ZoneInfo("Asia/Shanghai")
AT = datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI)
R, S, A, E, T = (d.value for d in ServqualDimension)

# Customer A: two items per dimension, with importance points.
#   reliability (7→5, 6→5): gaps −2, −1, mean −3/2      responsiveness (6→6, 7→5): 0, −2, mean −1
#   assurance (5→6, 6→7): +1, +1, mean 1                 empathy (6→4, 5→5): −2, 0, mean −1
#   tangibles (4→5, 5→6): +1, +1, mean 1
#   score = (−3 − 2 + 2 − 2 + 2) / 10 items = −3/10
#   weighted (30/25/20/15/10 points) = 0.30·(−3/2) + 0.25·(−1) + 0.20·1 + 0.15·(−1) + 0.10·1 = −11/20
ITEMS_A = [(R, 7, 5), (R, 6, 5), (S, 6, 6), (S, 7, 5), (A, 5, 6), (A, 6, 7), (E, 6, 4), (E, 5, 5), (T, 4, 5),
           (T, 5, 6)]
IMPORTANCE_A = {R: 30, S: 25, A: 20, E: 15, T: 10}
# Customer B: six items, no importance points.
#   reliability (7→4, 7→6): −3, −1, mean −2; responsiveness 5→6: +1; assurance 6→6: 0; empathy 7→5: −2;
#   tangibles 6→7: +1.  score = (−4 + 1 + 0 − 2 + 1) / 6 items = −2/3 (the mean of the dimension means would be
#   −2/5: the seed averages over items, so a dimension with more items weighs more).
ITEMS_B = [(R, 7, 4), (R, 7, 6), (S, 5, 6), (A, 6, 6), (E, 7, 5), (T, 6, 7)]
# The unit (both customers, hotline, 2026-11): score mean(−3/10, −2/3) = −29/60; dimensions
#   reliability mean(−3/2, −2) = −7/4, responsiveness mean(−1, 1) = 0, assurance mean(1, 0) = 1/2,
#   empathy mean(−1, −2) = −3/2, tangibles mean(1, 1) = 1; weighted −11/20 over 1 customer.
UNIT_DIMENSIONS = {ServqualDimension.RELIABILITY: Fraction(-7, 4), ServqualDimension.RESPONSIVENESS: Fraction(0),
                   ServqualDimension.ASSURANCE: Fraction(1, 2), ServqualDimension.EMPATHY: Fraction(-3, 2),
                   ServqualDimension.TANGIBLES: Fraction(1)}


def survey(survey_id: str, items: list[tuple[str, int, int]], *, customer: str | None,
           importance: dict[str, int] | None = None, at: datetime = AT, **kwargs: Any) -> Envelope:
    payload: dict[str, Any] = {"survey_id": survey_id, "items": [
        {"dimension": d, "item": f"{d[:3].upper()}-{i}", "expectation": e, "perception": p}
        for i, (d, e, p) in enumerate(items)]}
    if importance is not None:
        payload["importance"] = importance
    who = {"customer_number": customer} if customer else None
    return make_event("survey.servqual_answered", occurred_at=at, customer=who, payload=payload, **kwargs)


def answers(event: Envelope) -> SurveyAnswers:
    payload = event.payload
    assert isinstance(payload, SurveyServqualAnsweredPayload)
    return SurveyAnswers.of(payload.items, payload.importance)


def test_a_survey_gives_its_dimension_gaps_its_score_and_its_weighted_score() -> None:
    a = answers(survey("S-A", ITEMS_A, customer="C-A", importance=IMPORTANCE_A))
    assert a.dimension_gaps() == {ServqualDimension.RELIABILITY: Fraction(-3, 2),
                                  ServqualDimension.RESPONSIVENESS: Fraction(-1),
                                  ServqualDimension.ASSURANCE: Fraction(1), ServqualDimension.EMPATHY: Fraction(-1),
                                  ServqualDimension.TANGIBLES: Fraction(1)}
    assert (a.score, a.weighted) == (Fraction(-3, 10), Fraction(-11, 20))
    b = answers(survey("S-B", ITEMS_B, customer="C-B"))
    assert (b.score, b.weighted) == (Fraction(-2, 3), None)


def test_the_unit_score_is_the_mean_over_customers_of_their_item_means() -> None:
    store = MemoryServqualStore()
    store.apply(recorded([survey("S-A", ITEMS_A, customer="C-A", importance=IMPORTANCE_A, department="hotline"),
                          survey("S-B", ITEMS_B, customer="C-B", department="hotline")]))
    [cell] = store.cells(ServqualQuery(by=Grouping.DEPARTMENT))
    assert (cell.group, cell.period, cell.customers, cell.surveys) == ("hotline", "2026-11", 2, 2)
    assert cell.score == Fraction(-29, 60)
    assert cell.dimensions == UNIT_DIMENSIONS
    assert (cell.weighted_customers, cell.weighted) == (1, Fraction(-11, 20))


def test_a_customer_with_two_surveys_in_a_cell_counts_once_with_the_items_pooled() -> None:
    store = MemoryServqualStore()
    store.apply(recorded([survey("S-A", ITEMS_A, customer="C-A", department="hotline"),
                          survey("S-B", ITEMS_B, customer="C-A", department="hotline")]))
    [cell] = store.cells(ServqualQuery())
    assert (cell.customers, cell.surveys) == (1, 2)
    assert cell.score == Fraction(-3 - 4, 16)  # 16 items, gaps summing to −7
    assert cell.dimensions[ServqualDimension.RELIABILITY] == Fraction(-3 - 4, 4)


def test_surveys_are_attributed_to_their_case_else_the_last_touchpoint_else_their_source() -> None:
    opened_at = datetime(2026, 11, 2, 9, 0, tzinfo=SHANGHAI)
    events = [
        make_event("case.opened", occurred_at=opened_at, department="card-centre", channel="phone",
                   case_id="CASE-1", customer={"customer_number": "C-A"},
                   payload={"segment": "vip"}),
        make_event("case.handoff_accepted", occurred_at=opened_at, department="approvals", case_id="CASE-1",
                   payload={"department": "approvals"}),
        make_event("frontdesk.visit_checked_in", occurred_at=opened_at, department="branch", channel="front_desk",
                   customer={"customer_number": "C-B"}),
        survey("S-A", ITEMS_A, customer="C-A", case_id="CASE-1", department="quality", channel="web"),
        survey("S-B", ITEMS_B, customer="C-B", department="quality", channel="web"),
        survey("S-C", ITEMS_B, customer=None, department="quality", channel="email"),
    ]
    store = MemoryServqualStore()
    store.apply(recorded(events))
    placed = {row.survey_id: (row.department, row.channel, row.segment) for row in store.surveys()}
    assert placed == {"S-A": ("approvals", "phone", "vip"), "S-B": ("branch", "front_desk", "unassigned"),
                      "S-C": ("quality", "email", "unassigned")}
    by_segment = {(c.group, c.customers) for c in store.cells(ServqualQuery(by=Grouping.SEGMENT))}
    assert by_segment == {("vip", 1), ("unassigned", 2)}  # the anonymous survey is its own respondent


def test_periods_follow_the_local_calendar_of_the_zone() -> None:
    new_year_shanghai = datetime(2026, 12, 31, 17, 0, tzinfo=ZoneInfo("UTC"))  # 2027-01-01 01:00 in Shanghai
    assert period_of(new_year_shanghai, PeriodKind.MONTH, SHANGHAI) == "2027-01"
    assert period_of(new_year_shanghai, PeriodKind.QUARTER, SHANGHAI) == "2027-Q1"
    assert period_of(new_year_shanghai, PeriodKind.MONTH, ZoneInfo("UTC")) == "2026-12"
    assert [previous_period(p) for p in ("2027-01", "2027-Q1", "2026-11", "2026-Q3")] == [
        "2026-12", "2026-Q4", "2026-10", "2026-Q2"]


def test_importance_points_must_add_up_to_a_hundred() -> None:
    with pytest.raises(ValueError, match="add up to 100"):
        survey("S-X", ITEMS_B, customer="C-X", importance={R: 30, S: 30, A: 20, E: 15, T: 10})


def test_cells_cover_the_surveys_answered_in_the_range_on_the_zone_calendar() -> None:
    edge = datetime(2026, 12, 1, 0, 30, tzinfo=SHANGHAI)  # still November in UTC
    store = MemoryServqualStore()
    store.apply(recorded([survey("S-A", ITEMS_A, customer="C-A", at=AT, department="hotline"),
                          survey("S-B", ITEMS_B, customer="C-B", at=edge, department="hotline")]))
    assert [c.period for c in store.cells(ServqualQuery())] == ["2026-11", "2026-12"]
    assert [(c.period, c.customers) for c in store.cells(ServqualQuery(zone="UTC"))] == [("2026-11", 2)]
    december = ServqualQuery(since=datetime(2026, 12, 1, tzinfo=SHANGHAI), until=datetime(2027, 1, 1, tzinfo=SHANGHAI))
    [cell] = store.cells(december)
    assert (cell.period, cell.score) == ("2026-12", Fraction(-2, 3))
