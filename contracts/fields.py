"""Building blocks of every contract model: the frozen base model, bounded text types, summary helpers."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, StringConstraints
from pydantic_core import PydanticCustomError

LABEL_MAX = 200
TEXT_MAX = 4000
SUMMARY_MAX = 160
DEPARTMENT_PATTERN = r"^[a-z][a-z0-9_-]{0,62}$"


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

Timestamp = Annotated[AwareDatetime, AfterValidator(_whole_minute_offset)]
"""A timezone-aware instant; naive datetimes are refused."""


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
