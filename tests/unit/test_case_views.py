"""Time-dependent case views as of `now`: business time, deadlines, dropped handoffs, inboxes and aggregates."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from domain.cases import CaseState, Span, acceptance_deadline, fixed_target, is_dropped, time_by_department
from domain.identity.identifiers import customer_key
from domain.sla.calendar import TWENTY_FOUR_SEVEN
from projections.cases import fold, rows_of
from projections.cases.stats import dropped, matrix, nearest_rank, ping_pong, repeat_contacts
from projections.cases.views import case_view, inbox
from tests.support.builders import recorded
from tests.support.case_api import office_calendars
from tests.support.case_events import CASE, TZ, accepted, ev, handed, opened

pytestmark = pytest.mark.unit

CALENDARS = office_calendars()  # loan, card_centre, approval_office: Mon-Fri 09-12, 13-18, Shanghai
FOUR_HOURS = fixed_target()
FRI_16 = datetime(2026, 11, 6, 16, 0, tzinfo=TZ)


def state_of(*events: object) -> CaseState:
    (state,) = fold(recorded(events), customer_key, {}).values()  # type: ignore[arg-type]
    return state


def opened_at(state: CaseState) -> datetime:
    assert state.opened_at is not None
    return state.opened_at


def test_the_acceptance_deadline_counts_the_receivers_business_hours() -> None:
    office = acceptance_deadline("loan", "card_centre", None, FRI_16, CALENDARS, FOUR_HOURS)  # type: ignore[arg-type]
    around_the_clock = acceptance_deadline("loan", "hotline", None, FRI_16, CALENDARS,  # type: ignore[arg-type]
                                           FOUR_HOURS)

    assert office == datetime(2026, 11, 9, 11, 0, tzinfo=TZ)  # Fri 16-18, then Mon 09-11
    assert around_the_clock == FRI_16 + timedelta(hours=4)  # the hotline's calendar is 24x7


@pytest.mark.parametrize(("ended", "now", "expected"), [
    (None, 3, False),  # still waiting, deadline not reached
    (None, 5, True),  # still waiting past the deadline
    (3, 9, False),  # stopped waiting in time
    (4, 9, False),  # exactly at the deadline is in time
    (6, 9, True),  # stopped waiting late
])
def test_dropped_means_still_waiting_when_the_deadline_passed(ended: int | None, now: int, expected: bool) -> None:
    t0 = datetime(2026, 1, 1, tzinfo=TZ)
    end = t0 + timedelta(hours=ended) if ended is not None else None

    assert is_dropped(t0 + timedelta(hours=4), end, t0 + timedelta(hours=now)) is expected


def test_a_negative_target_is_refused() -> None:
    with pytest.raises(ValueError):
        fixed_target(timedelta(hours=-1))


def test_time_per_department_splits_ownership_from_waiting_in_the_inbox() -> None:
    state = state_of(opened(0), handed(5, "loan", "card_centre"), accepted(65, "card_centre"))
    now = opened_at(state) + timedelta(days=3)  # Monday 09:00 -> Thursday 09:00

    loan, cards = time_by_department(state, now, CALENDARS)

    assert (loan.department, loan.held, loan.awaiting) == ("loan", Span(3900.0, 3900.0), Span(0.0, 0.0))
    assert cards.awaiting == Span(3600.0, 3600.0)
    hours = 3 * 24 - 1 - 5 / 60  # accepted at 10:05 Monday
    business = (8 - 1 - 5 / 60) + 8 + 8  # rest of Monday, Tuesday, Wednesday
    assert cards.held == Span(pytest.approx(hours * 3600), pytest.approx(business * 3600))  # type: ignore[arg-type]


def test_the_case_view_marks_dropped_and_bounced_handoffs_and_broken_promises() -> None:
    state = state_of(opened(0), handed(5, "loan", "card_centre"), accepted(600, "card_centre"),
                     handed(601, "card_centre", "loan"),
                     ev("callback.promised", 602, "card_centre", promise_id="P", reason="r",
                        due_at=datetime(2026, 11, 3, 9, 0, tzinfo=TZ).isoformat()))
    now = datetime(2026, 11, 3, 12, 0, tzinfo=TZ)

    view = case_view(state, now, CALENDARS, FOUR_HOURS)

    first, back = view.handoffs
    assert (first.dropped, first.bounced, first.latency) == (True, True, Span(35700.0, 28500.0))  # 09:05-12, 13-18
    assert (back.dropped, back.handoff.returned, back.deadline) == (
        False, True, datetime(2026, 11, 3, 14, 0, tzinfo=TZ))
    assert view.broken_promises == 1


def test_an_inbox_lists_handoffs_waiting_for_acceptance_and_open_cases_held_with_what_is_late() -> None:
    waiting = state_of(opened(0), handed(5, "loan", "card_centre"))
    held = replace(state_of(opened(0, "card_centre")), case_id="HELD")
    now = opened_at(waiting) + timedelta(hours=6)

    box = inbox("card_centre", [waiting], [held], now, CALENDARS, FOUR_HOURS)

    (item,) = box.awaiting
    assert (item.awaiting, item.since, item.overdue, item.deadline) == (
        True, waiting.handoffs[0].handed_at, ("acceptance",), datetime(2026, 11, 2, 14, 5, tzinfo=TZ))
    assert item.waited == Span(6 * 3600 - 300, 5 * 3600 - 300)  # lunch is not business time
    assert [i.view.state.case_id for i in box.held] == ["HELD"]
    assert [i.view.state.case_id for i in box.overdue] == [CASE]
    assert (box.awaiting_total, box.held_total) == (1, 1)


def test_nearest_rank_percentiles_are_observed_values() -> None:
    assert nearest_rank([], 50) is None
    assert nearest_rank([7.0], 90) == 7.0
    assert nearest_rank([4.0, 1.0], 50) == 1.0
    assert (nearest_rank(list(range(1, 11)), 50), nearest_rank(list(range(1, 11)), 90)) == (5, 9)
    assert nearest_rank(list(range(1, 12)), 90) == 10


def test_matrix_dropped_ping_pong_and_repeat_contacts_over_rows() -> None:
    bouncing = state_of(opened(0), handed(5, "loan", "card_centre"), accepted(15, "card_centre"),
                        handed(20, "card_centre", "loan"), accepted(80, "loan"),
                        handed(90, "loan", "card_centre"),
                        ev("call.received", 95, "card_centre", case=CASE, call_id="c", direction="inbound",
                           answered_by="agent"))
    rows = rows_of(bouncing)
    now = datetime(2026, 11, 2, 15, 0, tzinfo=TZ)

    pairs = {(p.from_department, p.to_department): p for p in matrix(rows.handoffs, now, CALENDARS, FOUR_HOURS)}
    loops = ping_pong(rows.handoffs)

    there, back = pairs[("loan", "card_centre")], pairs[("card_centre", "loan")]
    assert (there.count, there.accepted, there.bounced, there.bounce_rate, there.median_seconds) == (
        2, 1, 1, 0.5, 600.0)
    assert (back.count, back.accepted, back.median_seconds, back.p90_business_seconds) == (1, 1, 3600.0, 3600.0)
    assert dropped(rows.handoffs, now, CALENDARS, FOUR_HOURS) == []
    late = dropped(rows.handoffs, now + timedelta(days=1), CALENDARS, FOUR_HOURS)
    assert [(d.row.seq, d.deadline) for d in late] == [(3, datetime(2026, 11, 2, 15, 30, tzinfo=TZ))]
    assert ([(c.case_id, c.returns, c.path) for c in loops.cases], loops.bounces_by_pair) == (
        [(CASE, 2, ("loan", "card_centre", "loan", "card_centre"))],
        {("card_centre", "loan"): 1, ("loan", "card_centre"): 1})
    assert ping_pong(rows.handoffs, "approval_office").cases == ()
    summary = repeat_contacts(rows.contacts)
    assert (summary.total, summary.by_channel, summary.by_holder) == (1, {"phone": 1}, {"loan": 1})


def test_a_24x7_calendar_counts_every_second() -> None:
    state = state_of(opened(0), handed(5, "loan", "card_centre"))
    now = opened_at(state) + timedelta(days=2)

    loan, cards = time_by_department(state, now, lambda _department: TWENTY_FOUR_SEVEN)

    assert loan.held == Span(2 * 86400.0, 2 * 86400.0)
    assert cards.awaiting == Span(2 * 86400.0 - 300, 2 * 86400.0 - 300)
