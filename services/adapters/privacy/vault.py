"""The key vault: one data key per anchor (customer id), wrapped with the key-encryption key, and erasures.

Tables, in the event store's database and schema (no personal data: anchors are opaque uuid5 customer ids, key ids
random uuid4s):

- `privacy_keys`: `key_id`, `anchor_id` (unique), `wrapped_key` (AES-256-GCM under the KEK, bound to the key id),
  `kek_id` (which KEK wrapped it), `created_us`;
- `privacy_erasures`: `erasure_id`, `erased_us`, `reason`, `keys`, `event_id` and, once recorded, the `position`
  of its `privacy.subject_erased` event;
- `privacy_erased_keys`: `key_id` → `erasure_id`, what each destroyed key's values read as.

Erasing deletes the key rows (the anchor → key link and the key itself) and records the erasure in one
transaction. A later event of the same anchor gets a new key.

Keys are cached across batches (live keys by anchor and by key id, erased keys by key id; each cache bounded): a
batch asks the database only for the keys it has not seen, plus one count of `privacy_erased_keys`. Erasures only
ever add to that table, in the transaction that deletes the keys, so when the count moved since the previous
batch every cached live key (and unwrapped key) is dropped before the batch is served: an erasure committed by
another process is seen by the next batch, as when every lookup went to the database. Erased keys never come back
and stay cached.
"""

from __future__ import annotations

import hashlib
import os
import threading
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    delete,
    func,
    select,
)
from sqlalchemy import insert as sql_insert

from domain.instants import epoch_us
from domain.privacy.sealing import KEY_BYTES, NONCE_BYTES, DataKey, ErasedKey
from projections.sqlstore import dialect_insert, in_chunks, write_transaction

metadata = MetaData()

privacy_keys = Table(
    "privacy_keys",
    metadata,
    Column("key_id", String(36), primary_key=True),
    Column("anchor_id", String(36), nullable=False, unique=True),
    Column("wrapped_key", LargeBinary, nullable=False),
    Column("kek_id", String(16), nullable=False),
    Column("created_us", BigInteger, nullable=False),
)

