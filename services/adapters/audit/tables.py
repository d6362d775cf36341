"""The audit tables, next to the event store's tables in the event-store database (and its schema)."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import BigInteger, Boolean, Column, Engine, LargeBinary, MetaData, Row, String, Table

from domain.audit.checkpoint import CheckpointStatement, SignedCheckpoint
from domain.audit.hashing import ChainLink
from domain.instants import from_epoch_us
from services.adapters.databases import open_store_database
from services.adapters.settings import Settings

metadata = MetaData()

audit_chain = Table(
    "audit_chain",
    metadata,
    Column("position", BigInteger, primary_key=True, autoincrement=False),
    Column("event_id", String(36), nullable=False),
    Column("leaf_index", BigInteger, nullable=False, unique=True),
    Column("event_hash", LargeBinary(32), nullable=False),
    Column("chain_hash", LargeBinary(32), nullable=False),
    Column("recorded_us", BigInteger, nullable=False, index=True),  # UTC µs when the chainer saw the event
)

audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("tree_size", BigInteger, nullable=False),
    Column("last_position", BigInteger, nullable=False),
    Column("root_hash", LargeBinary(32), nullable=False),
    Column("chain_head", LargeBinary(32), nullable=False),
    Column("issued_us", BigInteger, nullable=False),
    Column("signature", LargeBinary(64), nullable=False),
    Column("key_id", String(32), nullable=False),
    Column("published", Boolean, nullable=False, default=False),
)


def open_audit_engine(settings: Settings) -> Engine:
    """An engine on the event-store database, in TOUCHLINE_DB_SCHEMA when set, with the audit tables created."""
    engine = open_store_database(settings)
    metadata.create_all(engine)
    return engine


def link_of(row: Row) -> ChainLink:
    return ChainLink(row.position, UUID(row.event_id), row.leaf_index, bytes(row.event_hash), bytes(row.chain_hash))


def checkpoint_of(row: Row) -> SignedCheckpoint:
    statement = CheckpointStatement(row.seq, row.tree_size, row.last_position, bytes(row.root_hash),
                                    bytes(row.chain_head), from_epoch_us(row.issued_us))
    return SignedCheckpoint(statement, bytes(row.signature), row.key_id)
