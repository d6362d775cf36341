"""Reporting periods in event time: the month or quarter of an instant on the local calendar of a time zone."""

from __future__ import annotations

from bisect import bisect_right
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from domain.instants import epoch_us, from_epoch_us

DEFAULT_ZONE = "Asia/Shanghai"


class PeriodKind(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"


def period_of(at: datetime, kind: PeriodKind, zone: ZoneInfo) -> str:
    """`2026-11` (month) or `2026-Q4` (quarter): the period holding `at` on the local calendar of `zone`."""
    local = at.astimezone(zone)
    if kind is PeriodKind.MONTH:
        return f"{local.year:04d}-{local.month:02d}"
    return f"{local.year:04d}-Q{(local.month - 1) // 3 + 1}"


def period_of_us(at_us: int, kind: PeriodKind, zone: ZoneInfo) -> str:
    """`period_of` an instant given in microseconds since the epoch (as read models store instants)."""
    return period_of(from_epoch_us(at_us), kind, zone)


def previous_period(period: str) -> str:
    """The period before `period` (`2026-01` -> `2025-12`, `2026-Q1` -> `2025-Q4`)."""
    return _shifted(period, -1)


def period_start(period: str, zone: ZoneInfo) -> datetime:
    """The first instant of `period` in `zone`."""
    year, _, part = period.partition("-")
    month = (int(part[1:]) - 1) * 3 + 1 if part.startswith("Q") else int(part)
    return datetime(int(year), month, 1, tzinfo=zone)



def next_period(period: str) -> str:
    """The period after `period` (`2025-12` -> `2026-01`, `2025-Q4` -> `2026-Q1`)."""
    return _shifted(period, 1)


def _shifted(period: str, step: int) -> str:
    year, _, part = period.partition("-")
    if part.startswith("Q"):
        index = int(year) * 4 + int(part[1:]) - 1 + step
        return f"{index // 4:04d}-Q{index % 4 + 1}"
    index = int(year) * 12 + int(part) - 1 + step
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


class PeriodIndex:
    """`period_of_us` for many instants: each period met is worked out once, as its interval [start, end) in µs,
    and later instants are looked up among the known intervals (a bisection, no time-zone arithmetic)."""

    def __init__(self, kind: PeriodKind, zone: ZoneInfo) -> None:
        self._kind, self._zone = kind, zone
        self._starts: list[int] = []
        self._spans: list[tuple[int, str]] = []  # (end, label) of the interval starting at _starts[i]

    def __call__(self, at_us: int) -> str:
        index = bisect_right(self._starts, at_us) - 1
        if index >= 0 and at_us < self._spans[index][0]:
            return self._spans[index][1]
        label = period_of_us(at_us, self._kind, self._zone)
        start = epoch_us(period_start(label, self._zone))
        end = epoch_us(period_start(next_period(label), self._zone))
        if not start <= at_us < end:  # a local midnight the zone skipped or repeated: not cached
            return label
        index = bisect_right(self._starts, start)
        self._starts.insert(index, start)
        self._spans.insert(index, (end, label))
        return label


def periods_between(first_us: int, last_us: int, kind: PeriodKind, zone: ZoneInfo) -> list[tuple[int, str]]:
    """The periods from the one holding `first_us` to the one holding `last_us`, each as (start in µs, label),
    for a store that labels instants by comparing them with the starts. Each start is checked to begin its
    period and to end the one before: [] when the zone's calendar does not allow that (callers then label
    instants one by one)."""
    label, last = period_of_us(first_us, kind, zone), period_of_us(last_us, kind, zone)
    found: list[tuple[int, str]] = []
    while True:
        start = epoch_us(period_start(label, zone))
        before = period_of_us(start - 1, kind, zone)
        if period_of_us(start, kind, zone) != label or before == label or (found and before != found[-1][1]):
            return []
        found.append((start, label))
        if label == last:
            return found
        label = next_period(label)
