"""The customer timeline in SQL (SQLite or Postgres): entries, anomalies and case links, each batch written in one
transaction together with its position."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Connection,
    Engine,
    Index,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    false,
    func,
    or_,
    select,
)

from domain.identity.identifiers import customer_key
from domain.instants import epoch_us
from domain.log import RecordedEvent
from projections.checksum import checksum
from projections.sqlstore import SqlProjection, in_chunks, metadata, table_rows, upsert_rows
from projections.timeline.queries import NAME, Activity, PageQuery, TimelinePage, page_of, page_query
from projections.timeline.reducer import KeyFn, TimelineEntry, TimelineOutput, TimelineState, fold, needed_case_ids
from projections.timeline.rows import TABLE_NAMES, case_link_row, entry_from_row, entry_row, unattributed_row

entries_table = Table(
    "timeline_entries",
    metadata,
    Column("customer_id", String(100), nullable=False),
    Column("position", BigInteger, nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("occurred_at", String(40), nullable=False),  # ISO 8601 as given (offset kept)
    Column("occurred_us", BigInteger, nullable=False),  # UTC epoch microseconds: the sort key
    Column("event_type", String(100), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("department", String(63), nullable=False),
    Column("site", String(200)),
    Column("agent", String(200)),
    Column("summary", Text, nullable=False),
    Column("case_id", String(200)),
    PrimaryKeyConstraint("customer_id", "position"),
    UniqueConstraint("customer_id", "event_id", name="uq_timeline_entries_customer_event"),
    Index("ix_timeline_entries_customer_time", "customer_id", "occurred_us", "position"),
)

unattributed_table = Table(
    "timeline_unattributed",
    metadata,
    Column("position", BigInteger, primary_key=True, autoincrement=False),
    Column("event_id", String(36), nullable=False),
    Column("event_type", String(100), nullable=False),
    Column("case_id", String(200)),
    Column("reason", String(32), nullable=False),
)

cases_table = Table(
    "timeline_cases",
    metadata,
    Column("case_id", String(200), primary_key=True),
    Column("customer_id", String(100), nullable=False),
    Column("position", BigInteger, nullable=False),
)

_TABLES = (entries_table, unattributed_table, cases_table)  # in the order of rows.TABLE_NAMES


class SqlTimelineStore(SqlProjection):
    """The timeline in SQL (SQLite or Postgres): each batch is one transaction together with its position."""

    name = NAME
    rebuild_cost = 4.0
    tables = _TABLES

    def __init__(self, engine: Engine, key_fn: KeyFn = customer_key) -> None:
        super().__init__(engine)
        self._key_fn = key_fn

    def _apply_batch(self, conn: Connection, events: list[RecordedEvent]) -> None:
        """Load the case links the batch needs, fold, bulk-write the rows."""
        _, output = fold(events, self._key_fn, self._load_state(conn, needed_case_ids(events)))
        self._write(conn, output)

    def page(
        self,
        customer_id: str | Sequence[str],
        *,
        channel: str | None = None,
        department: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> TimelinePage:
        query = page_query(customer_id, channel, department, since, until, cursor, limit)
        t = entries_table.c
        statement = (
            select(entries_table)
            .where(*_conditions(query))
            .order_by(t.occurred_us, t.position)
            .limit(limit + 1)
        )
        with self._engine.connect() as conn:
            rows = conn.execute(statement).all()
        return page_of([entry_from_row(row._mapping) for row in rows], limit)

    def recent(self, customer_ids: Sequence[str], limit: int, until: datetime | None = None,
               ) -> list[TimelineEntry]:
        t = entries_table.c
        statement = select(entries_table).where(_customer_in(customer_ids))
        if until is not None:
            statement = statement.where(t.occurred_us < epoch_us(until))
        statement = statement.order_by(t.occurred_us.desc(), t.position.desc()).limit(limit)
        with self._engine.connect() as conn:
            return [entry_from_row(row._mapping) for row in conn.execute(statement)]

    def activity(self, customer_ids: Sequence[str], since: datetime, limit: int = 5000) -> list[Activity]:
        t = entries_table.c
        statement = (select(t.occurred_us, t.channel, t.department, t.event_type)
                     .where(_customer_in(customer_ids), t.occurred_us >= epoch_us(since))
                     .order_by(t.occurred_us.desc(), t.position.desc()).limit(limit))
        with self._engine.connect() as conn:
            return [Activity(int(at), channel, department, kind) for at, channel, department, kind in
                    conn.execute(statement)]

    def positions_of(self, customer_ids: Sequence[str]) -> list[int]:
        """Log positions of the entries stored under any of `customer_ids`, ascending (what an export covers)."""
        ids = sorted(set(customer_ids))
        positions: set[int] = set()
        with self._engine.connect() as conn:
            for chunk in in_chunks(ids):
                positions.update(conn.execute(select(entries_table.c.position)
                                              .where(entries_table.c.customer_id.in_(chunk))).scalars())
        return sorted(positions)

    def count_entries(self) -> int:
        return self._count(entries_table)

    def count_unattributed(self) -> int:
        return self._count(unattributed_table)

    def _checksum(self, conn: Connection, position: int) -> str:
        tables = [(name, table_rows(conn, table)) for name, table in zip(TABLE_NAMES, _TABLES, strict=True)]
        return checksum(position, tables)

    def _count(self, table: Table) -> int:
        with self._engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())

    @staticmethod
    def _load_state(conn: Connection, case_ids: frozenset[str]) -> TimelineState:
        ordered = sorted(case_ids)
        cases: dict[str, str] = {}
        for chunk in in_chunks(ordered):
            statement = select(cases_table.c.case_id, cases_table.c.customer_id).where(
                cases_table.c.case_id.in_(chunk)
            )
            cases.update(conn.execute(statement).tuples().all())
        return TimelineState(cases)

    @staticmethod
    def _write(conn: Connection, output: TimelineOutput) -> None:
        if output.entries:
            rows = [entry_row(e) for e in output.entries]
            upsert_rows(conn, entries_table, rows)
        if output.unattributed:
            rows = [unattributed_row(u) for u in output.unattributed]
            upsert_rows(conn, unattributed_table, rows)
        if output.case_links:
            rows = [case_link_row(c) for c in output.case_links]
            upsert_rows(conn, cases_table, rows)


def _conditions(query: PageQuery) -> list[ColumnElement[bool]]:
    t = entries_table.c
    conditions: list[ColumnElement[bool]] = [_customer_in(query.customer_ids)]
    if query.channel is not None:
        conditions.append(t.channel == query.channel)
    if query.department is not None:
        conditions.append(t.department == query.department)
    if query.since_us is not None:
        conditions.append(t.occurred_us >= query.since_us)
    if query.until_us is not None:
        conditions.append(t.occurred_us < query.until_us)
    if query.after is not None:
        at_us, position = query.after
        conditions.append(or_(t.occurred_us > at_us, and_(t.occurred_us == at_us, t.position > position)))
    return conditions


def _customer_in(customer_ids: Sequence[str]) -> ColumnElement[bool]:
    ids = sorted(set(customer_ids))
    t = entries_table.c
    if not ids:
        return false()
    return t.customer_id == ids[0] if len(ids) == 1 else t.customer_id.in_(ids)
