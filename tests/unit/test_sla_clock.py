"""Clock semantics: elapsed business time, threshold instants, pause/resume/stop, state at an injected now."""

from __future__ import annotations

from datetime import timedelta

import pytest

from contracts import SlaBasis
from domain.sla.clock import ClockState
from tests.support.sla import HOUR, OFFICE, at, clock

pytestmark = pytest.mark.unit

MONDAY = "2026-11-23"


def test_thresholds_fall_at_their_business_time_instants() -> None:
    running = clock(at(MONDAY, "09:00"), 8 * HOUR)
    assert running.instant_of(50) == at(MONDAY, "14:00")  # 3h before lunch, 1h after
    assert running.instant_of(75) == at(MONDAY, "16:00")
    assert running.deadline() == at(MONDAY, "18:00")
    assert running.thresholds == (50, 75, 100)


def test_pausing_moves_the_deadline_by_exactly_the_paused_business_time() -> None:
    started = clock(at(MONDAY, "09:00"), 8 * HOUR)
    paused = started.paused(at(MONDAY, "10:00"))
    resumed = paused.resumed(at("2026-11-24", "11:00"))  # paused 10:00 Mon -> 11:00 Tue: 9 business hours
    paused_business = OFFICE.business_seconds_between(at(MONDAY, "10:00"), at("2026-11-24", "11:00"))

    assert paused_business == 9 * HOUR
    assert resumed.deadline() == OFFICE.add_business_seconds(started.deadline(), paused_business)  # type: ignore[arg-type]
    assert resumed.deadline() == at("2026-11-25", "10:00")
    assert resumed.elapsed(at("2026-11-24", "12:00")) == 2 * HOUR


def test_a_paused_clock_does_not_know_its_later_thresholds_yet() -> None:
    paused = clock(at(MONDAY, "09:00"), 8 * HOUR).paused(at(MONDAY, "15:00"))
    assert paused.instant_of(50) == at(MONDAY, "14:00")  # reached before the pause: history
    assert paused.instant_of(75) is None and paused.deadline() is None
    assert paused.state(at("2026-12-01", "09:00")) is ClockState.PAUSED
    assert paused.projected_deadline(at(MONDAY, "16:00")) == at("2026-11-24", "10:00")


def test_stopping_before_the_deadline_is_met_and_after_it_missed() -> None:
    started = clock(at(MONDAY, "09:00"), 8 * HOUR)
    met = started.stopped(at(MONDAY, "14:30"), "case resolved")
    missed = started.stopped(at("2026-11-24", "09:30"), "case resolved")
    later = at("2026-11-30", "09:00")

    assert met.state(later) is ClockState.MET and met.deadline() is None
    assert [p for p, _ in met.due_alerts(later)] == [50]  # 50% came at 14:00, before the stop
    assert missed.state(later) is ClockState.MISSED
    assert [p for p, _ in missed.due_alerts(later)] == [50, 75, 100]


def test_state_and_elapsed_percent_are_computed_for_the_given_now() -> None:
    running = clock(at(MONDAY, "09:00"), 8 * HOUR)
    assert running.state(at(MONDAY, "17:59")) is ClockState.RUNNING
    assert running.percent(at(MONDAY, "14:00")) == 50.0
    assert running.state(at(MONDAY, "18:00")) is ClockState.BREACHED
    assert running.percent(at("2026-11-24", "10:00")) == pytest.approx(112.5)


def test_due_alerts_skip_alerted_thresholds_and_next_alert_moves_on() -> None:
    running = clock(at(MONDAY, "09:00"), 8 * HOUR)
    now = at(MONDAY, "16:30")
    assert running.due_alerts(now) == [(50, at(MONDAY, "14:00")), (75, at(MONDAY, "16:00"))]
    alerted = running.alerting(50).alerting(75)
    assert alerted.due_alerts(now) == []
    assert alerted.next_alert_at() == at(MONDAY, "18:00")
    assert alerted.alerting(100).next_alert_at() is None


def test_calendar_basis_counts_nights_and_weekends() -> None:
    friday = at("2026-11-27", "17:00")
    calendar_clock = clock(friday, 24 * HOUR, basis=SlaBasis.CALENDAR)
    business_clock = clock(friday, 24 * HOUR)
    assert calendar_clock.deadline() == friday + timedelta(hours=24)
    assert business_clock.deadline() == at("2026-12-02", "17:00")  # 1h Fri, 8h Mon and Tue, 7h Wed


def test_a_callback_clock_is_due_at_the_promised_time_even_outside_working_hours() -> None:
    promised = clock(at(MONDAY, "10:00"), OFFICE.business_seconds_between(at(MONDAY, "10:00"), at(MONDAY, "20:00")),
                     due_at=at(MONDAY, "20:00"))
    assert promised.target_seconds == 7 * HOUR
    assert promised.instant_of(50) == at(MONDAY, "14:30")
    assert promised.deadline() == at(MONDAY, "20:00")


def test_changes_never_move_before_what_is_already_recorded() -> None:
    started = clock(at(MONDAY, "09:00"))
    assert started.paused(at("2026-11-20", "09:00")).pauses[0].started_at == at(MONDAY, "09:00")
    paused = started.paused(at(MONDAY, "10:00"))
    assert paused.paused(at(MONDAY, "11:00")) is paused  # already paused
    assert started.resumed(at(MONDAY, "11:00")) is started  # not paused
    stopped = started.stopped(at(MONDAY, "12:00"), "x")
    assert stopped.stopped(at(MONDAY, "13:00"), "y") is stopped
    assert stopped.paused(at(MONDAY, "13:00")) is stopped


def test_a_handed_over_clock_remembers_who_owned_it_when() -> None:
    moved = clock(at(MONDAY, "09:00")).handed_over(at(MONDAY, "12:00"), "approval_office", "approval_office-manager")
    assert moved.owner_at(at(MONDAY, "11:59")) == ("card_centre", "card_centre-manager")
    assert moved.owner_at(at(MONDAY, "12:00")) == ("approval_office", "approval_office-manager")
    assert moved.owner == ("approval_office", "approval_office-manager")
    assert moved.handed_over(at(MONDAY, "13:00"), "approval_office", "x") is moved
