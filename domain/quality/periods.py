"""Reporting periods in event time: the month or quarter of an instant on the local calendar of a time zone."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from domain.instants import from_epoch_us

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
    year, _, part = period.partition("-")
    if part.startswith("Q"):
        quarter = int(part[1:])
        return f"{int(year) - 1:04d}-Q4" if quarter == 1 else f"{year}-Q{quarter - 1}"
    month = int(part)
    return f"{int(year) - 1:04d}-12" if month == 1 else f"{year}-{month - 1:02d}"


def period_start(period: str, zone: ZoneInfo) -> datetime:
    """The first instant of `period` in `zone`."""
    year, _, part = period.partition("-")
    month = (int(part[1:]) - 1) * 3 + 1 if part.startswith("Q") else int(part)
    return datetime(int(year), month, 1, tzinfo=zone)

