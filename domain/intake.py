"""Intake rules shared by every way in: validate against the contracts, then protect personal identifiers.

A well-formed fact is never refused for domain reasons; only malformed input is rejected, with field paths.
The one exception is who may say it: the event types touchline records itself (`RECORDED_BY_TOUCHLINE`:
SLA policies, alerts, acknowledgements, erasures) are refused from every way in, however well-formed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from contracts import (
    CustomerIdentifier,
    Envelope,
    FieldError,
    IdentityIdentifiersLinkedPayload,
    IdentityIdentifiersUnlinkedPayload,
    InvalidEvent,
    Payload,
    parse,
    to_canonical_json,
)
from domain.identity.identifiers import IdentifierProtector

INTERNAL_EVENT_TYPE = "internal_event_type"
"""`FieldError.type` of an event type only touchline itself records."""
EVENT_ID_CONFLICT = "event_id_conflict"
"""`FieldError.type` of an event reusing the id of an event with different content."""


@dataclass(frozen=True, slots=True)
class Rejected:
    """Why an input could not be accepted: the field paths and messages."""

    errors: tuple[FieldError, ...]

    @property
    def internal(self) -> bool:
        """True when the input is one of touchline's own event types (a question of authority, not form)."""
        return any(error.type == INTERNAL_EVENT_TYPE for error in self.errors)

    @property
    def reason(self) -> str:
        """One line for logs and the dead-letter header: the first error's path and message."""
        if self.internal:
            return "internal event type"
        if any(error.type == EVENT_ID_CONFLICT for error in self.errors):
            return "event_id conflict"
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
    if event.RECORDED_BY_TOUCHLINE:
        return Rejected((_internal(event.event_type),))
    return protect(event, protector)


def _internal(event_type: str) -> FieldError:
    message = f"internal event type: {event_type} is recorded only by touchline itself, never by producers"
    return FieldError("event_type", message, INTERNAL_EVENT_TYPE)


def same_content(a: Envelope, b: Envelope) -> bool:
    """Whether two admitted events say the same thing (their canonical JSON is equal); compare events as admitted,
    i.e. protected, and as stored after opening, never the sealed bytes (sealing is randomised)."""
    return to_canonical_json(a) == to_canonical_json(b)


@dataclass(frozen=True, slots=True)
class Resends:
    """A batch split by event id: the first of each id, identical resends of it, and conflicting ones
    (same id, different content), each by its index in the batch."""

    first: dict[int, Envelope]
    identical: dict[int, Envelope]
    conflicting: dict[int, Envelope]


def split_resends(events: Sequence[tuple[int, Envelope]]) -> Resends:
    """Split `(index, event)` pairs by event id, in order: a later copy is identical or conflicting."""
    seen: dict[UUID, Envelope] = {}
    resends = Resends({}, {}, {})
    for index, event in events:
        earlier = seen.setdefault(event.event_id, event)
        if earlier is event:
            resends.first[index] = event
        elif same_content(earlier, event):
            resends.identical[index] = event
        else:
            resends.conflicting[index] = event
    return resends


def conflict_error(event_id: UUID, loc: str = "event_id") -> FieldError:
    """The error of an event whose id is already taken by an event with different content."""
    message = f"event_id conflict: {event_id} is already used by an event with different content"
    return FieldError(loc, message, EVENT_ID_CONFLICT)


def protect(event: Envelope, protector: IdentifierProtector) -> Envelope:
    """The envelope with every clear national ID replaced by its keyed digest (idempotent): in the customer
    reference and in identity payloads that name identifiers."""
    update: dict[str, Any] = {}
    customer = protector.protect(event.customer)
    if customer is not event.customer:
        update["customer"] = customer
    payload = _protect_identity_payload(event.payload, protector)
    if payload is not event.payload:
        update["payload"] = payload
    return event.model_copy(update=update) if update else event


def _protect_identity_payload(payload: Payload, protector: IdentifierProtector) -> Payload:
    if isinstance(payload, IdentityIdentifiersLinkedPayload):
        identifiers = tuple(_protect_identifier(i, protector) for i in payload.identifiers)
        changed = any(a is not b for a, b in zip(identifiers, payload.identifiers, strict=True))
        return payload.model_copy(update={"identifiers": identifiers}) if changed else payload
    if isinstance(payload, IdentityIdentifiersUnlinkedPayload):
        identifier = _protect_identifier(payload.identifier, protector)
        source = _protect_identifier(payload.from_identifier, protector)
        if identifier is payload.identifier and source is payload.from_identifier:
            return payload
        return payload.model_copy(update={"identifier": identifier, "from_identifier": source})
    return payload


def _protect_identifier(identifier: CustomerIdentifier, protector: IdentifierProtector) -> CustomerIdentifier:
    """A national ID identifier carries its digest as value (64 hex digits), never the number."""
    if identifier.kind != "national_id" or protector.is_digest(identifier.value):
        return identifier
    return identifier.model_copy(update={"value": protector.digest(identifier.value)})
