"""Holidays from the holidays library for every year it covers; a year it does not cover is refused loudly
(a calendar gap), never counted as if it had no holidays."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest

from contracts import SlaCalendarGap
from domain.sla.alerts import Watermark, alert_events
from domain.sla.calendar import CalendarError, CalendarGap
from domain.sla.clock import ClockState
from projections.sla.memory import MemorySlaStore
from projections.sla.queries import AlertQuery
from projections.sla.reducer import Severity
from services.adapters.config import load_calendars
from services.adapters.holidays import public_holidays
from tests.support.builders import make_event
from tests.support.sla import HOUR, OFFICE, SHANGHAI, at, clock, policy_event, recorded_from

pytestmark = pytest.mark.unit

LIBRARY = public_holidays("CN")
FIRST, LAST = LIBRARY.years
UNCOVERED = LAST + 1


def test_the_office_calendar_covers_every_year_the_library_has_a_notice_for() -> None:
    assert OFFICE.holiday_years == LIBRARY.years
    assert FIRST <= 2001 and LAST >= 2026
    assert {d.year for d in OFFICE.holidays} == set(range(FIRST, LAST + 1))


def test_a_2025_deadline_skips_national_day_and_lands_on_a_makeup_sunday() -> None:
    assert OFFICE.add_business_seconds(at("2025-09-30", "17:00"), 2 * HOUR) == at("2025-10-09", "10:00")  # 1-8 Oct
    assert date(2025, 9, 28).weekday() == 6 and date(2025, 9, 28) in OFFICE.makeup_workdays
    assert OFFICE.add_business_seconds(at("2025-09-26", "17:00"), 2 * HOUR) == at("2025-09-28", "10:00")
    assert OFFICE.business_seconds_between(at("2025-10-01", "00:00"), at("2025-10-09", "00:00")) == 0


def test_a_2019_deadline_honours_that_years_spring_festival() -> None:
    # 2019: 4-10 February off, Saturday 2 and Sunday 3 February worked.
    assert OFFICE.add_business_seconds(at("2019-02-01", "17:00"), 2 * HOUR) == at("2019-02-02", "10:00")
    assert OFFICE.add_business_seconds(at("2019-02-03", "17:00"), 2 * HOUR) == at("2019-02-11", "10:00")


def test_working_time_in_a_year_without_holiday_data_is_refused() -> None:
    with pytest.raises(CalendarGap, match="no holiday data for 2199") as caught:
        OFFICE.add_business_seconds(datetime(2199, 3, 2, 9, tzinfo=SHANGHAI), 2 * HOUR)
    assert caught.value.year == 2199 and caught.value.covered == LIBRARY.years
    with pytest.raises(CalendarGap):
        OFFICE.business_seconds_between(datetime(2199, 3, 2, 9, tzinfo=SHANGHAI), datetime(2199, 3, 3, tzinfo=SHANGHAI))
    # Crossing from the last covered year into the next is refused too; up to its last instant is fine.
    new_year_eve = datetime(LAST, 12, 31, 17, tzinfo=SHANGHAI)
    with pytest.raises(CalendarGap):
        OFFICE.add_business_seconds(new_year_eve, 2 * HOUR)
    assert OFFICE.business_seconds_between(new_year_eve, datetime(UNCOVERED, 1, 1, tzinfo=SHANGHAI)) in (0, HOUR)


def test_a_clock_reaching_an_uncovered_year_is_flagged_not_computed() -> None:
    started = datetime(2199, 3, 2, 9, tzinfo=SHANGHAI)
    gapped = clock(started, 8 * HOUR)
    assert gapped.deadline() is None and gapped.instant_of(50) is None
    assert gapped.state(started + timedelta(days=3)) is ClockState.CALENDAR_GAP
    assert gapped.next_alert_at() == started  # due at once, so the ticker reports it
    [event] = alert_events(gapped, started + timedelta(hours=1), Watermark(started, gapped.changed_at))
    assert isinstance(event, SlaCalendarGap)
    assert (event.payload.year, event.payload.covered_to, event.payload.calendar) == (2199, LAST, "default")


def test_the_projection_records_the_gap_as_a_critical_alert_and_does_not_crash() -> None:
    opened = make_event("case.opened", occurred_at=datetime(UNCOVERED, 3, 2, 9, tzinfo=SHANGHAI),
                        department="card_centre", channel="web", case_id="CASE-GAP", customer={"phone": "13800138000"},
                        payload={"case_type": "complaint", "priority": "normal"})
    store = MemorySlaStore()
    store.apply(recorded_from([policy_event(), opened]))
    now = datetime(UNCOVERED, 3, 9, tzinfo=SHANGHAI)
    due = store.due_clocks(now)
    events = [e for c in due for e in alert_events(c, now, Watermark(now, store.position()))]
    assert events and all(isinstance(e, SlaCalendarGap) for e in events)  # no warnings or breaches computed
    store.apply(recorded_from(events, start=3))
    gaps = store.alerts(AlertQuery(severity=Severity.CRITICAL))
    assert {a.kind for a in gaps} == {"calendar_gap"} and len(gaps) == len(events)
    assert store.due_clocks(now) == []  # reported once
    case = store.case("CASE-GAP")
    assert case is not None and {c.state(now) for c in case.clocks} == {ClockState.CALENDAR_GAP}
    assert store.checksum()


def test_a_calendar_file_takes_public_holidays_from_the_library(tmp_path: Any) -> None:
    (tmp_path / "office.toml").write_text('public_holidays = "CN"\nholiday_years = [2020, 2030]\n'
                                          '[hours]\nmon = [["09:00", "17:00"]]\n')
    office = load_calendars(tmp_path)["office"]
    assert office.holiday_years == (2020, LAST)  # narrowed by the file, never widened
    assert date(2025, 10, 1) in office.holidays and date(2025, 9, 28) in office.makeup_workdays
    (tmp_path / "bad.toml").write_text('public_holidays = "XX"\n[hours]\nmon = [["09:00", "17:00"]]\n')
    with pytest.raises(CalendarError, match="no calendar for 'XX'"):
        load_calendars(tmp_path)
