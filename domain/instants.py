"""Instants as integers: UTC microseconds since the epoch, what rules, read models and their sort keys compare."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
DAY_US = 86_400_000_000  # microseconds in a day


def epoch_us(at: datetime) -> int:
    """UTC epoch microseconds of an aware datetime (exact integer arithmetic); ValueError for a naive one."""
    if at.utcoffset() is None:
        raise ValueError("an aware datetime is required")
    since = at - EPOCH  # days, seconds and microseconds, normalised: their sum is `since // MICROSECOND`
    return (since.days * 86_400 + since.seconds) * 1_000_000 + since.microseconds


def from_epoch_us(micros: int) -> datetime:
    """The UTC instant `micros` microseconds after the epoch."""
    return EPOCH + timedelta(microseconds=micros)
