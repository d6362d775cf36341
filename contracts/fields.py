"""Building blocks of every contract model: the frozen base model, bounded text, instant and integer types,
summary helpers.

Every value a contract accepts is bounded, so that no accepted event can break a reader downstream: text by
length, integers to the signed 64-bit range (what SQL `bigint`, Kafka and most JSON readers hold), instants to
the plausibility window 1970-01-01T00:00Z .. 2200-01-01T00:00Z with UTC offsets within ±14:00 (the widest in
use), dates to the same years. Outside them arithmetic such as "deadline + 1 day" or "convert to UTC" overflows.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError

LABEL_MAX = 200
TEXT_MAX = 4000
SUMMARY_MAX = 160
DEPARTMENT_PATTERN = r"^[a-z][a-z0-9_-]{0,62}$"
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
"""First instant a contract accepts (inclusive)."""
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
"""First instant a contract refuses: instants are before 2200-01-01T00:00Z."""
MAX_OFFSET = timedelta(hours=14)


class ContractModel(BaseModel):
    """Base of every wire model: immutable, and unknown fields are an error rather than silently dropped."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


def _wire_safe(value: str) -> str:
    # Lone surrogates cannot be encoded as UTF-8 and NUL breaks many stores; refuse both at the edge so that
    # every accepted event can be written as canonical JSON.
    if "\x00" in value:
        raise PydanticCustomError("string_nul", "String must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise PydanticCustomError(
            "string_unicode", "String must be valid Unicode (no lone surrogates)"
        ) from None
    return value


def _whole_minute_offset(value: datetime) -> datetime:
    # ISO 8601 offsets have minute precision; a sub-minute offset would not survive the JSON round trip.
    offset = value.utcoffset()
    if offset is not None and offset % timedelta(minutes=1):
        raise PydanticCustomError("timezone_offset", "UTC offset must be a whole number of minutes")
    return value


def _plausible_instant(value: datetime) -> datetime:
    offset = value.utcoffset() or timedelta(0)
    if abs(offset) > MAX_OFFSET:
        raise PydanticCustomError("timezone_offset_range", "UTC offset must be within -14:00 and +14:00")
    # Look at the year first: converting 9999-12-31T23:59-12:00 to UTC would itself overflow.
    if not EARLIEST.year - 1 <= value.year <= LATEST.year or not EARLIEST <= value.astimezone(UTC) < LATEST:
        raise PydanticCustomError(
            "datetime_range", "Instant must be from 1970-01-01T00:00Z and before 2200-01-01T00:00Z"
        )
    return value


def _plausible_day(value: date) -> date:
    if not EARLIEST.year <= value.year < LATEST.year:
        raise PydanticCustomError("date_range", "Date must be within the years 1970 to 2199")
    return value


Label = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=LABEL_MAX),
    AfterValidator(_wire_safe),
]
"""An identifier, a name or a one-line subject: stripped, 1-200 characters."""

Text = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=TEXT_MAX),
    AfterValidator(_wire_safe),
]
"""Free text (notes, descriptions, reasons): stripped, 1-4000 characters, kept exactly as given otherwise."""

Department = Annotated[str, StringConstraints(strip_whitespace=True, pattern=DEPARTMENT_PATTERN)]
"""A department slug such as `customer-service` or `field_repair`."""

Timestamp = Annotated[AwareDatetime, AfterValidator(_whole_minute_offset), AfterValidator(_plausible_instant)]
"""An instant with its UTC offset (naive datetimes are refused): from 1970-01-01T00:00Z and before
2200-01-01T00:00Z, the offset a whole number of minutes within ±14:00. Every instant of every contract is one."""

Day = Annotated[date, AfterValidator(_plausible_day)]
"""A calendar date in the years 1970-2199."""

Int64 = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]
"""An integer a signed 64-bit column holds."""

Count64 = Annotated[int, Field(ge=0, le=INT64_MAX)]
"""A non-negative integer (seconds, counts) a signed 64-bit column holds."""

Positive64 = Annotated[int, Field(ge=1, le=INT64_MAX)]
"""A positive integer (versions, levels) a signed 64-bit column holds."""


def one_line(text: str, limit: int = SUMMARY_MAX) -> str:
    """Collapse whitespace (newlines too) and cut to `limit` characters; the characters are kept as given."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def format_time(value: datetime) -> str:
    """`2026-11-26 10:00 +08:00`: minute precision with the offset the producer gave."""
    offset = value.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(offset) // timedelta(minutes=1)
    return f"{value:%Y-%m-%d %H:%M} {sign}{minutes // 60:02d}:{minutes % 60:02d}"


def format_duration(seconds: int) -> str:
    """`1h 02m 05s`, `4m 30s` or `45s`."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"
