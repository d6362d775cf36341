"""Customer timeline read model: the store protocol and its in-memory and SQL (SQLite, Postgres) stores."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from typing import Any, Protocol

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Connection,
    Engine,
    Index,
    Integer,
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

from domain.identity.identifiers import Identifier, customer_key
from domain.log import RecordedEvent
from projections.checksum import checksum
from projections.cursor import InvalidCursor, pack, unpack
from projections.protocol import MemoryProjection
from projections.sqlstore import SqlProjection, dialect_insert, metadata
from projections.timeline.reducer import (
    CaseLink,
    IdentifierSighting,
    KeyFn,
    TimelineEntry,
    TimelineOutput,
    TimelineState,
    Unattributed,
    epoch_us,
    fold,
    in_timeline_order,
    needed_case_ids,
)

NAME = "timeline"
_IN_CHUNK = 500  # bound parameters per IN (...) list
_CURSOR = re.compile(r"(-?[0-9]{1,20}):([0-9]{1,20})")


@dataclass(frozen=True, slots=True)
class TimelinePage:
    """One page of a timeline; `next_cursor` is None on the last page."""

    entries: tuple[TimelineEntry, ...]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class Activity:
    """When, where and what: enough of an entry to count contacts by channel and type."""

    occurred_us: int
    channel: str
    department: str
    event_type: str


@dataclass(frozen=True, slots=True)
class CustomerMatch:
    """A customer an identifier was seen on: how many events carried it, first and last log position."""

    customer_id: str
    events: int
    first_position: int
    last_position: int


class TimelineStore(Protocol):
    """Where the timeline is kept.

    `apply` takes events in any order and with redeliveries: events at or below the stored position are skipped,
    the rest are applied in log order in one transaction together with the new position (exactly-once effect).
    Entries are stored under the event's anchor (`customer_key`); a resolved customer covers one or more anchors,
    so the queries take one id or several. `page` lists those entries ascending by (occurred_us, position);
    `since` is inclusive, `until` exclusive; `cursor` is the previous page's `next_cursor` (InvalidCursor if
    malformed). `recent` lists the newest entries first; `activity` the (time, channel, type) of entries since an
    instant, newest first, for counting contacts.
    `checksum` is a sha256 of the position and every row of every table (equal content, equal checksum).
    """

    name: str

    def create(self) -> None: ...
    def position(self) -> int: ...
    def reset(self) -> None: ...
    def apply(self, events: Sequence[RecordedEvent]) -> int: ...
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
    ) -> TimelinePage: ...
    def customers_for(self, identifier: Identifier) -> list[CustomerMatch]: ...
    def recent(self, customer_ids: Sequence[str], limit: int) -> list[TimelineEntry]: ...
    def activity(self, customer_ids: Sequence[str], since: datetime, limit: int = 5000) -> list[Activity]: ...
    def positions_of(self, customer_ids: Sequence[str]) -> list[int]: ...
    def count_entries(self) -> int: ...
    def count_unattributed(self) -> int: ...
    def checksum(self) -> str: ...


def encode_cursor(entry: TimelineEntry) -> str:
    """An opaque cursor pointing just after `entry` in timeline order."""
    return pack(f"{entry.occurred_us}:{entry.position}")


def decode_cursor(cursor: str) -> tuple[int, int]:
    """The (occurred_us, position) a cursor points after; InvalidCursor if it is not one of ours."""
    match = unpack(cursor, _CURSOR, "timeline")
    return int(match[1]), int(match[2])


@dataclass(frozen=True, slots=True)
class _Query:
    """A validated page request: filters in the stored representation."""

    customer_ids: tuple[str, ...]
    channel: str | None
    department: str | None
    since_us: int | None
    until_us: int | None
    after: tuple[int, int] | None
    limit: int

    def accepts(self, entry: TimelineEntry) -> bool:
        return (
            (self.channel is None or entry.channel == self.channel)
            and entry.customer_id in self.customer_ids
            and (self.department is None or entry.department == self.department)
            and (self.since_us is None or entry.occurred_us >= self.since_us)
            and (self.until_us is None or entry.occurred_us < self.until_us)
            and (self.after is None or entry.sort_key > self.after)
        )


def _query(
    customer_id: str | Sequence[str],
    channel: str | None,
    department: str | None,
    since: datetime | None,
    until: datetime | None,
    cursor: str | None,
    limit: int,
) -> _Query:
    """Validate page arguments: `since` inclusive, `until` exclusive, both aware; limit at least 1."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    return _Query(
        customer_ids=(customer_id,) if isinstance(customer_id, str) else tuple(sorted(set(customer_id))),
        channel=str(channel) if channel is not None else None,
        department=department,
        since_us=epoch_us(since) if since is not None else None,
        until_us=epoch_us(until) if until is not None else None,
        after=decode_cursor(cursor) if cursor is not None else None,
        limit=limit,
    )


