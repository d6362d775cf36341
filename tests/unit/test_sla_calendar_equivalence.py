"""The memoised, integer-microsecond calendar walks give exactly what the plain timedelta walk gives.

`reference_between` and `reference_add` are the original day-by-day algorithm (datetimes and timedeltas, no
memo); the calendar must agree with them bit for bit, in zones with and without daylight saving time.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from domain.sla.calendar import BusinessCalendar, calendar_from_mapping

pytestmark = pytest.mark.unit

_MIDNIGHT = time(0, 0)


def _intervals(calendar: BusinessCalendar, start: datetime) -> Iterator[tuple[datetime, datetime]]:
    first = start.astimezone(calendar.zone).date() - timedelta(days=1)
    for offset in range(3660):
        day = first + timedelta(days=offset)
        for opens, closes in calendar.hours_on(day):
            end_day = day + timedelta(days=1) if closes == _MIDNIGHT else day
            yield (datetime.combine(day, opens, tzinfo=calendar.zone).astimezone(UTC),
                   datetime.combine(end_day, closes, tzinfo=calendar.zone).astimezone(UTC))


def reference_between(calendar: BusinessCalendar, start: datetime, end: datetime) -> float:
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        return 0.0
    if calendar.always_open:
        return (end - start).total_seconds()
    total = timedelta(0)
    for opens, closes in _intervals(calendar, start):
        if opens >= end:
            break
        total += max(timedelta(0), min(closes, end) - max(opens, start))
    return total.total_seconds()


def reference_add(calendar: BusinessCalendar, start: datetime, seconds: float) -> datetime:
    at, remaining = start.astimezone(UTC), timedelta(seconds=seconds)
    if calendar.always_open or not remaining:
        return (at + remaining).astimezone(calendar.zone)
    for opens, closes in _intervals(calendar, at):
        lo = max(opens, at)
        if closes <= lo:
            continue
        if remaining <= closes - lo:
            return (lo + remaining).astimezone(calendar.zone)
        remaining -= closes - lo
    raise AssertionError("unreachable")


CALENDARS = [
    calendar_from_mapping("office", {
        "timezone": "Asia/Shanghai",
        "hours": {d: [["09:00", "12:00"], ["13:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
        "holidays": [{"from": "2026-10-01", "to": "2026-10-07"}, "2026-01-01"],
        "makeup_workdays": ["2026-10-10"],
    }),
    calendar_from_mapping("berlin-late", {  # DST, a shift ending at midnight, odd minutes
        "timezone": "Europe/Berlin",
        "hours": {"mon": [["00:00", "02:30"], ["22:15", "24:00"]], "sat": [["01:59", "03:01"]],
                  "sun": [["02:00", "24:00"]], "wed": [["08:00", "17:00"]]},
        "makeup_hours": [["10:00", "11:00"]],
        "makeup_workdays": ["2026-03-29"],
    }),
    calendar_from_mapping("berlin-odd", {  # 02:30-03:00 on the spring-forward Sunday closes before it opens
        "timezone": "Europe/Berlin",
        "hours": {"sun": [["02:30", "03:00"], ["03:00", "04:00"]], "thu": [["09:00", "17:00"]]},
    }),
    calendar_from_mapping("new-york", {
        "timezone": "America/New_York",
        "hours": {d: [["01:00", "03:00"], ["09:00", "17:30"]] for d in ("sun", "mon", "tue", "fri")},
    }),
    calendar_from_mapping("always", {"timezone": "Europe/London", "always_open": True}),
]
ZONES = [ZoneInfo("Asia/Shanghai"), ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York"), UTC]

instants = st.builds(
    lambda minutes, micro, zone, fold: (datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes,
                                        microseconds=micro)).astimezone(zone).replace(fold=fold),
    st.integers(0, 400 * 24 * 60), st.integers(0, 999_999), st.sampled_from(ZONES), st.integers(0, 1),
)


NEW_YORK = ZoneInfo("America/New_York")


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(CALENDARS), instants, instants)
@example(CALENDARS[-1], datetime(2025, 12, 31, 19, tzinfo=NEW_YORK), datetime(2026, 3, 8, 3, tzinfo=NEW_YORK))
def test_business_seconds_between_equals_the_plain_walk(calendar: BusinessCalendar, a: datetime,
                                                         b: datetime) -> None:
    assert calendar.business_seconds_between(a, b) == reference_between(calendar, a, b)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(CALENDARS), instants,
       st.one_of(st.floats(0, 40 * 24 * 3600, allow_nan=False), st.integers(0, 30 * 24 * 3600).map(float)))
def test_add_business_seconds_equals_the_plain_walk(calendar: BusinessCalendar, start: datetime,
                                                     seconds: float) -> None:
    found, expected = calendar.add_business_seconds(start, seconds), reference_add(calendar, start, seconds)
    assert found == expected and found.utcoffset() == expected.utcoffset() and found.tzinfo is expected.tzinfo


def test_the_index_serves_ordered_intervals_and_leaves_odd_ones_to_the_walk() -> None:
    year = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    for calendar in CALENDARS[:-1]:
        calendar.business_seconds_between(*year)
    assert [_index_ordered(c) for c in CALENDARS[:-1]] == [True, True, False, True]


def _index_ordered(calendar: BusinessCalendar) -> bool:
    index = calendar._index  # noqa: SLF001
    assert index is not None
    return index.ordered


def test_the_memo_does_not_take_part_in_equality_or_hashing() -> None:
    fresh = calendar_from_mapping("office", {"timezone": "Asia/Shanghai", "hours": {"mon": [["09:00", "17:00"]]}})
    used = calendar_from_mapping("office", {"timezone": "Asia/Shanghai", "hours": {"mon": [["09:00", "17:00"]]}})
    used.business_seconds_between(datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 3, 5, tzinfo=UTC))
    assert fresh == used and hash(fresh) == hash(used)
    assert fresh.hours_on(date(2026, 1, 5)) == ((time(9), time(17)),)
