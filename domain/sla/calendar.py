"""Business calendars: working hours per weekday in a time zone, public holidays and make-up working days."""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.instants import DAY_US, MICROSECOND, epoch_us, from_epoch_us

DEFAULT_TIMEZONE = "Asia/Shanghai"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MAX_DAYS = 3660  # give up looking for working time after ten years (a calendar with no working days)
_HHMM = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$|^24:00$")
_MIDNIGHT = time(0, 0)
_DAY = timedelta(days=1)
_US_PER_SECOND = 1_000_000
_FOREVER_US = 1 << 62  # beyond the epoch microseconds of any datetime
_INDEX_MARGIN = 366  # days an index is widened by beyond what a question needs

Hours = tuple[tuple[time, time], ...]
"""Working intervals of one day, ascending and disjoint; an end of 00:00 means the midnight ending the day."""

Spans = tuple[tuple[int, int], ...]
"""Working intervals of one local day as UTC epoch microseconds (opens, closes)."""


class CalendarError(ValueError):
    """A calendar definition that cannot be used (bad hours, unknown time zone, unknown keys)."""


class CalendarGap(CalendarError):
    """Working time asked for in a year the calendar has no holiday data for: counting it would silently treat
    that year's holidays as working days, so it is refused."""

    def __init__(self, calendar: str, year: int, covered: tuple[int, int]) -> None:
        super().__init__(f"calendar {calendar!r} has no holiday data for {year} (covers {covered[0]}-{covered[1]})")
        self.calendar, self.year, self.covered = calendar, year, covered