def _page(rows: Sequence[TimelineEntry], limit: int) -> TimelinePage:
    """The first `limit` of up to limit + 1 ordered rows, with a cursor when more follow."""
    entries = tuple(rows[:limit])
    more = len(rows) > limit
    return TimelinePage(entries, encode_cursor(entries[-1]) if more else None)


@dataclass(slots=True)
class _Tally:
    events: int
    first_position: int
    last_position: int


def _tally(sightings: Iterable[IdentifierSighting]) -> dict[tuple[str, str, str], _Tally]:
    """Sightings of a batch aggregated per (kind, value, customer_id)."""
    tallies: dict[tuple[str, str, str], _Tally] = {}
    for s in sightings:
        key = (str(s.kind), s.value, s.customer_id)
        tally = tallies.get(key)
        if tally is None:
            tallies[key] = _Tally(1, s.position, s.position)
        else:
            tally.events += 1
            tally.first_position = min(tally.first_position, s.position)
            tally.last_position = max(tally.last_position, s.position)
    return tallies


def _matches(rows: Iterable[tuple[str, int, int, int]]) -> list[CustomerMatch]:
    matches = [CustomerMatch(c, int(n), int(first), int(last)) for c, n, first, last in rows]
    return sorted(matches, key=lambda m: (m.first_position, m.customer_id))


class MemoryTimelineStore(MemoryProjection):
    """The timeline in process memory: the reference implementation of the protocol, for unit tests."""

    name = NAME

    def __init__(self, key_fn: KeyFn = customer_key) -> None:
        self._key_fn = key_fn
        self.reset()

    def _clear(self) -> None:
        self._state = TimelineState()
        self._entries: dict[str, dict[str, TimelineEntry]] = {}  # customer_id -> event_id -> entry
        self._unattributed: dict[int, Unattributed] = {}
        self._tallies: dict[tuple[str, str, str], _Tally] = {}
        self._case_links: dict[str, dict[str, Any]] = {}

    def _fold(self, events: list[RecordedEvent]) -> None:
        self._state, output = fold(events, self._key_fn, self._state)
        self._record(output)

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
        query = _query(customer_id, channel, department, since, until, cursor, limit)
        return _page(in_timeline_order(e for e in self._mine(query.customer_ids) if query.accepts(e))[: limit + 1],
                     limit)

    def recent(self, customer_ids: Sequence[str], limit: int) -> list[TimelineEntry]:
        return in_timeline_order(self._mine(customer_ids))[::-1][:limit]

    def activity(self, customer_ids: Sequence[str], since: datetime, limit: int = 5000) -> list[Activity]:
        since_us = epoch_us(since)
        newest = in_timeline_order(e for e in self._mine(customer_ids) if e.occurred_us >= since_us)[::-1]
        return [_activity(e) for e in newest[:limit]]

    def _mine(self, customer_ids: Iterable[str]) -> Iterable[TimelineEntry]:
        return chain.from_iterable(self._entries.get(c, {}).values() for c in set(customer_ids))

    def customers_for(self, identifier: Identifier) -> list[CustomerMatch]:
        kind, value = str(identifier.kind), identifier.value
        return _matches(
            (c, t.events, t.first_position, t.last_position)
            for (k, v, c), t in self._tallies.items()
            if (k, v) == (kind, value)
        )

    def positions_of(self, customer_ids: Sequence[str]) -> list[int]:
        """Log positions of the entries stored under any of `customer_ids`, ascending (what an export covers)."""
        return sorted({e.position for c in set(customer_ids) for e in self._entries.get(c, {}).values()})

    def count_entries(self) -> int:
        return sum(len(entries) for entries in self._entries.values())

    def count_unattributed(self) -> int:
        return len(self._unattributed)

    def checksum(self) -> str:
        tallies = ({"kind": k, "value": v, "customer_id": c, "events": t.events, "first_position": t.first_position,
                    "last_position": t.last_position} for (k, v, c), t in self._tallies.items())
        return checksum(self._position, [
            ("entries", (_entry_to_row(e) for entries in self._entries.values() for e in entries.values())),
            ("identifiers", tallies),
            ("unattributed", (_unattributed_to_row(u) for u in self._unattributed.values())),
            ("cases", self._case_links.values()),
        ])

    def _record(self, output: TimelineOutput) -> None:
        for entry in output.entries:
            self._entries.setdefault(entry.customer_id, {}).setdefault(entry.event_id, entry)
        for anomaly in output.unattributed:
            self._unattributed.setdefault(anomaly.position, anomaly)
        for link in output.case_links:
            self._case_links.setdefault(link.case_id, _case_link_row(link))
        for key, tally in _tally(output.sightings).items():
            known = self._tallies.get(key)
            self._tallies[key] = tally if known is None else _Tally(
                known.events + tally.events,
                min(known.first_position, tally.first_position),
                max(known.last_position, tally.last_position),
            )


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

