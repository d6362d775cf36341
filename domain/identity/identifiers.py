"""Identifier rules: normalise what touchpoints send, protect national IDs, rank identifiers by strength."""

from __future__ import annotations

import functools
import hashlib
import hmac
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import phonenumbers

from contracts import CustomerRef, IdentifierKind

__all__ = [
    "STRENGTH",
    "Identifier",
    "IdentifierKind",
    "IdentifierProtector",
    "InvalidIdentifier",
    "customer_id_for",
    "customer_key",
    "identifiers_of",
    "mask",
    "normalise",
]


# Identifier kinds strongest first: a customer number or national ID names one person; a device may change hands.
STRENGTH: tuple[IdentifierKind, ...] = (
    IdentifierKind.CUSTOMER_NUMBER,
    IdentifierKind.NATIONAL_ID,
    IdentifierKind.EMAIL,
    IdentifierKind.PHONE,
    IdentifierKind.MESSAGING_ID,
    IdentifierKind.DEVICE_SERIAL,
)
DEFAULT_REGION = "CN"
# Namespace for deterministic customer ids derived from an identifier (never reveals the identifier).
CUSTOMER_NAMESPACE = uuid.UUID("6f1d3c1e-2d0b-4c53-9a53-1f0b7c7e9a10")
R = TypeVar("R")


class InvalidIdentifier(ValueError):
    """An identifier value that cannot be normalised (e.g. not a phone number)."""


@dataclass(frozen=True, slots=True)
class Identifier:
    """A normalised identifier. For national IDs `value` is the keyed digest, never the number."""

    kind: IdentifierKind
    value: str

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.value}"


@functools.lru_cache(maxsize=65_536)
def normalise_phone(raw: str, region: str = DEFAULT_REGION) -> str:
    """E.164 form of a phone number; numbers without a country code are read in `region`."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidIdentifier(f"not a phone number: {exc}") from exc
    if not phonenumbers.is_possible_number(number):
        raise InvalidIdentifier("not a possible phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(raw: str) -> str:
    value = raw.strip().casefold()
    if "@" not in value:
        raise InvalidIdentifier("not an e-mail address")
    return value


def normalise_national_id(raw: str) -> str:
    """Canonical spelling of a national ID number before it is hashed (spaces removed, check letter upper)."""
    return "".join(raw.split()).upper()


@dataclass(frozen=True, slots=True)
class IdentifierProtector:
    """Keyed hashing of national ID numbers: the number itself is never stored or logged."""

    key: bytes

    def digest(self, national_id: str) -> str:
        canonical = normalise_national_id(national_id).encode()
        return hmac.new(self.key, canonical, hashlib.sha256).hexdigest()

    @staticmethod
    def is_digest(value: str) -> bool:
        return len(value) == 64 and all(c in "0123456789abcdef" for c in value)

    @staticmethod
    def mask(national_id: str) -> str:
        canonical = normalise_national_id(national_id)
        return "*" * max(len(canonical) - 4, 0) + canonical[-4:]

    def protect(self, customer: CustomerRef) -> CustomerRef:
        """The same reference with any clear national ID replaced by its digest and masked form."""
        if customer.national_id is None:
            return customer
        return customer.model_copy(
            update={
                "national_id": None,
                "national_id_digest": self.digest(customer.national_id),
                "national_id_masked": self.mask(customer.national_id),
            }
        )


def normalise(kind: IdentifierKind, raw: str, protector: IdentifierProtector | None = None) -> Identifier:
    """Normalise one identifier as a touchpoint or a lookup gives it."""
    match kind:
        case IdentifierKind.PHONE:
            value = normalise_phone(raw)
        case IdentifierKind.EMAIL:
            value = normalise_email(raw)
        case IdentifierKind.NATIONAL_ID:
            if protector is None:
                raise InvalidIdentifier("national IDs can only be looked up through their keyed digest")
            value = protector.digest(raw)
        case _:
            value = raw.strip()
    if not value:
        raise InvalidIdentifier("empty identifier")
    return Identifier(kind, value)


class _SameReference(Generic[R]):
    """A memo of `compute` in front of its memo by value, by the reference object itself: every projection asks
    for the key of the same decoded event's reference, and finding it by identity costs a fraction of hashing and
    comparing a pydantic model (the memo by value still finds equal references of other events). It holds the
    references it answered for (so their ids stay theirs), at most `limit` of them."""

    def __init__(self, compute: Callable[[CustomerRef], R], limit: int = 16_384) -> None:
        self._compute = compute
        self._limit = limit
        self._found: dict[int, tuple[CustomerRef, R]] = {}
        functools.update_wrapper(self, compute)

    def __call__(self, customer: CustomerRef) -> R:
        known = self._found.get(id(customer))
        if known is not None and known[0] is customer:
            return known[1]
        value = self._compute(customer)
        if len(self._found) >= self._limit:
            self._found.clear()
        self._found[id(customer)] = (customer, value)
        return value

    def cache_clear(self) -> None:
        self._found.clear()
        clear = getattr(self._compute, "cache_clear", None)
        if clear is not None:
            clear()

    def cache_info(self) -> Any:
        info = getattr(self._compute, "cache_info", None)
        return info() if info is not None else None


@functools.lru_cache(maxsize=16_384)  # keyed by references: a rebuild's memory stays flat
def _identifiers_of(customer: CustomerRef) -> tuple[Identifier, ...]:
    """Every usable identifier of a (protected) customer reference, strongest first.

    Values that cannot be normalised are left out here; validation of the wire format is the contracts' job.
    Memoised: a function of the (immutable, hashable) reference alone, asked for again and again by every
    projection, and mostly for the same few customers within a batch.
    """
    found: list[Identifier] = []
    for kind in STRENGTH:
        raw = customer.national_id_digest if kind is IdentifierKind.NATIONAL_ID else getattr(customer, kind.value)
        if raw is None:
            continue
        try:
            found.append(Identifier(kind, raw) if kind is IdentifierKind.NATIONAL_ID else normalise(kind, raw))
        except InvalidIdentifier:
            continue
    return tuple(found)


identifiers_of = _SameReference(_identifiers_of)


def mask(identifier: Identifier) -> str:
    """A form safe for a screen or a log: enough to recognise, not enough to contact (national IDs: no digits)."""
    value = identifier.value
    match identifier.kind:
        case IdentifierKind.NATIONAL_ID:
            return "national ID (digest)"
        case IdentifierKind.EMAIL:
            local, _, domain = value.partition("@")
            return f"{local[:1]}***@{domain}"
        case IdentifierKind.PHONE:
            return value[:3] + "*" * max(len(value) - 7, 0) + value[-4:]
        case _:
            return "*" * max(len(value) - 4, 0) + value[-4:]


@functools.lru_cache(maxsize=65_536)
def customer_id_for(identifier: Identifier) -> str:
    """A stable, opaque customer id derived from one identifier."""
    return str(uuid.uuid5(CUSTOMER_NAMESPACE, str(identifier)))


@functools.lru_cache(maxsize=16_384)  # keyed by references: a rebuild's memory stays flat
def _customer_key(customer: CustomerRef) -> str | None:
    """The customer id of a reference: derived from its strongest identifier (None when it has none).

    This is the seam the identity-resolution work replaces with a resolved customer id.
    """
    found = identifiers_of(customer)
    return customer_id_for(found[0]) if found else None


customer_key = _SameReference(_customer_key)
