"""Sealing personal values of a stored event document with its subject's key, and opening them again.

Every personal value of an event (domain.privacy.fields) is sealed under the data key of the event's subject. A
sealed value is the text `sealed:v1:<key_id>:<base64url(nonce ‖ ciphertext ‖ tag)>`: AES-256-GCM under the data
key `key_id` (a random uuid4, never derived from the identifier), with associated data binding it to its event id
and field path (a token copied to another event or field does not open). Sealing is deterministic: the nonce is an
HMAC of the event id, path and value under the key, so the same event seals to the same bytes (a redelivery, a
replay) and a nonce only repeats for the very same value in the very same place.

An erased key opens to a pseudonym instead (`erased-<erasure id>`, one per erasure, however many keys it
destroyed): a customer reference becomes `{"customer_number": "erased-…"}`, an identity event's identifier keeps
its kind with the pseudonym as value (suffixed `-2`, `-3`… to stay distinct), and an optional payload field
repeating an identifier is left out. The erased customer's events so still group under one pseudonymous customer,
and every non-personal fact (counts, cases, SLA outcomes) remains; the documents still validate as their contracts.

SealingError
 ├── MalformedToken   a value that starts like a token but cannot be one
 ├── TamperedValue    a token that does not authenticate (changed, moved, or opened with the wrong key)
 └── UnknownKey       a token naming a key that is neither held nor erased (a lost or foreign key vault)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from domain.privacy.fields import Role, Site, personal_sites, rank

PREFIX = "sealed:v1:"
MARK = PREFIX.encode()
"""Bytes every stored document holding a sealed value contains (a cheap test before parsing)."""
KEY_BYTES = 32
NONCE_BYTES = 12
_AD_LABEL = b"touchline.sealed.v1"


class SealingError(Exception):
    """Base of the sealing errors (see the module docstring for the tree)."""


class MalformedToken(SealingError):
    pass


class TamperedValue(SealingError):
    pass


class UnknownKey(SealingError):
    pass


@dataclass(frozen=True, slots=True)
class DataKey:
    """A customer's data key: `key_id` (random uuid4 text) and 32 secret bytes (kept out of repr)."""

    key_id: str
    secret: bytes = field(repr=False)
    _aead: AESGCM = field(init=False, repr=False, compare=False)
    _nonce_key: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.secret) != KEY_BYTES:
            raise ValueError("a data key has 32 bytes")
        # Separate subkeys for encryption and nonce derivation.
        object.__setattr__(self, "_aead", AESGCM(_subkey(self.secret, b"encrypt")))
        object.__setattr__(self, "_nonce_key", _subkey(self.secret, b"nonce"))

    def seal(self, event_id: str, path: str, value: str) -> str:
        plain = value.encode("utf-8")
        ad = _associated_data(event_id, path)
        nonce = hmac.digest(self._nonce_key, ad + b"\x00" + plain, "sha256")[:NONCE_BYTES]
        sealed = base64.urlsafe_b64encode(nonce + self._aead.encrypt(nonce, plain, ad)).decode().rstrip("=")
        return f"{PREFIX}{self.key_id}:{sealed}"

    def open(self, event_id: str, path: str, token: str) -> str:
        return self.open_blob(event_id, path, *split_token(token))

    def open_blob(self, event_id: str, path: str, key_id: str, blob: bytes) -> str:
        """`open` of a token already split (`split_token`)."""
        if key_id != self.key_id:
            raise TamperedValue(f"{path}: sealed under another key")
        try:
            return self._aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], _associated_data(event_id, path)).decode()
        except InvalidTag as exc:
            raise TamperedValue(f"{path}: sealed value does not authenticate") from exc


@dataclass(frozen=True, slots=True)
class ErasedKey:
    """A destroyed key: what its values open to. `pseudonym` is `erased-<erasure id>` (random, non-personal)."""

    key_id: str
    pseudonym: str


KeyRing = Mapping[str, DataKey | ErasedKey]
"""Keys by key id, as loaded for one batch of documents."""