identifiers_table = Table(
    "timeline_identifiers",
    metadata,
    Column("kind", String(32), nullable=False),
    Column("value", String(320), nullable=False),
    Column("customer_id", String(100), nullable=False),
    Column("events", Integer, nullable=False),
    Column("first_position", BigInteger, nullable=False),
    Column("last_position", BigInteger, nullable=False),
    PrimaryKeyConstraint("kind", "value", "customer_id"),
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

_TABLES = (entries_table, identifiers_table, unattributed_table, cases_table)
_ENTRY_COLUMNS = tuple(c.name for c in entries_table.columns)


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
        query = _query(customer_id, channel, department, since, until, cursor, limit)
        t = entries_table.c
        statement = (
            select(entries_table)
            .where(*_conditions(query))
            .order_by(t.occurred_us, t.position)
            .limit(limit + 1)
        )
        with self._engine.connect() as conn:
            rows = conn.execute(statement).all()
        return _page([_entry_from_row(row._mapping) for row in rows], limit)

    def recent(self, customer_ids: Sequence[str], limit: int) -> list[TimelineEntry]:
        t = entries_table.c
        statement = (select(entries_table).where(_customer_in(customer_ids))
                     .order_by(t.occurred_us.desc(), t.position.desc()).limit(limit))
        with self._engine.connect() as conn:
            return [_entry_from_row(row._mapping) for row in conn.execute(statement)]

    def activity(self, customer_ids: Sequence[str], since: datetime, limit: int = 5000) -> list[Activity]:
        t = entries_table.c
        statement = (select(t.occurred_us, t.channel, t.department, t.event_type)
                     .where(_customer_in(customer_ids), t.occurred_us >= epoch_us(since))
                     .order_by(t.occurred_us.desc(), t.position.desc()).limit(limit))
        with self._engine.connect() as conn:
            return [Activity(int(at), channel, department, kind) for at, channel, department, kind in
                    conn.execute(statement)]

    def customers_for(self, identifier: Identifier) -> list[CustomerMatch]:
        t = identifiers_table.c
        statement = select(t.customer_id, t.events, t.first_position, t.last_position).where(
            t.kind == str(identifier.kind), t.value == identifier.value
        )
        with self._engine.connect() as conn:
            return _matches(conn.execute(statement).tuples())

    def positions_of(self, customer_ids: Sequence[str]) -> list[int]:
        """Log positions of the entries stored under any of `customer_ids`, ascending (what an export covers)."""
        ids = sorted(set(customer_ids))
        positions: set[int] = set()
        with self._engine.connect() as conn:
            for start in range(0, len(ids), _IN_CHUNK):
                chunk = ids[start : start + _IN_CHUNK]
                positions.update(conn.execute(select(entries_table.c.position)
                                              .where(entries_table.c.customer_id.in_(chunk))).scalars())
        return sorted(positions)

    def count_entries(self) -> int:
        return self._count(entries_table)

    def count_unattributed(self) -> int:
        return self._count(unattributed_table)

    def _checksum(self, conn: Connection, position: int) -> str:
        tables = [(name, [dict(r._mapping) for r in conn.execute(select(table))])
                  for name, table in zip(("entries", "identifiers", "unattributed", "cases"), _TABLES, strict=True)]
        return checksum(position, tables)

    def _count(self, table: Table) -> int:
        with self._engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())

    @staticmethod
    def _load_state(conn: Connection, case_ids: frozenset[str]) -> TimelineState:
        ordered = sorted(case_ids)
        cases: dict[str, str] = {}
        for start in range(0, len(ordered), _IN_CHUNK):
            chunk = ordered[start : start + _IN_CHUNK]
            statement = select(cases_table.c.case_id, cases_table.c.customer_id).where(
                cases_table.c.case_id.in_(chunk)
            )
            cases.update(conn.execute(statement).tuples().all())
        return TimelineState(cases)

    @staticmethod
    def _write(conn: Connection, output: TimelineOutput) -> None:
        if output.entries:
            rows = [_entry_to_row(e) for e in output.entries]
            conn.execute(dialect_insert(conn, entries_table).on_conflict_do_nothing(), rows)
        if output.unattributed:
            rows = [_unattributed_to_row(u) for u in output.unattributed]
            conn.execute(dialect_insert(conn, unattributed_table).on_conflict_do_nothing(), rows)
        if output.case_links:
            rows = [_case_link_row(c) for c in output.case_links]
            conn.execute(dialect_insert(conn, cases_table).on_conflict_do_nothing(), rows)
        if output.sightings:
            _upsert_tallies(conn, _tally(output.sightings))


