"""What is hashed: each log row's bytes bound to its position and id, and the chain over those hashes.

leaf(row)   = position (8 bytes, big-endian) ‖ event_id (16 bytes) ‖ len(topic) (4 bytes, big-endian) ‖ topic (UTF-8)
              ‖ state (the stored canonical JSON, as stored)
event_hash  = SHA-256(0x00 ‖ leaf)                  the RFC 9162 leaf hash, so it is also the Merkle tree's leaf
chain_hash  = SHA-256(previous chain_hash ‖ event_hash), starting from 32 zero bytes (GENESIS)

Binding the position means a row moved, swapped or renumbered no longer hashes the same.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from uuid import UUID

HASH_ALGORITHM = "sha256"
GENESIS = bytes(32)
LEAF_PREFIX = b"\x00"


@dataclass(frozen=True, slots=True)
class LogRow:
    """A raw row of the event store's global log."""

    position: int
    event_id: UUID
    topic: str
    state: bytes


@dataclass(frozen=True, slots=True)
class ChainLink:
    """What the chainer recorded for one log position; `leaf_index` counts chained events from 1."""

    position: int
    event_id: UUID
    leaf_index: int
    event_hash: bytes
    chain_hash: bytes


def leaf_bytes(row: LogRow) -> bytes:
    topic = row.topic.encode()
    return struct.pack(">Q", row.position) + row.event_id.bytes + struct.pack(">I", len(topic)) + topic + row.state


def event_hash(row: LogRow) -> bytes:
    """The RFC 9162 leaf hash of the row's leaf bytes."""
    return hashlib.sha256(LEAF_PREFIX + leaf_bytes(row)).digest()


def chain_hash(previous: bytes, event_digest: bytes) -> bytes:
    return hashlib.sha256(previous + event_digest).digest()


def link(row: LogRow, previous: ChainLink | None) -> ChainLink:
    """The chain link of `row` following `previous` (None for the first event of the log)."""
    digest = event_hash(row)
    before, index = (GENESIS, 0) if previous is None else (previous.chain_hash, previous.leaf_index)
    return ChainLink(row.position, row.event_id, index + 1, digest, chain_hash(before, digest))