privacy_erasures = Table(
    "privacy_erasures",
    metadata,
    Column("erasure_id", String(36), primary_key=True),
    Column("erased_us", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("keys", Integer, nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("position", BigInteger),  # of the privacy.subject_erased event, once recorded
)

privacy_erased_keys = Table(
    "privacy_erased_keys",
    metadata,
    Column("key_id", String(36), primary_key=True),
    Column("erasure_id", String(36), nullable=False, index=True),
)

CHUNK = 1000  # ids per IN (...) list
_WRAP_LABEL = b"touchline.privacy.key.v1"
_CACHE_LIMIT = 200_000  # entries per key cache
K = TypeVar("K")
V = TypeVar("V")


class VaultError(Exception):
    """A wrapped key that does not open under the configured KEK (a different or rotated KEK, or tampering)."""


@dataclass(frozen=True, slots=True)
class PendingErasure:
    """An erasure whose keys are destroyed but whose event is not recorded yet (a crash in between)."""

    erasure_id: str
    event_id: str
    erased_at_us: int
    reason: str
    key_ids: tuple[str, ...]


@dataclass(slots=True)
class _LiveKeys:
    """Live keys cached while no erasure happened: by anchor and by key id, and unwrapped ones by (key id, wrapped
    bytes). Replaced as a whole when an erasure is seen; a lookup that started before keeps filling the old one."""

    by_anchor: dict[str, DataKey] = field(default_factory=dict)
    by_id: dict[str, DataKey] = field(default_factory=dict)
    unwrapped: dict[tuple[str, bytes], DataKey] = field(default_factory=dict)


class KeyVault:
    """Data keys by anchor, wrapped under the KEK; erasures. Thread-safe (no state but caches of keys)."""

    def __init__(self, engine: Engine, kek: bytes) -> None:
        if len(kek) != KEY_BYTES:
            raise ValueError("the key-encryption key has 32 bytes")
        self._engine = engine
        self._kek = AESGCM(kek)
        self._kek_id = hashlib.sha256(b"touchline.privacy.kek\x00" + kek).hexdigest()[:16]
        self._lock = threading.Lock()
        self._live = _LiveKeys()
        self._erased: dict[str, ErasedKey] = {}
        self._erased_count: int | None = None  # rows of privacy_erased_keys when `_live` was last checked

    def create(self) -> None:
        metadata.create_all(self._engine)

    def close(self) -> None:
        self._engine.dispose()

    def keys_for(self, anchors: Iterable[str], now: datetime) -> dict[str, DataKey]:
        """The live data key of every anchor, creating missing ones in their own committed transaction (racing
        writers agree: the unique anchor keeps the first key, the others read it back)."""
        with self._engine.connect() as conn:
            live = self._checked(conn)
            found: dict[str, DataKey] = {}
            unknown: list[str] = []
            for anchor in sorted(set(anchors)):
                key = live.by_anchor.get(anchor)
                if key is None:
                    unknown.append(anchor)
                else:
                    found[anchor] = key
            if not unknown:
                return found
            found |= self._live_keys(conn, live, unknown)
        missing = [anchor for anchor in unknown if anchor not in found]
        if missing:
            rows = [self._new_key_row(anchor, now) for anchor in missing]
            with write_transaction(self._engine) as conn:
                conn.execute(dialect_insert(conn, privacy_keys).on_conflict_do_nothing(index_elements=["anchor_id"]),
                             rows)
            with self._engine.connect() as conn:
                found |= self._live_keys(conn, live, missing)
        return found

    def ring(self, key_ids: Iterable[str]) -> dict[str, DataKey | ErasedKey]:
        """The keys named by a batch of sealed values: live ones unwrapped, erased ones as their pseudonym.
        A key id in neither table is left out (the reader reports it)."""
        ring: dict[str, DataKey | ErasedKey] = {}
        with self._engine.connect() as conn:
            live = self._checked(conn)
            wanted: list[str] = []
            for key_id in sorted(set(key_ids)):
                key = live.by_id.get(key_id) or self._erased.get(key_id)
                if key is None:
                    wanted.append(key_id)
                else:
                    ring[key_id] = key
            for chunk in in_chunks(wanted, CHUNK):
                query = select(privacy_keys.c.key_id, privacy_keys.c.wrapped_key).where(
                    privacy_keys.c.key_id.in_(chunk))
                for key_id, wrapped in conn.execute(query):
                    ring[key_id] = self._unwrap(live, key_id, bytes(wrapped))
            for chunk in in_chunks([k for k in wanted if k not in ring], CHUNK):
                query = select(privacy_erased_keys.c.key_id, privacy_erased_keys.c.erasure_id).where(
                    privacy_erased_keys.c.key_id.in_(chunk))
                for key_id, erasure_id in conn.execute(query):
                    erased = ring[key_id] = ErasedKey(key_id, pseudonym(erasure_id))
                    _bounded(self._erased)[key_id] = erased
        return ring

    def destroy(self, anchors: Iterable[str], erasure_id: str, event_id: str, reason: str,
                now: datetime) -> tuple[str, ...]:
        """Delete the live keys of `anchors` and record the erasure, in one transaction; the key ids destroyed
        (none when no anchor has a key: nothing is recorded then)."""
        wanted = sorted(set(anchors))
        with write_transaction(self._engine) as conn:
            key_ids: list[str] = []
            for chunk in in_chunks(wanted, CHUNK):
                query = select(privacy_keys.c.key_id).where(privacy_keys.c.anchor_id.in_(chunk))
                key_ids += conn.execute(query.with_for_update()).scalars()
            if not key_ids:
                return ()
            for chunk in in_chunks(key_ids, CHUNK):
                conn.execute(delete(privacy_keys).where(privacy_keys.c.key_id.in_(chunk)))
            conn.execute(sql_insert(privacy_erasures).values(
                erasure_id=erasure_id, erased_us=epoch_us(now), reason=reason, keys=len(key_ids), event_id=event_id))
            conn.execute(sql_insert(privacy_erased_keys),
                         [{"key_id": key_id, "erasure_id": erasure_id} for key_id in key_ids])
        with self._lock:
            self._live, self._erased_count = _LiveKeys(), None
        return tuple(sorted(set(key_ids)))

    def pending(self) -> list[PendingErasure]:
        """Erasures whose event has not been recorded yet, oldest first."""
        e, k = privacy_erasures.c, privacy_erased_keys.c
        with self._engine.connect() as conn:
            rows = conn.execute(select(privacy_erasures).where(e.position.is_(None)).order_by(e.erased_us)).all()
            return [PendingErasure(row.erasure_id, row.event_id, row.erased_us, row.reason, tuple(sorted(
                conn.execute(select(k.key_id).where(k.erasure_id == row.erasure_id)).scalars()))) for row in rows]

    def recorded(self, erasure_id: str, position: int) -> None:
        """Note the log position of an erasure's event."""
        with write_transaction(self._engine) as conn:
            conn.execute(privacy_erasures.update().where(privacy_erasures.c.erasure_id == erasure_id)
                         .values(position=position))

    def _checked(self, conn: Connection) -> _LiveKeys:
        """The live-key cache to serve this lookup from: a new, empty one when keys were erased since the last
        lookup (counted before anything is read, so a key loaded before an erasure commits is dropped next time)."""
        erased = conn.execute(select(func.count()).select_from(privacy_erased_keys)).scalar_one()
        with self._lock:
            if erased != self._erased_count:
                self._live, self._erased_count = _LiveKeys(), erased
            return self._live

    def _live_keys(self, conn: Connection, live: _LiveKeys, anchors: Sequence[str]) -> dict[str, DataKey]:
        found: dict[str, DataKey] = {}
        for chunk in in_chunks(anchors, CHUNK):
            query = select(privacy_keys.c.anchor_id, privacy_keys.c.key_id, privacy_keys.c.wrapped_key).where(
                privacy_keys.c.anchor_id.in_(chunk))
            for anchor, key_id, wrapped in conn.execute(query):
                key = found[anchor] = self._unwrap(live, key_id, bytes(wrapped))
                _bounded(live.by_anchor)[anchor] = key
        return found

    def _new_key_row(self, anchor: str, now: datetime) -> dict[str, Any]:
        key_id = str(uuid.uuid4())  # random: nothing about the customer can be learnt from it
        nonce = os.urandom(NONCE_BYTES)
        wrapped = nonce + self._kek.encrypt(nonce, AESGCM.generate_key(bit_length=256), _wrap_ad(key_id))
        return {"key_id": key_id, "anchor_id": anchor, "wrapped_key": wrapped, "kek_id": self._kek_id,
                "created_us": epoch_us(now)}

    def _unwrap(self, live: _LiveKeys, key_id: str, wrapped: bytes) -> DataKey:
        key = live.unwrapped.get((key_id, wrapped))
        if key is None:
            try:
                secret = self._kek.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], _wrap_ad(key_id))
            except InvalidTag as exc:
                raise VaultError(f"data key {key_id} does not open under the configured TOUCHLINE_PRIVACY_KEK") from exc
            key = _bounded(live.unwrapped)[(key_id, wrapped)] = DataKey(key_id, secret)
        _bounded(live.by_id)[key_id] = key
        return key


def _bounded(cache: dict[K, V]) -> dict[K, V]:
    """`cache`, emptied first when it holds `_CACHE_LIMIT` entries (what a batch needs is loaded again)."""
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    return cache


def pseudonym(erasure_id: str) -> str:
    """What the values of an erased key read as."""
    return f"erased-{erasure_id}"


def _wrap_ad(key_id: str) -> bytes:
    return _WRAP_LABEL + b"\x00" + key_id.encode()