def _upsert_tallies(conn: Connection, tallies: dict[tuple[str, str, str], _Tally]) -> None:
    """Add a batch's identifier tallies to the stored ones (one row per identifier and customer)."""
    insert = dialect_insert(conn, identifiers_table)
    t, new = identifiers_table.c, insert.excluded
    # Two-argument LEAST/GREATEST on Postgres, scalar MIN/MAX on SQLite.
    postgres = conn.dialect.name == "postgresql"
    smaller, larger = (func.least, func.greatest) if postgres else (func.min, func.max)
    statement = insert.on_conflict_do_update(
        index_elements=["kind", "value", "customer_id"],
        set_={
            "events": t.events + new.events,
            "first_position": smaller(t.first_position, new.first_position),
            "last_position": larger(t.last_position, new.last_position),
        },
    )
    rows = [
        {"kind": k, "value": v, "customer_id": c, "events": tally.events,
         "first_position": tally.first_position, "last_position": tally.last_position}
        for (k, v, c), tally in tallies.items()
    ]
    conn.execute(statement, rows)


def _conditions(query: _Query) -> list[ColumnElement[bool]]:
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


def _activity(entry: TimelineEntry) -> Activity:
    return Activity(entry.occurred_us, entry.channel, entry.department, entry.event_type)


def _entry_to_row(entry: TimelineEntry) -> dict[str, Any]:
    row = {name: getattr(entry, name) for name in _ENTRY_COLUMNS}
    row["occurred_at"] = entry.occurred_at.isoformat()
    return row


def _entry_from_row(row: Any) -> TimelineEntry:
    values = {name: row[name] for name in _ENTRY_COLUMNS}
    values["occurred_at"] = datetime.fromisoformat(values["occurred_at"])
    return TimelineEntry(**values)


def _case_link_row(link: CaseLink) -> dict[str, Any]:
    return {"case_id": link.case_id, "customer_id": link.customer_id, "position": link.position}


def _unattributed_to_row(anomaly: Unattributed) -> dict[str, Any]:
    return {"position": anomaly.position, "event_id": anomaly.event_id, "event_type": anomaly.event_type,
            "case_id": anomaly.case_id, "reason": str(anomaly.reason)}


__all__ = [
    "Activity",
    "CustomerMatch",
    "InvalidCursor",
    "MemoryTimelineStore",
    "SqlTimelineStore",
    "TimelinePage",
    "TimelineStore",
    "decode_cursor",
    "encode_cursor",
]
