"""Opaque page cursors shared by the read-model queries: URL-safe base64 of a short text, validated on the way in."""

from __future__ import annotations

import base64
import binascii
import re


class InvalidCursor(ValueError):
    """A cursor that was not issued by touchline (or was altered)."""


def pack(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


def unpack(cursor: str, pattern: re.Pattern[str], what: str) -> re.Match[str]:
    """The cursor's text matched against `pattern`; InvalidCursor naming `what` otherwise."""
    try:
        text = base64.b64decode(cursor.encode("ascii"), altchars=b"-_", validate=True).decode("utf-8")
    except (ValueError, binascii.Error) as exc:
        raise InvalidCursor(f"malformed {what} cursor") from exc
    match = pattern.fullmatch(text)
    if match is None:
        raise InvalidCursor(f"malformed {what} cursor")
    return match