@dataclass(frozen=True, slots=True)
class BusinessCalendar:
    """When the clock of a department or site runs.

    `weekly_hours[weekday]` (Monday = 0) lists working intervals in local time. A holiday has no working time;
    a make-up working day (a weekend worked in exchange for a holiday) uses `makeup_hours`, else Monday's hours.
    `always_open` calendars (24x7 hotlines) count every second. `holiday_years` (first, last) are the years
    the holiday data covers: a question whose answer lies in another year raises `CalendarGap` (None: the
    calendar needs no holiday data).
    """

    name: str
    timezone: str = DEFAULT_TIMEZONE
    weekly_hours: tuple[Hours, ...] = ((),) * 7
    holidays: frozenset[date] = frozenset()
    makeup_workdays: frozenset[date] = frozenset()
    always_open: bool = False
    makeup_hours: Hours | None = None
    holiday_years: tuple[int, int] | None = None
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)
    _days: dict[int, Spans] = field(init=False, repr=False, compare=False)  # memo: local day ordinal -> spans
    _index: _SpanIndex | None = field(init=False, repr=False, compare=False)  # prefix sums over a range of days
    _hash: int = field(init=False, repr=False, compare=False)
    _surely_covered: tuple[int, int] = field(init=False, repr=False, compare=False)  # see `_check_covered_us`

    def __post_init__(self) -> None:
        object.__setattr__(self, "_zone", _load_zone(self.timezone))
        object.__setattr__(self, "_days", {})
        object.__setattr__(self, "_index", None)
        if len(self.weekly_hours) != 7:
            raise CalendarError(f"calendar {self.name!r}: weekly_hours needs 7 days (Monday first)")
        for hours in (*self.weekly_hours, self.makeup_hours or ()):
            _check_hours(self.name, hours)
        clash = self.holidays & self.makeup_workdays
        if clash:
            raise CalendarError(f"calendar {self.name!r}: {min(clash)} is both a holiday and a make-up workday")
        if self.holiday_years is not None and self.holiday_years[0] > self.holiday_years[1]:
            raise CalendarError(f"calendar {self.name!r}: holiday_years {self.holiday_years} ends before it starts")
        if not self.always_open and not any(self.weekly_hours):
            raise CalendarError(f"calendar {self.name!r} has no working hours (use always_open for 24x7)")
        object.__setattr__(self, "_surely_covered", _surely_covered(self))
        object.__setattr__(self, "_hash", hash((self.name, self.timezone, self.weekly_hours, self.holidays,
                                                self.makeup_workdays, self.always_open, self.makeup_hours,
                                                self.holiday_years)))

    def __hash__(self) -> int:
        """Hash of the compared fields, computed once (clocks holding a calendar are hashed by memoisation)."""
        return self._hash

    @property
    def zone(self) -> ZoneInfo:
        """The calendar's time zone."""
        return self._zone

    def covers(self, day: date) -> bool:
        """Whether the holiday data covers `day`'s year (always, for a calendar without holiday data)."""
        years = self.holiday_years
        return years is None or years[0] <= day.year <= years[1]

    def check_covered(self, *instants: datetime) -> None:
        """Raise CalendarGap unless the local dates of `instants` lie in the years the holidays cover."""
        if self.holiday_years is None or self.always_open:
            return
        for instant in instants:
            day = instant.astimezone(self._zone).date()
            if not self.covers(day):
                raise CalendarGap(self.name, day.year, self.holiday_years)

    def _check_covered_us(self, first_us: int, last_us: int, first: datetime, last: datetime) -> None:
        """`check_covered(first, last)` of two instants given with their epoch microseconds, which settle it
        without their local dates unless they lie within days of the covered years' ends."""
        lowest, highest = self._surely_covered
        if first_us < lowest or last_us >= highest:
            self.check_covered(first, last)

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
        start_us, end_us = epoch_us(start), epoch_us(end)
        if end_us <= start_us:
            return 0.0
        if self.always_open:
            return (end_us - start_us) / _US_PER_SECOND  # in UTC: aware datetimes of one zone subtract naively
        self._check_covered_us(start_us, end_us - 1, start, end - MICROSECOND)  # [start, end): the last counted
        first = start.astimezone(self._zone).toordinal() - 1
        total = self._index_between(first, start_us, end_us, end.astimezone(self._zone).toordinal())
        if total is None:
            total = self._walk_between(first, start_us, end_us)
        return total / _US_PER_SECOND  # == timedelta(microseconds=total).total_seconds()

    def add_business_seconds(self, start: datetime, seconds: float) -> datetime:
        """The first instant at which `seconds` of working time have passed since `start` (local time zone)."""
        if seconds < 0:
            raise ValueError("seconds must not be negative")
        at, remaining = epoch_us(start), timedelta(seconds=seconds)
        if self.always_open or not remaining:
            return (_utc(start) + remaining).astimezone(self._zone)
        left = remaining // MICROSECOND
        first = start.astimezone(self._zone).toordinal() - 1
        reached = self._index_add(first, at, left)
        if reached is None:
            reached = self._walk_add(first, at, left)
        answer = from_epoch_us(reached).astimezone(self._zone)
        self._check_covered_us(at, reached - 1, start, answer - MICROSECOND)  # counted time ends before `answer`
        return answer

    # Both walks count exact integer microseconds (as timedelta arithmetic would) over the working intervals of
    # the local days from `first` (the day before the start) on, for at most _MAX_DAYS days. The index answers
    # the same questions by bisection over prefix sums wherever the intervals are ascending and disjoint (always,
    # but for odd hours around daylight-saving changes); elsewhere the walks answer.

    def _walk_between(self, first: int, start_us: int, end_us: int) -> int:
        total = 0
        for ordinal in range(first, first + _MAX_DAYS):
            for opens, closes in self._spans(ordinal):
                if opens >= end_us:
                    return total
                total += max(0, min(closes, end_us) - max(opens, start_us))
        raise CalendarError(f"calendar {self.name!r}: no working time within {_MAX_DAYS} days")

    def _walk_add(self, first: int, at: int, left: int) -> int:
        for ordinal in range(first, first + _MAX_DAYS):
            for opens, closes in self._spans(ordinal):
                lo = opens if opens > at else at
                if closes <= lo:
                    continue
                if left <= closes - lo:
                    return lo + left
                left -= closes - lo
        raise CalendarError(f"calendar {self.name!r}: no working time within {_MAX_DAYS} days")  # pragma: no cover

    def _index_between(self, first: int, start_us: int, end_us: int, end_day: int) -> int | None:
        """The walk's total from the index: the worked time before `end_us` minus that before `start_us` (the
        walk stops at the first interval opening at or after `end_us`, which must lie within its bound)."""
        index = self._index_over(first, end_day + 2)
        while (stop := bisect_left(index.opens, end_us)) == len(index.opens):
            if index.end >= first + _MAX_DAYS:
                return None
            index = self._index_over(first, index.end + _INDEX_MARGIN)
        if not index.ordered or index.days[stop] >= first + _MAX_DAYS:
            return None
        return index.worked_before(end_us) - index.worked_before(start_us)

    def _index_add(self, first: int, at: int, left: int) -> int | None:
        """The walk's instant from the index: the first interval whose cumulative worked time reaches that
        before `at` plus `left` (`left` > 0, so intervals ending by `at` never do)."""
        index = self._index_over(first, first + 3)
        target = index.worked_before(at) + left
        while (found := bisect_left(index.worked_to, target)) == len(index.worked_to):
            if index.end >= first + _MAX_DAYS:
                return None
            index = self._index_over(first, index.end + _INDEX_MARGIN)
        if not index.ordered or index.days[found] >= first + _MAX_DAYS:
            return None
        return index.closes[found] - (index.worked_to[found] - target)

    def _index_over(self, first: int, end: int) -> _SpanIndex:
        """The index, covering at least the local days [first, end) (rebuilt wider when it does not)."""
        index = self._index
        if index is not None and index.first <= first and end <= index.end:
            return index
        lo = first if index is None else min(first - _INDEX_MARGIN if first < index.first else index.first, first)
        hi = end + _INDEX_MARGIN if index is None else max(end + _INDEX_MARGIN, index.end)
        index = _SpanIndex(self, lo, hi)
        object.__setattr__(self, "_index", index)
        return index

    def _intervals(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working intervals in UTC, ascending, from the local day before `start` onwards (bounded)."""
        first = start.astimezone(self._zone).toordinal() - 1
        for ordinal in range(first, first + _MAX_DAYS):
            for opens, closes in self._spans(ordinal):
                yield from_epoch_us(opens), from_epoch_us(closes)
        raise CalendarError(f"calendar {self.name!r}: no working time within {_MAX_DAYS} days")

    def _spans(self, ordinal: int) -> Spans:
        """The working intervals of a local day (by ordinal) as UTC epoch microseconds, memoised per calendar:
        the calendar is immutable, and every clock walks the same days."""
        spans = self._days.get(ordinal)
        if spans is None:
            day = date.fromordinal(ordinal)
            spans = tuple(
                (self._instant_us(day, opens), self._instant_us(day + _DAY if closes == _MIDNIGHT else day, closes))
                for opens, closes in self.hours_on(day)
            )
            self._days[ordinal] = spans
        return spans

    def _instant_us(self, day: date, at: time) -> int:
        return epoch_us(datetime.combine(day, at, tzinfo=self._zone))


class _SpanIndex:
    """The working intervals of the local days [first, end) in order, with running totals of worked time."""

    __slots__ = ("closes", "days", "end", "first", "opens", "ordered", "worked_to")

    def __init__(self, calendar: BusinessCalendar, first: int, end: int) -> None:
        self.first, self.end = first, end
        self.opens: list[int] = []
        self.closes: list[int] = []
        self.worked_to: list[int] = []  # worked time up to the close of each interval (from the first one)
        self.days: list[int] = []
        self.ordered = True  # every interval non-empty and opening no earlier than the previous one closed
        total, last_close = 0, None
        for ordinal in range(first, end):
            for opens, closes in calendar._spans(ordinal):  # noqa: SLF001 - the calendar's own memo
                if closes <= opens or (last_close is not None and opens < last_close):
                    self.ordered = False
                total += closes - opens
                self.opens.append(opens)
                self.closes.append(closes)
                self.worked_to.append(total)
                self.days.append(ordinal)
                last_close = closes

    def worked_before(self, at: int) -> int:
        """Worked time from the first interval up to `at` (intervals ordered)."""
        last = bisect_left(self.opens, at) - 1  # the last interval opening before `at`
        if last < 0:
            return 0
        return self.worked_to[last] - max(0, self.closes[last] - at)


def calendar_from_mapping(name: str, data: Mapping[str, Any]) -> BusinessCalendar:
    """Parse a calendar read from TOML (see config/calendars/default.toml for the keys)."""
    known = {"description", "timezone", "always_open", "hours", "makeup_hours", "holidays", "makeup_workdays",
             "holiday_years"}
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
        holiday_years=_parse_years(name, data.get("holiday_years")),
    )


def _parse_years(name: str, value: Any) -> tuple[int, int] | None:
    """`holiday_years = [first, last]` (inclusive), or None."""
    if value is None:
        return None
    if (not isinstance(value, Sequence) or isinstance(value, str) or len(value) != 2
            or not all(isinstance(y, int) and not isinstance(y, bool) for y in value)):
        raise CalendarError(f"calendar {name!r}: holiday_years is [first, last], got {value!r}")
    return int(value[0]), int(value[1])


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


def _surely_covered(calendar: BusinessCalendar) -> tuple[int, int]:
    """Epoch microseconds [lowest, highest) whose local dates lie in the years the calendar's holidays cover,
    whatever the zone's offset (less than a day): from two days into the first year to a day before the last
    one's final day. Everything, for a calendar that needs no holiday data."""
    years = calendar.holiday_years
    if years is None or calendar.always_open:
        return -_FOREVER_US, _FOREVER_US
    lowest = epoch_us(datetime(years[0], 1, 1, tzinfo=UTC)) + 2 * DAY_US
    return lowest, epoch_us(datetime(years[1], 12, 31, tzinfo=UTC)) - DAY_US


def _utc(value: datetime) -> datetime:
    if value.utcoffset() is None:
        raise ValueError("an aware datetime is required")
    return value.astimezone(UTC)


TWENTY_FOUR_SEVEN = BusinessCalendar(name="24x7", always_open=True)
"""Every second counts: hotlines and calendar-time targets."""
