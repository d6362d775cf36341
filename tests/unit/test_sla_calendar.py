"""Business calendars: working hours, weekends, public holidays, make-up working days, 24x7, parsing."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.sla.calendar import (
    TWENTY_FOUR_SEVEN,
    BusinessCalendar,
    CalendarError,
    CalendarGap,
    calendar_from_mapping,
)
from services.adapters.config import CONFIG_DIR, config_dir, load_calendars

pytestmark = pytest.mark.unit

SHANGHAI = ZoneInfo("Asia/Shanghai")
HOUR = 3600
CALENDARS = load_calendars()
OFFICE = CALENDARS["default"]


def at(day: str, hhmm: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{hhmm}:00").replace(tzinfo=SHANGHAI)


def days(first: str, last: str | None = None) -> set[date]:
    start, end = date.fromisoformat(first), date.fromisoformat(last or first)
    return {start + timedelta(days=n) for n in range((end - start).days + 1)}


def test_the_shipped_calendars_load_with_china_2026_holidays_and_makeup_days() -> None:
    assert set(CALENDARS) == {"default", "hotline-24x7"}
    assert CALENDARS["hotline-24x7"].always_open and CALENDARS["hotline-24x7"].holiday_years is None
    assert OFFICE.timezone == "Asia/Shanghai"
    # The State Council's 2026 notice, as typed by hand before the calendar came from the holidays library:
    # every day of each break (weekends inside it too) and the weekend days worked in exchange.
    breaks = [("2026-01-01", "2026-01-03"), ("2026-02-15", "2026-02-23"), ("2026-04-04", "2026-04-06"),
              ("2026-05-01", "2026-05-05"), ("2026-06-19", "2026-06-21"), ("2026-09-25", "2026-09-27"),
              ("2026-10-01", "2026-10-07")]
    assert {d for d in OFFICE.holidays if d.year == 2026} == set().union(*(days(a, b) for a, b in breaks))
    assert {d for d in OFFICE.makeup_workdays if d.year == 2026} == {
        date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28), date(2026, 5, 9), date(2026, 9, 20),
        date(2026, 10, 10)}
    assert all(d.weekday() >= 5 for d in OFFICE.makeup_workdays)  # make-up days are weekend days


def test_a_working_day_is_eight_hours_with_a_lunch_break() -> None:
    assert OFFICE.business_seconds_between(at("2026-11-24", "00:00"), at("2026-11-25", "00:00")) == 8 * HOUR
    assert OFFICE.business_seconds_between(at("2026-11-24", "11:30"), at("2026-11-24", "13:30")) == HOUR
    assert OFFICE.add_business_seconds(at("2026-11-24", "11:30"), HOUR) == at("2026-11-24", "13:30")


def test_a_deadline_crossing_a_weekend_lands_on_monday() -> None:
    friday = at("2026-11-27", "17:00")
    assert OFFICE.add_business_seconds(friday, 2 * HOUR) == at("2026-11-30", "10:00")
    assert OFFICE.business_seconds_between(friday, at("2026-11-30", "10:00")) == 2 * HOUR


def test_a_deadline_crossing_national_day_skips_the_whole_holiday() -> None:
    before_holiday = at("2026-09-30", "17:00")  # Wednesday; 1-7 October are off
    assert OFFICE.add_business_seconds(before_holiday, 2 * HOUR) == at("2026-10-08", "10:00")


def test_a_deadline_lands_on_a_makeup_working_saturday() -> None:
    # 14 February 2026 is a Saturday worked in exchange for the Spring Festival break (15-23 February).
    friday = at("2026-02-13", "17:00")
    assert OFFICE.add_business_seconds(friday, 2 * HOUR) == at("2026-02-14", "10:00")
    assert OFFICE.add_business_seconds(at("2026-02-14", "17:00"), 2 * HOUR) == at("2026-02-24", "10:00")


def test_weekend_holiday_and_makeup_day_together() -> None:
    # Thu 24 Sep 17:00: Fri 25-Sun 27 Mid-Autumn off, Mon 28-Wed 30 work, 1-7 Oct off, Thu 8-Fri 9 work,
    # Sat 10 Oct worked (make-up). 1h + 3 days + 2 days = 41h; 3 more hours land on Saturday 10 Oct at 12:00.
    start = at("2026-09-24", "17:00")
    assert OFFICE.add_business_seconds(start, 44 * HOUR) == at("2026-10-10", "12:00")
    assert OFFICE.business_seconds_between(start, at("2026-10-10", "12:00")) == 44 * HOUR


def test_instants_in_other_offsets_are_the_same_instants() -> None:
    start_utc = at("2026-11-27", "17:00").astimezone(UTC)
    end = OFFICE.add_business_seconds(start_utc, 2 * HOUR)
    assert end == at("2026-11-30", "10:00") and end.tzinfo == SHANGHAI


def test_no_working_time_between_reversed_or_equal_instants() -> None:
    start = at("2026-11-24", "10:00")
    assert OFFICE.business_seconds_between(start, start) == 0
    assert OFFICE.business_seconds_between(start, start - timedelta(hours=1)) == 0
    assert OFFICE.add_business_seconds(at("2026-11-28", "10:00"), 0) == at("2026-11-28", "10:00")


def test_twenty_four_seven_counts_every_second() -> None:
    start = at("2026-10-01", "23:00")  # a holiday, at night
    assert TWENTY_FOUR_SEVEN.business_seconds_between(start, start + timedelta(hours=5)) == 5 * HOUR
    assert CALENDARS["hotline-24x7"].add_business_seconds(start, 90) == start + timedelta(seconds=90)


def test_naive_datetimes_and_negative_durations_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        OFFICE.business_seconds_between(datetime(2026, 11, 24, 9), at("2026-11-24", "10:00"))
    with pytest.raises(ValueError, match="negative"):
        OFFICE.add_business_seconds(at("2026-11-24", "10:00"), -1)


def test_makeup_days_use_their_own_hours_when_given() -> None:
    calendar = calendar_from_mapping("short-saturdays", {
        "hours": {"mon": [["09:00", "18:00"]]}, "makeup_workdays": ["2026-02-14"],
        "makeup_hours": [["10:00", "12:00"]]})
    assert calendar.hours_on(date(2026, 2, 14)) == ((time(10, 0), time(12, 0)),)
    assert calendar.business_seconds_between(at("2026-02-14", "00:00"), at("2026-02-15", "00:00")) == 2 * HOUR


def test_night_shifts_may_end_at_midnight() -> None:
    calendar = calendar_from_mapping("late", {"hours": {day: [["18:00", "24:00"]] for day in
                                                         ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}})
    assert calendar.add_business_seconds(at("2026-11-24", "23:00"), 2 * HOUR) == at("2026-11-25", "19:00")


@pytest.mark.parametrize(("data", "message"), [
    ({"hours": {"mon": [["09:00", "25:00"]]}}, "HH:MM"),
    ({"hours": {"mon": [["12:00", "09:00"]]}}, "ends before it starts"),
    ({"hours": {"mon": [["09:00", "12:00"], ["11:00", "13:00"]]}}, "ascending and disjoint"),
    ({"hours": {"monday": [["09:00", "12:00"]]}}, "unknown weekdays"),
    ({"hours": {"mon": [["09:00", "12:00"]]}, "colour": "red"}, "unknown keys"),
    ({"hours": {"mon": [["09:00", "12:00"]]}, "timezone": "Mars/Olympus"}, "unknown time zone"),
    ({"hours": {}}, "no working hours"),
    ({"hours": {"mon": [["09:00", "12:00"]]}, "holidays": ["2026-01-04"], "makeup_workdays": ["2026-01-04"]},
     "both a holiday"),
    ({"hours": {"mon": [["09:00", "12:00"]]}, "holidays": [{"from": "2026-02-10", "to": "2026-02-01"}]},
     "ends before it starts"),
    ({"hours": {"mon": [["09:00", "12:00"]]}, "holidays": ["next tuesday"]}, "not a date"),
])
def test_unusable_calendars_are_refused_with_the_reason(data: dict[str, Any], message: str) -> None:
    with pytest.raises(CalendarError, match=message):
        calendar_from_mapping("broken", data)


def test_holiday_ranges_are_inclusive() -> None:
    calendar = calendar_from_mapping("c", {"hours": {"mon": [["09:00", "17:00"]]},
                                           "holidays": [{"name": "x", "from": date(2026, 2, 15), "to": "2026-02-17"}]})
    assert calendar.holidays == {date(2026, 2, 15), date(2026, 2, 16), date(2026, 2, 17)}


def test_calendar_files_name_their_holiday_sets(tmp_path: Any) -> None:
    (tmp_path / "holidays").mkdir()
    (tmp_path / "holidays" / "x.toml").write_text('holidays = [2026-11-25]\nmakeup_workdays = [2026-11-28]\n')
    (tmp_path / "office.toml").write_text('holiday_sets = ["x"]\n[hours]\nmon = [["09:00", "17:00"]]\n')
    (tmp_path / "bad.toml").write_text('holiday_sets = ["y"]\n[hours]\nmon = [["09:00", "17:00"]]\n')
    with pytest.raises(CalendarError, match="unknown holiday set 'y'"):
        load_calendars(tmp_path)
    (tmp_path / "bad.toml").unlink()
    office = load_calendars(tmp_path)["office"]
    assert office.holidays == {date(2026, 11, 25)} and office.makeup_workdays == {date(2026, 11, 28)}


def test_the_config_directory_can_be_moved(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    assert config_dir() == CONFIG_DIR and (CONFIG_DIR / "calendars" / "default.toml").is_file()
    (tmp_path / "calendars").mkdir()
    (tmp_path / "calendars" / "only.toml").write_text("always_open = true\n")
    monkeypatch.setenv("TOUCHLINE_CONFIG_DIR", str(tmp_path))
    assert config_dir() == tmp_path and list(load_calendars()) == ["only"]


# Anywhere the library's holiday data covers (2001-2026), leaving room for the deadline to stay in it.
instants = st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2026, 10, 31), timezones=st.just(SHANGHAI))


@settings(max_examples=60, deadline=None)
@given(start=instants, seconds=st.integers(min_value=0, max_value=200 * HOUR))
def test_adding_then_measuring_business_time_round_trips(start: datetime, seconds: int) -> None:
    end = OFFICE.add_business_seconds(start, seconds)
    assert end >= start
    assert OFFICE.business_seconds_between(start, end) == pytest.approx(seconds, abs=1e-6)


@settings(max_examples=60, deadline=None)
@given(start=instants, hours=st.integers(min_value=0, max_value=24 * 40))
def test_business_time_never_exceeds_calendar_time(start: datetime, hours: int) -> None:
    end = start + timedelta(hours=hours)
    assert 0 <= OFFICE.business_seconds_between(start, end) <= (end - start).total_seconds()
    assert isinstance(OFFICE, BusinessCalendar)


def _refused(question: Any) -> bool:
    try:
        question()
    except CalendarGap:
        return True
    return False


@settings(max_examples=300)
@given(zone=st.sampled_from(["Pacific/Kiritimati", "Pacific/Pago_Pago", "Asia/Shanghai", "UTC"]),
       year_end=st.sampled_from([2025, 2026]), minutes=st.integers(min_value=-4 * 24 * 60, max_value=4 * 24 * 60),
       length=st.integers(min_value=1, max_value=3 * 24 * 60))
def test_the_covered_years_are_judged_by_local_dates_near_their_ends(zone: str, year_end: int, minutes: int,
                                                                        length: int) -> None:
    """Instants near either end of the covered years, in zones up to 14 hours from UTC: a question is refused
    exactly when a local date it counts lies outside them (as `check_covered` of its instants says)."""
    hours = {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
    calendar = calendar_from_mapping("c", {"timezone": zone, "hours": hours, "holiday_years": [2026, 2026]})
    unbounded = calendar_from_mapping("c", {"timezone": zone, "hours": hours})  # the same time, no data needed
    start = datetime(year_end, 12, 31, 12, tzinfo=UTC) + timedelta(minutes=minutes)
    end = start + timedelta(minutes=length)
    last = timedelta(microseconds=1)
    assert _refused(lambda: calendar.business_seconds_between(start, end)) == _refused(
        lambda: calendar.check_covered(start, end - last))
    answer = unbounded.add_business_seconds(start, length * 60)
    assert _refused(lambda: calendar.add_business_seconds(start, length * 60)) == _refused(
        lambda: calendar.check_covered(start, answer - last))
