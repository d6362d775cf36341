"""Intake rules shared by every way in: validate against the contracts, then protect personal identifiers.

A well-formed fact is never refused for domain reasons; only malformed input is rejected, with field paths.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from contracts import (
    CustomerIdentifier,
    Envelope,
    FieldError,
    IdentityIdentifiersLinkedPayload,
    IdentityIdentifiersUnlinkedPayload,
    InvalidEvent,
    Payload,
    parse,
)
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
