"""Exporting one customer's history with proofs as JSON Lines, for a regulator or the customer.

The file format and its verification live in domain.audit.export; this module reads the store and the chain:
1. `export()` checks before anything is written, so the API can still answer 404 or 409: resolve the customer's log
   positions (a resolver injected by the composition root), take the latest signed checkpoint, refuse when it
   does not cover the newest of them, load its Merkle tree and check the tree still has the signed root;
2. the lines it returns are produced lazily: the header, then page by page the stored rows (one read per window
   of nearby positions), their chain links and inclusion proofs, and the rows opened by the event store (one
   `open` per page: the customer's sealed values in clear, an erased customer's as pseudonyms) as each line's
   `readable` copy, then the trailer with the digest of the lines.

Checkpoints are not forced here: signing needs the chainer's private key, which the API does not hold, and a
second chainer would race the running one. An export of events newer than the latest checkpoint is refused
(NotCovered) and succeeds after the next checkpoint (at most TOUCHLINE_AUDIT_CHECKPOINT_SECONDS later).
Every row is re-hashed against its chain link before it is written: a tampered store stops the export
(Inconsistent) instead of producing a file that cannot verify.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from contracts import to_canonical_json
from domain.audit.checkpoint import SignedCheckpoint
from domain.audit.export import encode_line, event_line, header, trailer
from domain.audit.hashing import ChainLink, LogRow, event_hash
from domain.audit.tree import EventHashTree
from projections.customers.queries import CustomerStore
from projections.customers.queries import anchors_of as covered_anchors
from projections.sqlstore import in_chunks
from projections.timeline.queries import TimelineStore
from services.adapters.clock import Clock, utc_now
from services.adapters.store.eventstore import EventStore, StoredLogEntry
from services.application.audit.service import AuditService, Inconsistent, NotCovered, NotFound, checkpoint_json

PositionResolver = Callable[[str], Sequence[int]]
"""Customer id → the log positions of that customer's events (identity resolution may map one id to several)."""


