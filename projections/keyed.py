"""Read models kept as keyed rows: a pure fold over a `KeyedState` (tables of frozen rows by key), held in memory
or loaded from SQL a batch at a time. A row type is a frozen dataclass whose first field is its key and whose
values are str, int or None; its table has a column per field (text or 64-bit integer)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from operator import attrgetter
from typing import Any, get_args, get_type_hints

from sqlalchemy import BigInteger, Column, Connection, Engine, Index, MetaData, Table, Text, select

from contracts import CustomerRef
from domain.log import RecordedEvent
from projections.checksum import checksum
from projections.protocol import MemoryProjection
from projections.sqlstore import SqlProjection, in_chunks, read_position, snapshot, streamed, upsert_rows

Row = Any  # a frozen dataclass instance whose first field is its key
KeyFn = Callable[[CustomerRef], str | None]
Needs = dict[str, set[str]]  # table name -> keys a batch may read


@dataclass(frozen=True, slots=True)
class RowKind:
    """A table of the state: its name and row type."""

    name: str
    row: type[Any]

    @property
    def key(self) -> str:
        return fields(self.row)[0].name


class KeyedState:
    """Tables of rows by key, and the keys a fold changed since the last `take_changed`."""

    def __init__(self, kinds: Sequence[RowKind]) -> None:
        self.kinds = {kind.name: kind for kind in kinds}
        self.tables: dict[str, dict[str, Row]] = {kind.name: {} for kind in kinds}
        self.changed: dict[str, set[str]] = {kind.name: set() for kind in kinds}

    def get(self, table: str, key: str) -> Row | None:
        return self.tables[table].get(key)

    def put(self, table: str, key: str, row: Row) -> None:
        if self.tables[table].get(key) != row:
            self.tables[table][key] = row
            self.changed[table].add(key)

    def take_changed(self) -> dict[str, list[Row]]:
        """The changed rows per table (sorted by key), forgetting the marks."""
        out = {name: [self.tables[name][key] for key in sorted(keys)] for name, keys in self.changed.items()}
        self.changed = {name: set() for name in self.changed}
        return out

    def rows(self, table: str) -> list[Row]:
        held = self.tables[table]
        return [held[key] for key in sorted(held)]


@dataclass(frozen=True, slots=True)
class Reducer:
    """A keyed projection's pure rules, bound to how customers are keyed: its tables, the keys per table a batch
    may read (what the SQL store loads before folding it), and the fold (events in log order into a state)."""

    kinds: tuple[RowKind, ...]
    needs_of: Callable[[Iterable[RecordedEvent], KeyFn], Needs]
    fold_into: Callable[[KeyedState, Iterable[RecordedEvent], KeyFn], None]
    key_fn: KeyFn

    def needs(self, events: Iterable[RecordedEvent]) -> Needs:
        return self.needs_of(events, self.key_fn)

    def fold(self, state: KeyedState, events: Iterable[RecordedEvent]) -> None:
        self.fold_into(state, events, self.key_fn)


def state_checksum(position: int, kinds: Sequence[RowKind], rows: Callable[[str], Iterable[Row]]) -> str:
    """The checksum of every table's rows (as dicts of their fields) with the position."""
    return checksum(position, [(kind.name, (record_of(row) for row in rows(kind.name))) for kind in kinds])


def record_key(row: Row) -> Any:
    """A row's key: its first field."""
    return getattr(row, _field_names(type(row))[0])


def record_of(row: Row) -> dict[str, Any]:
    """`dataclasses.asdict` of a row without its deep copies (measurable in a rebuild's profile): a row's fields
    are ints, text or None (`table_of`), with nothing to copy; a row holding anything else takes `asdict`."""
    record = {name: getattr(row, name) for name in _field_names(type(row))}
    if all(value is None or type(value) in _FLAT for value in record.values()):
        return record
    return asdict(row)


