"""The chainer: follows the store's log, records each event's hash and chain link, and issues signed checkpoints.

Each pass:
1. in one transaction: read the chain's head (position, link), read the next batch of log rows after it, and
   insert their links stamped with the injected clock's instant (`recorded_us`: when the chainer saw them).
   Two chainers racing collide on the primary key and one rolls back; run one.
2. when N events were chained since the last checkpoint, or T seconds passed with some chained: build the Merkle
   root over all event hashes (kept in memory, loaded once), sign the statement, insert it (its own transaction);
3. publish checkpoints not yet published to the checkpoints topic, then mark them published (at least once).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, func, insert, select, update

from domain.audit.checkpoint import CheckpointStatement, SignedCheckpoint, sign
from domain.audit.hashing import ChainLink, LogRow, link
from domain.audit.tree import EventHashTree
from domain.instants import epoch_us
from projections.sqlstore import write_transaction
from services.adapters.audit.tables import audit_chain, audit_checkpoints, checkpoint_of, link_of
from services.adapters.clock import Clock
from services.adapters.store.eventstore import EventStore
from services.adapters.supervision import Liveness, StepLoop, run_loop

log = logging.getLogger(__name__)
CheckpointSink = Callable[[Sequence[SignedCheckpoint]], None]  # publishes, returns once acknowledged


class Chainer:
    """Keeps `audit_chain` caught up with the log and issues checkpoints every N events or T seconds."""

    def __init__(self, store: EventStore, engine: Engine, key: Ed25519PrivateKey, clock: Clock, *,
                 every_events: int = 1000, every_seconds: float = 60.0, batch: int = 2000,
                 sink: CheckpointSink | None = None) -> None:
        self._store, self._engine, self._key, self._clock = store, engine, key, clock
        self._every_events, self._every = every_events, timedelta(seconds=every_seconds)
        self._batch, self._sink = batch, sink
        self._tree: EventHashTree | None = None

    def run_once(self) -> int:
        """One pass (steps 1-3); returns how many events were chained."""
        chained = self._chain_batch()
        self.checkpoint_if_due()
        self.publish_pending()
        return chained

    def catch_up(self) -> int:
        total = 0
        while (chained := self._chain_batch()) > 0:
            total += chained
            self.checkpoint_if_due()
        self.publish_pending()
        return total

    def run(self, stop: threading.Event, idle_s: float = 0.2, *, liveness: Liveness | None = None,
            reset_clients: Callable[[], None] | None = None) -> None:
        """Pass after pass until `stop` is set, supervised (services.adapters.supervision): a failed pass is
        retried with backoff after `reset` (the tree reloaded from the table, the checkpoint producer recreated)."""

        def reset() -> None:
            self._tree = None  # reload from the table: the failed transaction may have left it ahead
            if reset_clients is not None:
                reset_clients()

        run_loop("chainer", StepLoop(lambda: self.run_once() > 0, reset), stop, liveness or Liveness(),
                 idle_s=idle_s)

    def checkpoint_if_due(self, *, force: bool = False) -> SignedCheckpoint | None:
        """Sign and store a checkpoint over every chained event if N events or T seconds are due (or `force`)."""
        tree, head = self._loaded_tree(), self._head()
        last = self._last_checkpoint()
        size = tree.get_size()
        covered = last.statement.tree_size if last else 0
        if head is None or size == covered:
            return None
        now = self._clock()
        due = size - covered >= self._every_events or last is None or now - last.statement.issued_at >= self._every
        if not (due or force):
            return None
        statement = CheckpointStatement((last.statement.seq if last else 0) + 1, size, head.position,
                                        tree.get_root(), head.chain_hash, now)
        checkpoint = sign(statement, self._key)
        with write_transaction(self._engine) as conn:
            conn.execute(insert(audit_checkpoints).values(
                seq=statement.seq, tree_size=size, last_position=head.position, root_hash=statement.root_hash,
                chain_head=statement.chain_head, issued_us=epoch_us(now), signature=checkpoint.signature,
                key_id=checkpoint.key_id, published=False))
        log.info("audit checkpoint %d: %d events up to position %d", statement.seq, size, head.position)
        return checkpoint

    def publish_pending(self) -> int:
        if self._sink is None:
            return 0
        with self._engine.connect() as conn:
            rows = conn.execute(select(audit_checkpoints).where(audit_checkpoints.c.published.is_(False))
                                .order_by(audit_checkpoints.c.seq)).all()
        if not rows:
            return 0
        self._sink([checkpoint_of(row) for row in rows])
        with write_transaction(self._engine) as conn:
            conn.execute(update(audit_checkpoints).where(audit_checkpoints.c.seq.in_([r.seq for r in rows]))
                         .values(published=True))
        return len(rows)

    def _chain_batch(self) -> int:
        tree = self._loaded_tree()
        with write_transaction(self._engine) as conn:
            head_row = conn.execute(select(audit_chain).order_by(audit_chain.c.position.desc()).limit(1)).first()
            head = link_of(head_row) if head_row is not None else None
            rows = self._store.read_raw(head.position if head else 0, self._batch)
            if not rows:
                return 0
            instant = epoch_us(self._clock())
            links: list[ChainLink] = []
            for raw in rows:
                head = link(LogRow(raw.position, raw.event_id, raw.topic, raw.state), head)
                links.append(head)
            conn.execute(insert(audit_chain), [_values(item, instant) for item in links])
        tree.extend(item.event_hash for item in links)
        return len(links)

    def _loaded_tree(self) -> EventHashTree:
        if self._tree is None:
            with self._engine.connect() as conn:
                hashes = conn.execute(select(audit_chain.c.event_hash).order_by(audit_chain.c.position)).scalars()
                self._tree = EventHashTree(bytes(h) for h in hashes)
        return self._tree

    def _head(self) -> ChainLink | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(audit_chain).order_by(audit_chain.c.position.desc()).limit(1)).first()
        return link_of(row) if row is not None else None

    def _last_checkpoint(self) -> SignedCheckpoint | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(audit_checkpoints).order_by(audit_checkpoints.c.seq.desc()).limit(1)).first()
        return checkpoint_of(row) if row is not None else None


def position_at(engine: Engine, instant: datetime) -> int:
    """The last log position the chainer had seen by `instant` (0 if none). Precise to the chainer's lag: an event
    counts from when the chainer recorded it, which is at or shortly after the store committed it."""
    with engine.connect() as conn:
        found = conn.execute(select(func.max(audit_chain.c.position))
                             .where(audit_chain.c.recorded_us <= epoch_us(instant))).scalar_one_or_none()
    return int(found or 0)


def _values(item: ChainLink, instant: int) -> dict[str, object]:
    return {"position": item.position, "event_id": str(item.event_id), "leaf_index": item.leaf_index,
            "event_hash": item.event_hash, "chain_hash": item.chain_hash, "recorded_us": instant}
