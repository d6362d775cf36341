"""Audit queries over the store: checkpoints, inclusion and consistency proofs, and verification of the log."""

from __future__ import annotations

import base64
from collections.abc import Iterator, Sequence
from typing import Any
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pymerkle import InvalidChallenge
from sqlalchemy import Engine, select

from domain.audit.checkpoint import SignedCheckpoint, checkpoint_json, raw_public_key
from domain.audit.checkpoint import key_id as key_id_of
from domain.audit.hashing import ChainLink, LogRow
from domain.audit.tree import EventHashTree
from domain.audit.verify import Verdict, verify_log
from projections.sqlstore import in_chunks
from services.adapters.audit.keys import signing_key, verification_keys
from services.adapters.audit.tables import audit_chain, audit_checkpoints, checkpoint_of, link_of, open_audit_engine
from services.adapters.settings import Settings
from services.adapters.store.eventstore import EventStore

PAGE = 5000


class AuditError(Exception):
    """Base of the audit service's errors.

    AuditError
     ├── NotFound        an event, checkpoint or customer that does not exist (or is not covered yet)
     ├── BadRequest      arguments that cannot name a proof (e.g. from > to)
     ├── NotCovered      an export whose newest events no signed checkpoint covers yet
     └── Inconsistent    an export refused: the store disagrees with the chain or the checkpoint (run verify)
    """


class NotFound(AuditError):
    pass


class BadRequest(AuditError):
    pass


class NotCovered(AuditError):
    pass


class Inconsistent(AuditError):
    pass


class AuditService:
    def __init__(self, store: EventStore, engine: Engine, public_key: Ed25519PublicKey,
                 trusted: dict[str, Ed25519PublicKey]) -> None:
        self._store, self._engine, self._public_key, self._trusted = store, engine, public_key, trusted

    def close(self) -> None:
        self._engine.dispose()

    def public_key(self) -> dict[str, Any]:
        return {"algorithm": "Ed25519", "key_id": key_id_of(self._public_key),
                "public_key": base64.b64encode(raw_public_key(self._public_key)).decode(),
                "trusted_key_ids": sorted(self._trusted)}

    def checkpoints(self, after: int = 0, limit: int = 100) -> list[SignedCheckpoint]:
        with self._engine.connect() as conn:
            rows = conn.execute(select(audit_checkpoints).where(audit_checkpoints.c.seq > after)
                                .order_by(audit_checkpoints.c.seq).limit(limit)).all()
        return [checkpoint_of(row) for row in rows]

    def checkpoint(self, seq: int | None = None) -> SignedCheckpoint:
        """Checkpoint `seq`, or the latest."""
        query = select(audit_checkpoints)
        query = query.where(audit_checkpoints.c.seq == seq) if seq is not None else query.order_by(
            audit_checkpoints.c.seq.desc()).limit(1)
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise NotFound(f"no checkpoint {seq}" if seq is not None else "no checkpoint yet")
        return checkpoint_of(row)

    def inclusion(self, event_id: UUID, seq: int | None = None) -> dict[str, Any]:
        """Inclusion proof of an event in a checkpoint (default: the latest), with the stored record."""
        checkpoint = self.checkpoint(seq)
        chained = self._link_of(event_id)
        if chained.leaf_index > checkpoint.statement.tree_size:
            raise NotFound(f"event {event_id} is not covered by checkpoint {checkpoint.statement.seq} yet")
        raw = self._store.read_raw(chained.position - 1, 1, chained.position)
        if not raw:
            raise NotFound(f"event {event_id} is chained at position {chained.position} but missing from the log")
        tree = self.tree(checkpoint.statement.tree_size)
        proof = tree.prove_inclusion(chained.leaf_index, checkpoint.statement.tree_size)
        record = raw[0]
        return {"record": {"position": record.position, "event_id": str(record.event_id), "topic": record.topic,
                           "state": record.state.decode()},
                "leaf_index": chained.leaf_index, "event_hash": chained.event_hash.hex(),
                "checkpoint": checkpoint_json(checkpoint), "proof": proof.serialize()}

    def consistency(self, from_seq: int, to_seq: int) -> dict[str, Any]:
        if from_seq > to_seq:
            raise BadRequest("from must not exceed to")
        prior, later = self.checkpoint(from_seq), self.checkpoint(to_seq)
        tree = self.tree(later.statement.tree_size)
        try:
            proof = tree.prove_consistency(prior.statement.tree_size, later.statement.tree_size)
        except InvalidChallenge as exc:
            raise NotFound(f"the chain holds fewer events than checkpoint {to_seq} signed") from exc
        return {"from": checkpoint_json(prior), "to": checkpoint_json(later), "proof": proof.serialize()}

    def verify(self, limit: int | None = None) -> Verdict:
        return verify_log(self._rows(), self._links(), self._all_checkpoints(), self._trusted,
                          locate=self._position_of, limit=limit)

    def trusted_key(self, key_id: str) -> Ed25519PublicKey | None:
        """The trusted public key named `key_id` (None once it is no longer trusted)."""
        return self._trusted.get(key_id)

    def tree(self, size: int) -> EventHashTree:
        """The Merkle tree over the first `size` chained events: what a checkpoint of that size signed."""
        with self._engine.connect() as conn:
            hashes = conn.execute(select(audit_chain.c.event_hash).order_by(audit_chain.c.position)
                                  .limit(size)).scalars()
            return EventHashTree(bytes(h) for h in hashes)

    def links(self, positions: Sequence[int]) -> list[ChainLink]:
        """The chain links recorded at `positions` (those the chainer saw), in log order."""
        found: list[ChainLink] = []
        with self._engine.connect() as conn:
            for chunk in in_chunks(positions):
                rows = conn.execute(select(audit_chain).where(audit_chain.c.position.in_(chunk))).all()
                found.extend(link_of(row) for row in rows)
        return sorted(found, key=lambda item: item.position)

    def _link_of(self, event_id: UUID) -> ChainLink:
        with self._engine.connect() as conn:
            row = conn.execute(select(audit_chain).where(audit_chain.c.event_id == str(event_id))).first()
        if row is None:
            raise NotFound(f"event {event_id} is not chained (unknown, or the chainer has not seen it yet)")
        return link_of(row)

    def _position_of(self, event_id: UUID) -> int | None:
        with self._engine.connect() as conn:
            return conn.execute(select(audit_chain.c.position)
                                .where(audit_chain.c.event_id == str(event_id))).scalar_one_or_none()

    def _rows(self) -> Iterator[LogRow]:
        after = 0
        while batch := self._store.read_raw(after, PAGE):
            yield from (LogRow(r.position, r.event_id, r.topic, r.state) for r in batch)
            after = batch[-1].position

    def _links(self) -> Iterator[ChainLink]:
        after = 0
        while True:
            with self._engine.connect() as conn:
                rows = conn.execute(select(audit_chain).where(audit_chain.c.position > after)
                                    .order_by(audit_chain.c.position).limit(PAGE)).all()
            if not rows:
                return
            yield from (link_of(row) for row in rows)
            after = rows[-1].position

    def _all_checkpoints(self) -> list[SignedCheckpoint]:
        with self._engine.connect() as conn:
            return [checkpoint_of(row) for row in conn.execute(select(audit_checkpoints)).all()]


def build_audit_service(settings: Settings, store: EventStore, engine: Engine | None = None) -> AuditService:
    """The audit queries; `close()` disposes their engine."""
    engine = engine or open_audit_engine(settings)
    return AuditService(store, engine, signing_key(settings).public_key(), verification_keys(settings))
