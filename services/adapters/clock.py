"""The wall clock, read only here (and injected everywhere else as a `Clock`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
"""Returns the current instant, timezone-aware."""


def utc_now() -> datetime:
    """The current instant in UTC."""
    return datetime.now(UTC)
