"""Business calendars: working hours per weekday in a time zone, public holidays and make-up working days."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TIMEZONE = "Asia/Shanghai"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MAX_DAYS = 3660  # give up looking for working time after ten years (a calendar with no working days)
_HHMM = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$|^24:00$")
_MIDNIGHT = time(0, 0)

Hours = tuple[tuple[time, time], ...]
"""Working intervals of one day, ascending and disjoint; an end of 00:00 means the midnight ending the day."""


class CalendarError(ValueError):
    """A calendar definition that cannot be used (bad hours, unknown time zone, unknown keys)."""


@dataclass(frozen=True, slots=True)
class BusinessCalendar:
    """When the clock of a department or site runs.

    `weekly_hours[weekday]` (Monday = 0) lists working intervals in local time. A holiday has no working time;
    a make-up working day (a weekend worked in exchange for a holiday) uses `makeup_hours`, else Monday's hours.
    `always_open` calendars (24x7 hotlines) count every second.
    """

    name: str
    timezone: str = DEFAULT_TIMEZONE
    weekly_hours: tuple[Hours, ...] = ((),) * 7
    holidays: frozenset[date] = frozenset()
    makeup_workdays: frozenset[date] = frozenset()
    always_open: bool = False
    makeup_hours: Hours | None = None
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_zone", _load_zone(self.timezone))
        if len(self.weekly_hours) != 7:
            raise CalendarError(f"calendar {self.name!r}: weekly_hours needs 7 days (Monday first)")
        for hours in (*self.weekly_hours, self.makeup_hours or ()):
            _check_hours(self.name, hours)
        clash = self.holidays & self.makeup_workdays
        if clash:
            raise CalendarError(f"calendar {self.name!r}: {min(clash)} is both a holiday and a make-up workday")
        if not self.always_open and not any(self.weekly_hours):
            raise CalendarError(f"calendar {self.name!r} has no working hours (use always_open for 24x7)")

    @property
    def zone(self) -> ZoneInfo:
        """The calendar's time zone."""
        return self._zone

    def hours_on(self, day: date) -> Hours:
        """Working intervals of a local date (holidays and make-up days applied)."""
        if self.always_open:
            return ((_MIDNIGHT, _MIDNIGHT),)
        if day in self.makeup_workdays:
            return self.makeup_hours if self.makeup_hours is not None else self.weekly_hours[0]
        if day in self.holidays:
            return ()
        return self.weekly_hours[day.weekday()]

    def business_seconds_between(self, start: datetime, end: datetime) -> float:
        """Working seconds in [start, end) (0 if end <= start); aware datetimes required."""
        start, end = _utc(start), _utc(end)
        if end <= start:
            return 0.0
        if self.always_open:
            return (end - start).total_seconds()
        total = timedelta(0)
        for opens, closes in self._intervals(start):
            if opens >= end:
                break
            total += max(timedelta(0), min(closes, end) - max(opens, start))
        return total.total_seconds()

    def add_business_seconds(self, start: datetime, seconds: float) -> datetime:
        """The first instant at which `seconds` of working time have passed since `start` (local time zone)."""
        if seconds < 0:
            raise ValueError("seconds must not be negative")
        at, remaining = _utc(start), timedelta(seconds=seconds)
        if self.always_open or not remaining:
            return (at + remaining).astimezone(self._zone)
        for opens, closes in self._intervals(at):
            lo = max(opens, at)
            if closes <= lo:
                continue
            if remaining <= closes - lo:
                return (lo + remaining).astimezone(self._zone)
            remaining -= closes - lo
        raise CalendarError(f"calendar {self.name!r}: no working time within {_MAX_DAYS} days")  # pragma: no cover

    def _intervals(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working intervals in UTC, ascending, from the local day before `start` onwards (bounded)."""
        first = start.astimezone(self._zone).date() - timedelta(days=1)
        for offset in range(_MAX_DAYS):
            day = first + timedelta(days=offset)
            for opens, closes in self.hours_on(day):
                end_day = day + timedelta(days=1) if closes == _MIDNIGHT else day
                yield self._instant(day, opens), self._instant(end_day, closes)
        raise CalendarError(f"calendar {self.name!r}: no working time within {_MAX_DAYS} days")

    def _instant(self, day: date, at: time) -> datetime:
        return datetime.combine(day, at, tzinfo=self._zone).astimezone(UTC)


def calendar_from_mapping(name: str, data: Mapping[str, Any]) -> BusinessCalendar:
    """Parse a calendar read from TOML (see config/calendars/default.toml for the keys)."""
    known = {"description", "timezone", "always_open", "hours", "makeup_hours", "holidays", "makeup_workdays"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise CalendarError(f"calendar {name!r}: unknown keys {', '.join(unknown)}")
    hours = data.get("hours", {})
    bad_days = sorted(set(hours) - set(WEEKDAYS))
    if bad_days:
        raise CalendarError(f"calendar {name!r}: unknown weekdays {', '.join(bad_days)} (use mon..sun)")
    makeup = data.get("makeup_hours")
    return BusinessCalendar(
        name=name,
        timezone=str(data.get("timezone", DEFAULT_TIMEZONE)),
        weekly_hours=tuple(_parse_hours(name, hours.get(day, ())) for day in WEEKDAYS),
        holidays=frozenset(_parse_dates(name, data.get("holidays", ()))),
        makeup_workdays=frozenset(_parse_dates(name, data.get("makeup_workdays", ()))),
        always_open=bool(data.get("always_open", False)),
        makeup_hours=_parse_hours(name, makeup) if makeup is not None else None,
    )


def _parse_hours(name: str, spans: Sequence[Any]) -> Hours:
    parsed = []
    for span in spans:
        if not isinstance(span, Sequence) or isinstance(span, str) or len(span) != 2:
            raise CalendarError(f"calendar {name!r}: hours are [\"HH:MM\", \"HH:MM\"] pairs, got {span!r}")
        parsed.append((_parse_time(name, span[0]), _parse_time(name, span[1])))
    return tuple(parsed)


def _parse_time(name: str, value: Any) -> time:
    if isinstance(value, time):
        return value
    match = _HHMM.match(str(value))
    if match is None:
        raise CalendarError(f"calendar {name!r}: {value!r} is not HH:MM (00:00-24:00)")
    return _MIDNIGHT if match[0] == "24:00" else time(int(match[1]), int(match[2]))


def _parse_dates(name: str, entries: Sequence[Any]) -> Iterator[date]:
    """Dates given as TOML dates, "YYYY-MM-DD" strings, or {from, to, name} ranges (inclusive)."""
    for entry in entries:
        if isinstance(entry, Mapping):
            first, last = _parse_date(name, entry.get("from")), _parse_date(name, entry.get("to", entry.get("from")))
            if last < first:
                raise CalendarError(f"calendar {name!r}: range {first}..{last} ends before it starts")
            yield from (first + timedelta(days=n) for n in range((last - first).days + 1))
        else:
            yield _parse_date(name, entry)


def _parse_date(name: str, value: Any) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise CalendarError(f"calendar {name!r}: {value!r} is not a date (YYYY-MM-DD)") from None


def _check_hours(name: str, hours: Hours) -> None:
    previous_end: time | None = None
    for opens, closes in hours:
        if closes != _MIDNIGHT and closes <= opens:
            raise CalendarError(f"calendar {name!r}: interval {opens}-{closes} ends before it starts")
        if previous_end is not None and (previous_end == _MIDNIGHT or opens < previous_end):
            raise CalendarError(f"calendar {name!r}: working intervals must be ascending and disjoint")
        previous_end = closes


def _load_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CalendarError(f"unknown time zone {name!r}") from None


def _utc(value: datetime) -> datetime:
    if value.utcoffset() is None:
        raise ValueError("an aware datetime is required")
    return value.astimezone(UTC)


TWENTY_FOUR_SEVEN = BusinessCalendar(name="24x7", always_open=True)
"""Every second counts: hotlines and calendar-time targets."""
