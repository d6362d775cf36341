"""Intake rules shared by every way in: validate against the contracts, then protect personal identifiers.

A well-formed fact is never refused for domain reasons; only malformed input is rejected, with field paths.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from contracts import Envelope, FieldError, InvalidEvent, parse
from domain.identity.identifiers import IdentifierProtector


@dataclass(frozen=True, slots=True)
class Rejected:
    """Why an input could not be accepted: the field paths and messages."""

    errors: tuple[FieldError, ...]

    @property
    def reason(self) -> str:
        first = self.errors[0] if self.errors else None
        if first is None:
            return "invalid event"
        where = first.loc or "(document)"
        more = f" (+{len(self.errors) - 1} more)" if len(self.errors) > 1 else ""
        return f"{where}: {first.message}{more}"


def admit(data: bytes | str | Mapping[str, Any], protector: IdentifierProtector) -> Envelope | Rejected:
    """The event as it will be stored (national ID replaced by its digest), or why it is rejected."""
    try:
        event = parse(data)
    except InvalidEvent as exc:
        return Rejected(tuple(exc.errors))
    return protect(event, protector)


def protect(event: Envelope, protector: IdentifierProtector) -> Envelope:
    """The envelope with any clear national ID replaced (idempotent)."""
    customer = protector.protect(event.customer)
    return event if customer is event.customer else event.model_copy(update={"customer": customer})