class CustomerExporter:
    """Writes a customer's events, each with its inclusion proof in the latest signed checkpoint, as JSON Lines."""

    def __init__(self, audit: AuditService, store: EventStore, resolve: PositionResolver, clock: Clock = utc_now,
                 *, page: int = 500, window: int = 256) -> None:
        self._audit, self._store, self._resolve, self._clock = audit, store, resolve, clock
        self._page, self._window = page, window

    def export(self, customer_id: str) -> Iterator[bytes]:
        """The file's lines (each ending in "\\n"). Raises NotFound (no events), NotCovered or Inconsistent here,
        before the first line; Inconsistent while streaming if the store changes under the export."""
        positions = sorted(set(self._resolve(customer_id)))
        if not positions:
            raise NotFound(f"no events recorded for customer {customer_id}")
        checkpoint, key = self._covering(positions[-1])
        tree = self._audit.tree(checkpoint.statement.tree_size)
        if tree.get_size() != checkpoint.statement.tree_size or tree.get_root() != checkpoint.statement.root_hash:
            raise Inconsistent(f"the audit chain no longer matches signed checkpoint {checkpoint.statement.seq}; "
                               "run `touchline audit verify`")
        first = encode_line(header(customer_id, self._clock(), checkpoint_json(checkpoint), key))
        return self._lines(first, positions, checkpoint, tree)

    def _covering(self, newest: int) -> tuple[SignedCheckpoint, Ed25519PublicKey]:
        """The latest checkpoint (it covers everything any checkpoint does) and the trusted key that signed it."""
        try:
            checkpoint = self._audit.checkpoint()
        except NotFound as exc:
            raise NotCovered("no signed checkpoint yet; retry after the chainer issues the first one") from exc
        statement = checkpoint.statement
        if statement.last_position < newest:
            raise NotCovered(f"position {newest} is not covered by a signed checkpoint yet (the latest, "
                             f"{statement.seq}, ends at position {statement.last_position}); retry after the next")
        key = self._audit.trusted_key(checkpoint.key_id)
        if key is None:
            raise Inconsistent(f"checkpoint {statement.seq} is signed by key {checkpoint.key_id}, no longer trusted")
        return checkpoint, key

    def _lines(self, first: bytes, positions: list[int], checkpoint: SignedCheckpoint,
               tree: EventHashTree) -> Iterator[bytes]:
        digest = hashlib.sha256(first)
        yield first
        line = 1
        for page in in_chunks(positions, self._page):
            for row, chained, readable in self._page_of(page, checkpoint):
                line += 1
                proof = tree.prove_inclusion(chained.leaf_index, checkpoint.statement.tree_size).serialize()
                encoded = encode_line(event_line(line, row, chained, proof, readable))
                digest.update(encoded)
                yield encoded
        yield encode_line(trailer(line + 1, line - 1, digest.hexdigest()))

    def _page_of(self, positions: Sequence[int],
                 checkpoint: SignedCheckpoint) -> list[tuple[LogRow, ChainLink, dict[str, Any]]]:
        """Each position's stored row and chain link, checked to agree (the bytes are those that were chained), and
        the event as touchline reads it: the page's rows opened by the event store in one call (sealed values in
        clear, an erased customer's as pseudonyms), as the canonical JSON the event has on the wire."""
        links = {item.position: item for item in self._audit.links(positions)}
        rows = self._rows(positions)
        checked: list[tuple[StoredLogEntry, LogRow, ChainLink]] = []
        for position in positions:
            chained, raw = links.get(position), rows.get(position)
            if chained is None or chained.leaf_index > checkpoint.statement.tree_size:
                raise Inconsistent(f"position {position} is inside checkpoint {checkpoint.statement.seq} but was "
                                   "never chained; run `touchline audit verify`")
            if raw is None:
                raise Inconsistent(f"position {position} was chained but is missing from the log")
            row = LogRow(raw.position, raw.event_id, raw.topic, raw.state)
            if row.event_id != chained.event_id or event_hash(row) != chained.event_hash:
                raise Inconsistent(f"the stored event at position {position} differs from what was chained; "
                                   "run `touchline audit verify`")
            checked.append((raw, row, chained))
        opened = self._store.open([raw for raw, _, _ in checked])
        return [(row, chained, orjson.loads(to_canonical_json(envelope)))
                for (_, row, chained), envelope in zip(checked, opened, strict=True)]

    def _rows(self, positions: Sequence[int]) -> dict[int, StoredLogEntry]:
        """The stored rows at `positions`: one read per window of positions at most `window` apart."""
        wanted = set(positions)
        rows: dict[int, StoredLogEntry] = {}
        for first, last in _windows(positions, self._window):
            for raw in self._store.read_raw(first - 1, last - first + 1, last):
                if raw.position in wanted:
                    rows[raw.position] = raw
        return rows


def _windows(positions: Sequence[int], span: int) -> Iterator[tuple[int, int]]:
    """(first, last) of consecutive runs of ascending `positions`, each run within `span` log positions."""
    first = previous = positions[0]
    for position in positions[1:]:
        if position - first >= span:
            yield first, previous
            first = position
        previous = position
    yield first, previous


def timeline_positions(timeline: TimelineStore, directory: CustomerStore | None = None) -> PositionResolver:
    """A customer's events: the timeline entries of every anchor the resolved customer covers (an id merged into
    another customer is followed to it); without the identity read model, those stored under the id itself."""

    def positions(customer_id: str) -> list[int]:
        anchors = covered_anchors(directory, customer_id) if directory is not None else [customer_id]
        return timeline.positions_of(anchors)

    return positions


def customer_exporter(audit: AuditService, event_store: EventStore, timeline: TimelineStore,
                      clock: Clock = utc_now, directory: CustomerStore | None = None) -> CustomerExporter:
    """What `GET /v1/audit/customers/{id}/export` and `touchline audit export` write."""
    return CustomerExporter(audit, event_store, timeline_positions(timeline, directory), clock)
