"""SQL contacts store (SQLite, Postgres): one row per fact, written with the position in one transaction."""

from __future__ import annotations

from datetime import datetime
from sys import intern
from typing import Any

from sqlalchemy import BigInteger, Column, Connection, Engine, Index, Integer, String, Table, select

from domain.identity.identifiers import customer_key
from domain.instants import epoch_us
from domain.log import RecordedEvent
from domain.quality.facts import Fact
from projections.checksum import checksum
from projections.contacts.memory import TABLE
from projections.contacts.queries import NAME
from projections.contacts.reducer import COLUMNS, KeyFn, fact_row, fold, row_fact
from projections.sqlstore import SqlProjection, insert_rows, metadata, table_rows

quality_contact_facts = Table(
    TABLE,
    metadata,
    Column("position", BigInteger, primary_key=True, autoincrement=False),
    Column("event_id", String(36), nullable=False),
    Column("kind", String(100), nullable=False),
    Column("occurred_us", BigInteger, nullable=False),
    Column("anchor", String(36)),
    Column("case_id", String),
    Column("channel", String, nullable=False),
    Column("department", String, nullable=False),
    Column("agent", String),
    Column("contact", Integer, nullable=False),
    Column("detail", String),
    Column("due_us", BigInteger),
    Column("gap", BigInteger),
    Index("ix_quality_contact_facts_occurred", "occurred_us"),
)


class SqlContactsStore(SqlProjection):
    name = NAME
    tables = (quality_contact_facts,)

    def __init__(self, engine: Engine, key_fn: KeyFn = customer_key) -> None:
        super().__init__(engine)
        self._key_fn = key_fn

    def _apply_batch(self, conn: Connection, events: list[RecordedEvent]) -> None:
        added = fold({}, events, self._key_fn)  # positions past the stored one are new by construction
        rows = [fact_row(added[p]) for p in sorted(added)]
        insert_rows(conn, quality_contact_facts, COLUMNS, [[row[c] for c in COLUMNS] for row in rows])

    def facts(self, until: datetime | None = None) -> list[Fact]:
        query = select(quality_contact_facts).order_by(quality_contact_facts.c.position)
        if until is not None:
            query = query.where(quality_contact_facts.c.occurred_us <= epoch_us(until))
        with self._engine.connect() as conn:
            return [row_fact(row) for row in conn.execute(query).mappings()]

    def facts_after(self, position: int, limit: int) -> list[Fact]:
        t = quality_contact_facts
        query = select(*(t.c[name] for name in COLUMNS)).where(t.c.position > position).order_by(t.c.position)
        with self._engine.connect() as conn:
            return [_interned(*row) for row in conn.execute(query.limit(limit))]

    def _checksum(self, conn: Connection, position: int) -> str:
        return checksum(position, [(TABLE, table_rows(conn, quality_contact_facts))])


def _interned(position: int, event_id: str, kind: str, occurred_us: int, anchor: str | None, case_id: str | None,
              channel: str, department: str, agent: str | None, *rest: Any) -> Fact:
    """A fact whose repeated texts (type, anchor, channel, department, agent) are shared between facts: a reader
    holding many facts (the live quality index) keeps one copy of each."""
    return Fact(position, event_id, intern(kind), occurred_us, None if anchor is None else intern(anchor), case_id,
                intern(channel), intern(department), None if agent is None else intern(agent), *rest)
