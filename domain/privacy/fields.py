"""Which values of a stored event document are personal, and whose they are (the event's subject).

A stored event document is the canonical JSON object of an envelope (`model_dump(mode="json", exclude_none=True)`).
Personal values are: every field of the customer reference; the `value` of every identifier an identity event
names; and payload fields that repeat one of the customer's identifiers (a repair order's device serial). Everything
else (types, times, departments, agents, case ids, payload facts) is not sealed: free text written by staff or
customers must not carry identifiers (docs/audit.md, "Erasure").

An event's subject is the customer id (anchor) all its personal values are sealed under: `customer_key` of its
customer reference (the key the read models file the event under); for an event whose reference names no one (an
identity event, say), the customer id of its strongest identifier in the payload.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from contracts import CustomerRef, IdentifierKind
from domain.identity.identifiers import (
    STRENGTH,
    Identifier,
    InvalidIdentifier,
    customer_id_for,
    customer_key,
    normalise,
)

CUSTOMER_FIELDS: tuple[str, ...] = tuple(CustomerRef.model_fields)
"""Every field of `CustomerRef` (all of them personal)."""

IDENTIFIER_FIELDS: Mapping[str, tuple[str, ...]] = {
    "identity.identifiers_linked": ("identifiers",),
    "identity.identifiers_unlinked": ("identifier", "from_identifier"),
}
"""Per event type, the payload fields holding `CustomerIdentifier`s (one, or a list of them)."""

PAYLOAD_FIELDS: Mapping[str, Mapping[str, IdentifierKind]] = {
    "repair.order_opened": {"device_serial": IdentifierKind.DEVICE_SERIAL},
    "sale.order_placed": {"items[].device_serial": IdentifierKind.DEVICE_SERIAL},
}
"""Per event type, optional payload fields repeating an identifier of the customer, with its kind; `list[].field`
names that field in every object of the payload list `list`."""

_KINDS = frozenset(kind.value for kind in IdentifierKind)
_CUSTOMER_PATHS = tuple((name, f"customer.{name}") for name in CUSTOMER_FIELDS)
_FIELD_KIND = {
    "national_id": IdentifierKind.NATIONAL_ID,
    "national_id_digest": IdentifierKind.NATIONAL_ID,
    "national_id_masked": IdentifierKind.NATIONAL_ID,
}


class Role(StrEnum):
    CUSTOMER = "customer"  # a field of the customer reference
    IDENTIFIER = "identifier"  # the value of an identity event's identifier
    PAYLOAD = "payload"  # an optional payload field repeating an identifier


@dataclass(slots=True)  # not frozen: built for every personal value of every event read, frozen init costs
class Site:
    """One personal value of a document: its dotted path, the dict holding it, its key there, its role and the
    identifier kind it is (None for customer-reference fields other than identifiers)."""

    path: str
    holder: dict[str, Any]
    field: str
    role: Role
    kind: str | None = None

    @property
    def value(self) -> Any:
        return self.holder[self.field]


def personal_sites(document: dict[str, Any]) -> list[Site]:
    """Every personal string value of a stored event document, in a fixed order."""
    sites = list(_customer_sites(document))
    event_type = str(document.get("event_type"))  # only identity, repair and sale events name more
    if event_type in IDENTIFIER_FIELDS:
        sites += _identifier_sites(document)
    if event_type in PAYLOAD_FIELDS:
        sites += _payload_sites(document)
    return sites


def subject_of(document: dict[str, Any], customer: CustomerRef | None = None) -> str | None:
    """The anchor every personal value of a clear document is sealed under (None: the document has none).
    `customer`: the document's customer reference as a model, when the caller has it (saves rebuilding it)."""
    reference = document.get("customer")
    if isinstance(reference, dict) and any(isinstance(reference.get(name), str) for name in CUSTOMER_FIELDS):
        return customer_anchor(customer or CustomerRef.model_construct(**reference))
    named = [site for site in personal_sites(document) if site.kind is not None]
    if not named:
        return None
    strongest = min(named, key=lambda site: rank(site.kind))  # first of the strongest kind
    return identifier_anchor(str(strongest.kind), str(strongest.value))


def customer_anchor(customer: CustomerRef) -> str:
    """`customer_key` of a clear customer reference; when no identifier normalises (a phone that is no number),
    the customer id of its strongest value as given, so that every reference with a value has an anchor."""
    key = customer_key(customer)
    if key is not None:
        return key
    fields = customer.model_dump(exclude_none=True)
    name = min(fields, key=lambda field: rank(_FIELD_KIND.get(field, field)))
    return customer_id_for(Identifier(IdentifierKind(_FIELD_KIND.get(name, name)), str(fields[name]).strip()))


def identifier_anchor(kind: str, value: str) -> str:
    """The customer id of one identifier (national IDs are stored as their digest), normalised when possible."""
    known = IdentifierKind(kind)
    if known is IdentifierKind.NATIONAL_ID:
        return customer_id_for(Identifier(known, value.strip()))
    try:
        return customer_id_for(normalise(known, value))
    except InvalidIdentifier:
        return customer_id_for(Identifier(known, value.strip()))


def rank(kind: str | None) -> int:
    """Strength of an identifier kind, 0 for the strongest (unknown kinds and None last)."""
    return STRENGTH.index(IdentifierKind(kind)) if kind in _KINDS else len(STRENGTH)


def _customer_sites(document: dict[str, Any]) -> list[Site]:
    customer = document.get("customer")
    if not isinstance(customer, dict):
        return []
    return [Site(path, customer, name, Role.CUSTOMER) for name, path in _CUSTOMER_PATHS
            if isinstance(customer.get(name), str)]


def _identifier_sites(document: dict[str, Any]) -> Iterator[Site]:
    payload = document.get("payload")
    names = IDENTIFIER_FIELDS.get(str(document.get("event_type")), ())
    if not names or not isinstance(payload, dict):
        return
    for name in names:
        held = payload.get(name)
        items = enumerate(held) if isinstance(held, list) else [(None, held)]
        for index, item in items:
            if isinstance(item, dict) and isinstance(item.get("value"), str) and isinstance(item.get("kind"), str):
                where = f"payload.{name}" if index is None else f"payload.{name}[{index}]"
                yield Site(f"{where}.value", item, "value", Role.IDENTIFIER, item["kind"])


def _payload_sites(document: dict[str, Any]) -> Iterator[Site]:
    payload = document.get("payload")
    fields = PAYLOAD_FIELDS.get(str(document.get("event_type")), {})
    if not fields or not isinstance(payload, dict):
        return
    for name, kind in fields.items():
        listed, _, inner = name.partition("[].")
        if not inner:
            if isinstance(payload.get(name), str):
                yield Site(f"payload.{name}", payload, name, Role.PAYLOAD, kind.value)
            continue
        held = payload.get(listed)
        for index, item in enumerate(held if isinstance(held, list) else ()):
            if isinstance(item, dict) and isinstance(item.get(inner), str):
                yield Site(f"payload.{listed}[{index}].{inner}", item, inner, Role.PAYLOAD, kind.value)