_FLAT = frozenset({int, str, float, bool})


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(kind: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(kind)
    if names is None:
        names = _FIELD_NAMES[kind] = tuple(f.name for f in fields(kind))
    return names


CHANGED_AT = "changed_at"


def table_of(kind: RowKind, metadata: MetaData, tracked: bool = False) -> Table:
    """The SQL table of a row type: its key as primary key; int fields as BIGINT, others as TEXT; optional
    fields nullable. `tracked`: also `changed_at`, the log position of the batch that last wrote the row (indexed;
    not part of the row, nor of the checksum), so a reader can follow what changed (`changed_since`)."""
    hints = get_type_hints(kind.row)
    columns = []
    for index, f in enumerate(fields(kind.row)):
        hint = hints[f.name]
        types = set(get_args(hint)) or {hint}
        options: dict[str, Any] = {"primary_key": index == 0, "autoincrement": False,
                                   "nullable": type(None) in types}
        columns.append(Column(f.name, BigInteger, **options) if int in types else Column(f.name, Text, **options))
    if not tracked:
        return Table(kind.name, metadata, *columns)
    changed = Column(CHANGED_AT, BigInteger, nullable=False, server_default="0")
    return Table(kind.name, metadata, *columns, changed, Index(f"ix_{kind.name}_{CHANGED_AT}", CHANGED_AT))


class KeyedMemoryProjection(MemoryProjection):
    """A keyed read model in process memory: the whole state, folded batch after batch."""

    def __init__(self, reducer: Reducer) -> None:
        self._reducer = reducer
        self.kinds = reducer.kinds
        self.reset()

    def _clear(self) -> None:
        self._state = KeyedState(self.kinds)
        self._changed_at: dict[tuple[str, str], int] = {}

    def _fold(self, events: list[RecordedEvent]) -> None:
        self._reducer.fold(self._state, events)
        for name, rows in self._state.take_changed().items():
            for row in rows:
                self._changed_at[(name, record_key(row))] = events[-1].position

    def rows(self, table: str) -> list[Row]:
        return self._state.rows(table)

    def changed_since(self, after: int) -> tuple[int, dict[str, list[Row]]]:
        found: dict[str, list[Row]] = {kind.name: [] for kind in self.kinds}
        for (name, key), position in sorted(self._changed_at.items()):
            if position > after:
                found[name].append(self._state.tables[name][key])
        return self._position, found

    def checksum(self) -> str:
        return state_checksum(self._position, self.kinds, self._state.rows)


class KeyedSqlProjection(SqlProjection):
    """A keyed read model in SQL: a batch loads the rows it needs, folds, and upserts the rows it changed, in the
    transaction that writes the position. Subclasses set `tables` (`table_of` each of the reducer's kinds)."""

    def __init__(self, engine: Engine, reducer: Reducer) -> None:
        super().__init__(engine)
        self._reducer = reducer
        self.kinds = reducer.kinds

    def _table(self, name: str) -> Table:
        return next(table for table in self.tables if table.name == name)

    def _select(self, name: str) -> Any:
        """The row's columns of a table, in field order (without `changed_at`)."""
        kind, table = next(k for k in self.kinds if k.name == name), self._table(name)
        return select(*(table.c[f] for f in _field_names(kind.row)))

    def _apply_batch(self, conn: Connection, events: list[RecordedEvent]) -> None:
        state = KeyedState(self.kinds)
        for name, keys in self._reducer.needs(events).items():
            kind, table = state.kinds[name], self._table(name)
            for chunk in in_chunks(sorted(keys)):
                for record in conn.execute(self._select(name).where(table.c[kind.key].in_(chunk))):
                    state.tables[name][record[0]] = kind.row(*record)
        self._reducer.fold(state, events)
        for name, rows in state.take_changed().items():
            if rows:
                table = self._table(name)
                records = [record_of(row) for row in rows]
                if CHANGED_AT in table.c:
                    records = [r | {CHANGED_AT: events[-1].position} for r in records]
                _upsert(conn, table, records)

    def changed_since(self, after: int) -> tuple[int, dict[str, list[Row]]]:
        """(the store's position, the rows of each tracked table written by a batch past log position `after`),
        read in one snapshot."""
        found: dict[str, list[Row]] = {}
        with snapshot(self._engine) as conn:
            position = read_position(conn, self.name, lock=False)
            for kind in self.kinds:
                table = self._table(kind.name)
                if CHANGED_AT not in table.c:
                    raise TypeError(f"{table.name} does not track changes (table_of(..., tracked=True))")
                query = self._select(kind.name).where(table.c[CHANGED_AT] > after)
                found[kind.name] = [kind.row(*record) for record in conn.execute(query)]
        return position, found

    def rows(self, table: str) -> list[Row]:
        with self._engine.connect() as conn:
            return self._rows(conn, table)

    def _rows(self, conn: Connection, name: str) -> list[Row]:
        kind = next(k for k in self.kinds if k.name == name)
        return sorted(self._streamed_rows(conn, name), key=attrgetter(kind.key))  # Python's order, not the collation's

    def _streamed_rows(self, conn: Connection, name: str) -> Iterator[Row]:
        """A table's rows as they are read, in no order (a checksum sorts their lines, in bounded memory)."""
        kind = next(k for k in self.kinds if k.name == name)
        return (kind.row(*record) for record in conn.execute(streamed(self._select(name))))

    def _checksum(self, conn: Connection, position: int) -> str:
        return state_checksum(position, self.kinds, lambda name: self._streamed_rows(conn, name))


def _upsert(conn: Connection, table: Table, records: Sequence[Mapping[str, Any]]) -> None:
    upsert_rows(conn, table, records, [c.name for c in table.primary_key.columns],
                [c.name for c in table.columns if not c.primary_key])