def is_token(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def split_token(token: str) -> tuple[str, bytes]:
    """(key id, nonce ‖ ciphertext ‖ tag) of a token."""
    key_id, sep, text = token.removeprefix(PREFIX).partition(":")
    if not token.startswith(PREFIX) or not sep or not key_id:
        raise MalformedToken("not a sealed value")
    try:
        blob = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise MalformedToken("sealed value is not base64url") from exc
    if len(blob) < NONCE_BYTES + 16:
        raise MalformedToken("sealed value too short")
    return key_id, blob


def seal_document(document: dict[str, Any], key: DataKey) -> dict[str, Any]:
    """Seal every personal value of a clear `document` (in place; returned) with `key`, its subject's
    (`fields.subject_of`). Every value is sealed, even one that looks like a token: a producer's text is clear."""
    event_id = str(document["event_id"])
    for site in personal_sites(document):
        site.holder[site.field] = key.seal(event_id, site.path, site.value)
    return document


SealedValue = tuple[Site, str, bytes]
"""A sealed value of a document: where it is, its key id and its blob (`split_token`)."""


def sealed_values(document: dict[str, Any]) -> list[SealedValue]:
    """The sealed values of `document`, in `personal_sites` order (raises MalformedToken for a broken one)."""
    return [(site, *split_token(site.value)) for site in personal_sites(document) if is_token(site.value)]


def sealed_key_ids(document: dict[str, Any]) -> set[str]:
    """The key ids named by the sealed values of `document`."""
    return {key_id for _, key_id, _ in sealed_values(document)}


def open_document(document: dict[str, Any], ring: KeyRing, sealed: list[SealedValue] | None = None) -> dict[str, Any]:
    """Open every sealed value of `document` (in place; returned): clear values from live keys, pseudonyms from
    erased ones. Values that were never sealed (events recorded before sealing) are left as they are.
    `sealed`: `sealed_values(document)`, when the caller has it already."""
    event_id = str(document["event_id"])
    erased: list[tuple[Site, ErasedKey]] = []
    for site, key_id, blob in sealed_values(document) if sealed is None else sealed:
        key = ring.get(key_id)
        if key is None:
            raise UnknownKey(f"{site.path}: key {key_id} is neither held nor erased")
        if isinstance(key, DataKey):
            site.holder[site.field] = key.open_blob(event_id, site.path, key_id, blob)
        else:
            erased.append((site, key))
    _pseudonymise(document, erased)
    return document


def _pseudonymise(document: dict[str, Any], erased: list[tuple[Site, ErasedKey]]) -> None:
    """Erased values: the reference becomes the pseudonymous customer number; identity identifiers get the
    pseudonym, the strongest kind first (so a customer number matches the reference's), suffixed to stay distinct;
    payload copies of identifiers are left out."""
    taken: set[str] = set()
    for site, key in sorted(erased, key=lambda pair: rank(pair[0].kind) if pair[0].role is Role.IDENTIFIER else -1):
        if site.role is Role.IDENTIFIER:
            site.holder[site.field] = _distinct(key.pseudonym, taken)
        elif site.role is Role.PAYLOAD:
            del site.holder[site.field]
    customer = next((key for site, key in erased if site.role is Role.CUSTOMER), None)
    if customer is not None:  # the whole reference is one customer's
        document["customer"] = {"customer_number": customer.pseudonym}


def _distinct(pseudonym: str, taken: set[str]) -> str:
    """The pseudonym, suffixed `-2`, `-3`… when the same event already uses it (identifiers must stay distinct)."""
    candidate, n = pseudonym, 1
    while candidate in taken:
        n += 1
        candidate = f"{pseudonym}-{n}"
    taken.add(candidate)
    return candidate


def _associated_data(event_id: str, path: str) -> bytes:
    return b"\x00".join((_AD_LABEL, event_id.encode(), path.encode()))


def _subkey(secret: bytes, label: bytes) -> bytes:
    return hmac.new(secret, b"touchline.sealing." + label, hashlib.sha256).digest()
