"""Verification: recompute every event hash from the log, compare with the recorded chain and the signed
checkpoints, and name the first bad position and why.

The log rows are the evidence; the recorded chain (what the chainer saw when each event was new) and the signed
checkpoints (Merkle roots nobody can re-sign without the key) are what they are checked against. An attacker who
rewrites both the log and the chain table is still caught by the first checkpoint covering the change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from domain.audit.checkpoint import SignedCheckpoint, signature_valid
from domain.audit.hashing import GENESIS, ChainLink, LogRow, chain_hash, event_hash
from domain.audit.tree import EventHashTree

Locate = Callable[[UUID], int | None]  # event id → the position the chain recorded it at (None if never)


class Reason(StrEnum):
    HASH_MISMATCH = "hash mismatch"  # the row's bytes (or id) differ from what was chained at that position
    MISSING = "missing"  # a chained (or checkpointed) event is no longer in the log
    UNEXPECTED = "unexpected"  # a row inside the chained range that the chainer never saw
    OUT_OF_ORDER = "out of order"  # the row holds an event that was chained at another position
    CHAIN_MISMATCH = "chain mismatch"  # the chain table disagrees with the hashes recomputed from the log
    CHECKPOINT_MISMATCH = "checkpoint root mismatch"  # the recomputed tree differs from a signed checkpoint
    BAD_SIGNATURE = "bad signature"  # a checkpoint not signed by a trusted key


@dataclass(frozen=True, slots=True)
class Finding:
    position: int
    reason: Reason
    detail: str
    checkpoint: int | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    checked: int  # log rows recomputed
    last_position: int  # last log position checked
    checkpoints_verified: int
    unchained: int  # rows after the chain's head (not yet seen by the chainer; covered once chained)
    complete: bool  # False when stopped at a limit
    finding: Finding | None = None

    @property
    def ok(self) -> bool:
        return self.finding is None


def verify_log(
    rows: Iterable[LogRow],
    links: Iterable[ChainLink],
    checkpoints: Sequence[SignedCheckpoint],
    keys: dict[str, Ed25519PublicKey],
    *,
    locate: Locate | None = None,
    limit: int | None = None,
) -> Verdict:
    """Walk the log from its start; stop at the first finding (or after `limit` rows)."""
    walk = _Walk(checkpoints, keys, locate)
    for row, chained, tail in _merge(rows, links):
        if limit is not None and walk.checked >= limit:
            return walk.verdict(complete=False)
        finding = walk.step(row, chained, tail)
        if finding is not None:
            return walk.verdict(complete=False, finding=finding)
    return walk.verdict(complete=True, finding=walk.leftover_checkpoint())


class _Walk:
    def __init__(self, checkpoints: Sequence[SignedCheckpoint], keys: dict[str, Ed25519PublicKey],
                 locate: Locate | None) -> None:
        self.pending = sorted(checkpoints, key=lambda c: c.statement.seq)
        self.keys, self.locate = keys, locate
        self.tree = EventHashTree()
        self.previous = GENESIS
        self.checked = self.last_position = self.verified = self.unchained = 0
        self.covered_from = 0  # last position of the last verified checkpoint

    def step(self, row: LogRow | None, chained: ChainLink | None, tail: bool) -> Finding | None:
        if row is None:
            assert chained is not None
            return Finding(chained.position, Reason.MISSING, f"event {chained.event_id} was chained here")
        if chained is None and not tail:
            return Finding(row.position, Reason.UNEXPECTED, f"event {row.event_id} was never chained")
        digest = event_hash(row)
        if chained is not None and (finding := self._against_link(row, chained, digest)) is not None:
            return finding
        self.unchained += chained is None
        self.previous = chain_hash(self.previous, digest)
        self.tree.extend([digest])
        self.checked, self.last_position = self.checked + 1, row.position
        return self._checkpoints_at(row.position)

    def _against_link(self, row: LogRow, chained: ChainLink, digest: bytes) -> Finding | None:
        if row.event_id != chained.event_id or digest != chained.event_hash:
            elsewhere = self.locate(row.event_id) if self.locate else None
            if elsewhere is not None and elsewhere != row.position:
                return Finding(row.position, Reason.OUT_OF_ORDER,
                               f"event {row.event_id} was chained at position {elsewhere}")
            return Finding(row.position, Reason.HASH_MISMATCH,
                           f"stored bytes of event {row.event_id} differ from those chained")
        if chained.chain_hash != chain_hash(self.previous, digest) or chained.leaf_index != self.tree.get_size() + 1:
            return Finding(row.position, Reason.CHAIN_MISMATCH, "the recorded chain link does not follow")
        return None

    def _checkpoints_at(self, position: int) -> Finding | None:
        size = self.tree.get_size()
        while self.pending and self.pending[0].statement.tree_size == size:
            checkpoint = self.pending.pop(0)
            if (finding := self._checkpoint(checkpoint, position)) is not None:
                return finding
            self.verified, self.covered_from = self.verified + 1, position
        return None

    def _checkpoint(self, checkpoint: SignedCheckpoint, position: int) -> Finding | None:
        statement = checkpoint.statement
        if not signature_valid(checkpoint, self.keys):
            return Finding(statement.last_position, Reason.BAD_SIGNATURE,
                           f"checkpoint {statement.seq} is not signed by a trusted key ({checkpoint.key_id})",
                           statement.seq)
        if (statement.last_position != position or statement.root_hash != self.tree.get_root()
                or statement.chain_head != self.previous):
            return Finding(statement.last_position, Reason.CHECKPOINT_MISMATCH,
                           f"the log differs from signed checkpoint {statement.seq} somewhere in positions "
                           f"{self.covered_from + 1}..{statement.last_position}", statement.seq)
        return None

    def leftover_checkpoint(self) -> Finding | None:
        """A signed checkpoint covering more events than the log holds: events were removed from its end."""
        if not self.pending:
            return None
        statement = self.pending[0].statement
        return Finding(statement.last_position, Reason.MISSING,
                       f"checkpoint {statement.seq} signed {statement.tree_size} events; the log holds "
                       f"{self.tree.get_size()}", statement.seq)

    def verdict(self, *, complete: bool, finding: Finding | None = None) -> Verdict:
        return Verdict(self.checked, self.last_position, self.verified, self.unchained, complete, finding)


def _merge(rows: Iterable[LogRow], links: Iterable[ChainLink]
           ) -> Iterator[tuple[LogRow | None, ChainLink | None, bool]]:
    """(row, link, past the chain's head) in position order; either side None where the other has a position."""
    row_it, link_it = iter(rows), iter(links)
    row, chained = next(row_it, None), next(link_it, None)
    while row is not None or chained is not None:
        if chained is None or (row is not None and row.position < chained.position):
            yield row, None, chained is None
            row = next(row_it, None)
        elif row is None or chained.position < row.position:
            yield None, chained, False
            chained = next(link_it, None)
        else:
            yield row, chained, False
            row, chained = next(row_it, None), next(link_it, None)
