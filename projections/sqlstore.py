"""Shared SQLAlchemy plumbing for projection stores: engines, write transactions, tracked positions and the
events a projection parked (`projection_failures`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Container, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from itertools import chain
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    create_engine,
    delete,
    event,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.sql import Select

from domain.instants import epoch_us
from domain.log import RecordedEvent
from projections.protocol import Failure, ProjectionStore, unapplied

metadata = MetaData()

projection_positions = Table(
    "projection_positions",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("position", BigInteger, nullable=False),
)

# One row per (projection, log position) a projection could not apply and skipped; written in the transaction that
# moves the projection's position past the event, so the skip happens once and survives restarts.
projection_failures = Table(
    "projection_failures",
    metadata,
    Column("projection", String(100), primary_key=True),
    Column("position", BigInteger, primary_key=True, autoincrement=False),
    Column("event_id", String(36), nullable=False),
    Column("event_type", String(100), nullable=False),
    Column("error_type", String(200), nullable=False),
    Column("error_message", Text, nullable=False),
    Column("first_failed_us", BigInteger, nullable=False),
    Column("last_failed_us", BigInteger, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("resolved_us", BigInteger),  # set once a rebuild (an operator's retry) applied the event
    Column("retry_requested_us", BigInteger),  # an operator asked the projector to retry (rebuild from zero)
)

_POSTGRES_SCHEMES = {"postgresql", "postgres"}
_WRITE_OPTION = "touchline_write"
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
T = TypeVar("T")
S = TypeVar("S")
K = TypeVar("K")
V = TypeVar("V")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for a postgresql:// (psycopg 3) or sqlite:// URL; SQLite gets WAL, a busy timeout and FKs."""
    parsed = make_url(url)
    if parsed.drivername in _POSTGRES_SCHEMES:
        parsed = parsed.set(drivername="postgresql+psycopg")
    engine = create_engine(parsed, **kwargs)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def url_with_search_path(url: str, schema: str) -> str:
    """A Postgres URL whose connections use `schema` as search_path (unqualified tables land there)."""
    if not _SCHEMA_NAME.match(schema):
        raise ValueError(f"not a plain schema name: {schema!r}")
    parsed = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    return parsed.render_as_string(hide_password=False)


def create_schema(url: str, schema: str) -> None:
    """Create a Postgres schema if it is missing. Two sessions racing on `create schema if not exists` can both
    pass the check and one then fails on the catalogue's unique index, so creators take a transaction-level
    advisory lock on the name first."""
    if not _SCHEMA_NAME.match(schema):
        raise ValueError(f"not a plain schema name: {schema!r}")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("select pg_advisory_xact_lock(hashtext(:key))"), {"key": f"touchline.schema:{schema}"})
            conn.execute(text(f'create schema if not exists "{schema}"'))
    finally:
        engine.dispose()


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """One read-write transaction; on SQLite it starts with BEGIN IMMEDIATE so writers queue, not deadlock."""
    with engine.connect() as conn:
        conn.execution_options(**{_WRITE_OPTION: True})
        with conn.begin():
            yield conn


def insert_rows(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Many new rows (values in `columns` order), without SQLAlchemy's per-row parameter processing: for rows
    known to be new, as a rebuild writes them. Values must be what the driver takes as they are (str, int, None),
    as every projection row is. Postgres through psycopg gets them by COPY, others by the driver's executemany."""
    if not rows:
        return
    quote = conn.dialect.identifier_preparer.quote
    names = ", ".join(quote(c) for c in columns)
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor, cursor.copy(f"COPY {quote(table.name)} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    mark = "?" if conn.dialect.paramstyle in ("qmark", "numeric") else "%s"
    statement = f"INSERT INTO {quote(table.name)} ({names}) VALUES ({', '.join([mark] * len(columns))})"
    conn.exec_driver_sql(statement, [tuple(row) for row in rows])


def upsert_rows(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], keys: Sequence[str] = (),
                update: Sequence[str] | None = None) -> None:
    """Insert `rows` (dicts by column name, all with the same names) in one executemany; a row whose `keys` (a
    primary key or unique index) are taken updates `update` (default: the rows' other columns) from its new
    values, or, without `keys`, leaves the stored row as it is (ON CONFLICT DO NOTHING). As
    `conn.execute(insert.on_conflict_do_update(...), rows)`, without its per-row cost (`execute_rows`)."""
    if rows:
        shape = ("upsert", table, tuple(rows[0]), tuple(keys), None if update is None else tuple(update))
        execute_rows(conn, shape, lambda: _upsert_statement(conn, table, tuple(rows[0]), keys, update), rows)


def insert_records(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """`conn.execute(table.insert(), rows)` without its per-row cost (`execute_rows`)."""
    if rows:
        execute_rows(conn, ("insert", table, tuple(rows[0])), table.insert, rows)


def execute_rows(conn: Connection, shape: tuple[Any, ...], statement: Callable[[], Any],
                 rows: Sequence[Mapping[str, Any]]) -> None:
    """Execute the INSERT that `statement()` builds once per row of `rows` (dicts by column name, all with the
    same names; `shape` names the statement and those names): the SQL SQLAlchemy compiles for the dialect,
    compiled once per shape, given the values without SQLAlchemy's per-row parameter processing, which costs
    more than the database's own work on a projection's batch. Where SQLAlchemy would change the values (bind
    processors of the column types, escaped names, defaults computed in Python: none of the projections' tables
    have any), it executes the statement as usual."""
    key = (conn.dialect.name, conn.dialect.driver, *shape)
    raw = _COMPILED.get(key)
    if raw is None:
        raw = _COMPILED[key] = _raw(conn, statement(), tuple(rows[0]))
    if raw is _PROCESSED:
        conn.execute(statement(), list(rows))
        return
    sql, order = raw
    if order is None:
        conn.exec_driver_sql(sql, list(rows))
    else:
        conn.exec_driver_sql(sql, [tuple([row[name] for name in order]) for row in rows])


_PROCESSED = ("", None)  # a statement whose values SQLAlchemy must process
_COMPILED: dict[tuple[Any, ...], tuple[str, tuple[str, ...] | None]] = {}


def _upsert_statement(conn: Connection, table: Table, names: Sequence[str], keys: Sequence[str],
                      update: Sequence[str] | None) -> Any:
    insert = dialect_insert(conn, table)
    if not keys:
        return insert.on_conflict_do_nothing()
    changed = [name for name in names if name not in keys] if update is None else list(update)
    return insert.on_conflict_do_update(index_elements=list(keys),
                                        set_={name: insert.excluded[name] for name in changed})


def _raw(conn: Connection, statement: Any, names: Sequence[str]) -> tuple[str, tuple[str, ...] | None]:
    """(SQL, the parameters' names in order for a positional driver or None for a named one), or `_PROCESSED`
    when SQLAlchemy would change the values."""
    compiled = statement.compile(dialect=conn.dialect, column_keys=sorted(names), for_executemany=True)
    if (compiled._bind_processors or compiled.escaped_bind_names or compiled.insert_prefetch  # noqa: SLF001
            or compiled.literal_execute_params or compiled.post_compile_params):
        return _PROCESSED
    order = tuple(compiled.positiontup or ()) if compiled.positional else None
    if set(compiled.binds if order is None else order) != set(names):
        return _PROCESSED
    return compiled.string, order


def dialect_insert(conn: Connection, table: Table) -> Any:
    """An INSERT that supports ON CONFLICT on this connection's dialect (Postgres or SQLite)."""
    module = postgresql if conn.dialect.name == "postgresql" else sqlite
    return module.insert(table)


_POSITION = select(projection_positions.c.position).where(projection_positions.c.name == bindparam("name"))
_POSITION_LOCKED = _POSITION.with_for_update()
_POSITIONS = select(projection_positions.c.name, projection_positions.c.position).where(
    projection_positions.c.name.in_(bindparam("names", expanding=True)))


def read_position(conn: Connection, name: str, *, lock: bool = True) -> int:
    """The last applied log position of a projection (0 if none); locks its row on Postgres when `lock`.
    (Statements built once: building and compiling them per batch cost more than the database's work.)"""
    position = conn.execute(_POSITION_LOCKED if lock else _POSITION, {"name": name}).scalar_one_or_none()
    return int(position) if position is not None else 0


def read_positions(engine: Engine, names: Sequence[str]) -> dict[str, int]:
    """The positions of the projections `names` on `engine` (0 for one without a row), in one query."""
    with engine.connect() as conn:
        found = dict(conn.execute(_POSITIONS, {"names": list(names)}).tuples().all())
    return {name: int(found.get(name) or 0) for name in names}


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction in which every statement sees the same state of the database: REPEATABLE READ on
    Postgres (one snapshot for the whole transaction); on SQLite a read transaction in WAL mode already is one.
    A projection's position and rows read in it belong together while a projector keeps writing."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with conn.begin():
            yield conn


def write_position(conn: Connection, name: str, position: int) -> None:
    """Record the last applied log position of a projection (insert or update)."""
    upsert_rows(conn, projection_positions, [{"name": name, "position": position}], ["name"], ["position"])


def ensure_position(conn: Connection, name: str) -> None:
    """Create a projection's position row at 0 if missing, so the first batch has a row to lock."""
    insert = dialect_insert(conn, projection_positions).values(name=name, position=0)
    conn.execute(insert.on_conflict_do_nothing(index_elements=["name"]))


def record_failure(conn: Connection, failure: Failure) -> None:
    """Insert a parked event's failure, or count one more attempt (unresolving it) if it was parked before."""
    at = epoch_us(failure.failed_at)
    insert = dialect_insert(conn, projection_failures).values(
        projection=failure.projection, position=failure.position, event_id=failure.event_id,
        event_type=failure.event_type, error_type=failure.error_type, error_message=failure.error_message,
        first_failed_us=at, last_failed_us=at, attempts=1, resolved_us=None)
    again = {"error_type": insert.excluded.error_type, "error_message": insert.excluded.error_message,
             "last_failed_us": at, "attempts": projection_failures.c.attempts + 1, "resolved_us": None}
    conn.execute(insert.on_conflict_do_update(index_elements=["projection", "position"], set_=again))


STREAM_ROWS = 5_000
"""Rows a streamed read (`streamed`) fetches at a time."""


def streamed(statement: Select[Any]) -> Select[Any]:
    """`statement` read in chunks of STREAM_ROWS rows as it is consumed, however many it finds: a server-side
    cursor on Postgres, whose driver otherwise fetches a whole result at once (SQLite steps through rows anyway)."""
    return statement.execution_options(yield_per=STREAM_ROWS)


def table_rows(conn: Connection, table: Table) -> Iterator[dict[str, Any]]:
    """Every row of `table` as a dict by column name, one by one as they are read (`streamed`: a checksum keeps
    their lines only, not the rows). The names are plain strings (the result's are a subclass, which a checksum
    line would convert row after row)."""
    result = conn.execute(streamed(select(table)))
    names = list(map(str.__str__, result.keys()))
    for row in result.tuples():
        yield dict(zip(names, row, strict=True))


def in_chunks(items: Sequence[T], size: int = 500) -> Iterator[Sequence[T]]:
    """`items` in slices of at most `size`: bound parameters per IN (...) list."""
    return (items[start : start + size] for start in range(0, len(items), size))


def _configure_sqlite(engine: Engine) -> None:
    """Pragmas on connect; SQLAlchemy (not pysqlite) emits BEGIN, so write transactions can be IMMEDIATE."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "busy_timeout=30000", "foreign_keys=ON"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(_WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class SqlProjection:
    """Base of the SQL projection stores: create the tables, track the position, and apply each batch in one
    transaction with its new position. Subclasses name their tables and write a batch in `_apply_batch`."""

    name: str
    tables: tuple[Table, ...] = ()
    rebuild_cost: float = 1.0  # relative CPU per event of a rebuild (bench/rebuild.py): shares rebuild processes

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(self) -> None:
        with write_transaction(self._engine) as conn:
            metadata.create_all(conn, tables=[projection_positions, projection_failures, *self.tables])
            ensure_position(conn, self.name)

    def position(self) -> int:
        with self._engine.connect() as conn:
            return read_position(conn, self.name, lock=False)

    def reset(self) -> None:
        with write_transaction(self._engine) as conn:
            for table in self.tables:
                conn.execute(delete(table))
            write_position(conn, self.name, 0)

    def apply(self, events: Sequence[RecordedEvent]) -> int:
        """Apply what lies past the stored position (locked for the transaction); return the new position."""
        with write_transaction(self._engine) as conn:
            after = read_position(conn, self.name)
            todo = unapplied(events, after)
            if not todo:
                return after
            self._apply_batch(conn, todo)
            write_position(conn, self.name, todo[-1].position)
            return todo[-1].position

    def park(self, failure: Failure) -> int:
        """Skip the event at `failure.position`: record why and move the position to it, in one transaction."""
        with write_transaction(self._engine) as conn:
            after = read_position(conn, self.name)
            if after >= failure.position:
                return after
            record_failure(conn, failure)
            write_position(conn, self.name, failure.position)
            return failure.position

    def rebuilding(self) -> Rebuild:
        """How to rebuild this store from zero (after `reset`): batch by batch unless a store holds its state."""
        return DirectRebuild(self)

    def checksum(self) -> str:
        return self.checksum_at()[1]

    def checksum_at(self) -> tuple[int, str]:
        """(position, checksum), read together in one snapshot while a projector may be writing."""
        with snapshot(self._engine) as conn:
            position = read_position(conn, self.name, lock=False)
            return position, self._checksum(conn, position)

    def _checksum(self, conn: Connection, position: int) -> str:
        """The checksum of the rows as `conn` sees them, with `position` (see projections.checksum)."""
        raise NotImplementedError

    def _apply_batch(self, conn: Connection, events: list[RecordedEvent]) -> None:
        raise NotImplementedError


def positions_of(stores: Sequence[ProjectionStore]) -> dict[str, int]:
    """The position of each store by name: one query per database for the SQL stores (a projector reads them
    before every batch), `position()` for the others."""
    found: dict[str, int] = {}
    by_engine: dict[Engine, list[str]] = {}
    for store in stores:
        if isinstance(store, SqlProjection) and type(store).position is SqlProjection.position:
            by_engine.setdefault(store._engine, []).append(store.name)  # noqa: SLF001 - the store's own engine
        else:
            found[store.name] = store.position()
    for engine, names in by_engine.items():
        found |= read_positions(engine, names)
    return {store.name: found[store.name] for store in stores}


class DecodedMemo(Generic[S]):
    """The states a live store last read or wrote, by key, with the stored text each came from: a text read back
    unchanged is not decoded again (states are immutable and decode(encode(s)) == s). Bounded: emptied once
    `limit` are held."""

    def __init__(self, limit: int = 20_000) -> None:
        self._limit = limit
        self._known: dict[str, tuple[str, S]] = {}

    def decoded(self, key: str, text: str, decode: Callable[[str], S]) -> S:
        """The state of `text` stored under `key`: the one remembered when the text is the same, else decoded."""
        known = self._known.get(key)
        if known is not None and known[0] == text:
            return known[1]
        state = decode(text)
        self.remember(key, text, state)
        return state

    def remember(self, key: str, text: str, state: S) -> None:
        if len(self._known) >= self._limit:
            self._known.clear()
        self._known[key] = (text, state)

    def clear(self) -> None:
        self._known.clear()


class Rebuild(Protocol):
    """A rebuild from zero in progress: `apply` folds batches (in log order), `flush` makes them durable."""

    def apply(self, events: Sequence[RecordedEvent]) -> int:
        """Fold a batch past the position reached; return the position reached (not yet written)."""

    def flush(self) -> int:
        """Write everything folded since the last flush, with the position, in one transaction; return it."""


class DirectRebuild:
    """The default `Rebuild`: every batch is applied (and written) as it comes, as the live projector does."""

    def __init__(self, store: ProjectionStore) -> None:
        self._store = store

    def apply(self, events: Sequence[RecordedEvent]) -> int:
        return self._store.apply(events)

    def flush(self) -> int:
        return self._store.position()


class RebuildChanged(RuntimeError):
    """Someone else wrote the projection while it was being rebuilt (its stored position moved)."""


class HeldRebuild:
    """A rebuild that holds the projection's state in memory across batches and writes only at `flush`: rows that
    many batches change are written once per flush, and new ones as plain inserts.

    Subclasses fold batches (`_fold`), work out what to write before the write transaction starts (`_prepare`:
    on SQLite the transaction holds the database's one write lock, which other rebuild processes wait for), write
    what is new since the last flush and what changed (`_write`, rows of a fresh store, so new rows are plain
    inserts), forget what changed once committed (`_flushed`), and say how much they hold (`_held`). The cases and
    SLA rebuilds prepare only which items to write, and make their rows in the write, a chunk at a time: the rows
    of a whole flush at once took about as much memory again as the state held.

    Memory stays bounded on any log: a batch that leaves more than `max_held` held is written at once (a flush),
    and a flush lets go of items (`_evict`: all are written now) until at most half of `max_held` is held, those
    the flush wrote last. What is held is weighed by its parts (`_held`: a case with its handoffs, stints,
    statements...; an SLA case with its clocks and their handovers), not counted: where cases grow longer, fewer
    of them are held. From then on (`evicted`) a fold first reads back from the store's rows the items its
    batch needs and no longer holds, as the live projector loads them for each batch: what is held is newer than
    the rows, and what is not held is in the rows as it is. Only a store at position 0 (just reset) is rebuilt
    this way.
    """

    rows_chunk = 2_000  # items whose rows a flush makes and writes at a time (where a subclass chunks its write)

    def __init__(self, store: SqlProjection, max_held: int) -> None:
        self._store = store
        self._max_held = max_held
        self._position = self._stored = store.position()
        self._direct = self._stored != 0
        self.evicted = False  # some items were let go: a fold reads back those its batch needs

    def apply(self, events: Sequence[RecordedEvent]) -> int:
        if self._direct:
            return self._store.apply(events)
        todo = unapplied(events, self._position)
        if todo:
            if self.evicted:
                with self._store._engine.connect() as conn:  # noqa: SLF001 - the store's own engine
                    self._reload(conn, todo)
            self._fold(todo)
            self._position = todo[-1].position
            if self._held() > self._max_held:
                self.flush()
        return self._position

    def flush(self) -> int:
        if self._direct:
            return self._store.position()
        if self._position != self._stored:
            prepared = self._prepare()
            with write_transaction(self._store._engine) as conn:  # noqa: SLF001 - the store's own engine
                stored = read_position(conn, self._store.name)
                if stored != self._stored:
                    raise RebuildChanged(f"{self._store.name} moved to {stored} while being rebuilt")
                self._write(conn, prepared)
                write_position(conn, self._store.name, self._position)
            self._stored = self._position
            self._flushed()
        if self._held() > self._max_held // 2:
            self._evict(self._max_held // 2)
            self.evicted = True
        return self._stored

    def _reload(self, conn: Connection, events: list[RecordedEvent]) -> None:
        """Read back from the store's rows what `events` need and is no longer held (the live loading)."""
        raise NotImplementedError

    def _fold(self, events: list[RecordedEvent]) -> None:
        raise NotImplementedError

    def _prepare(self) -> Any:
        raise NotImplementedError

    def _write(self, conn: Connection, prepared: Any) -> None:
        raise NotImplementedError

    def _flushed(self) -> None:
        raise NotImplementedError

    def _held(self) -> int:
        """The weight of what is held (`max_held` bounds it)."""
        raise NotImplementedError

    def _evict(self, keep: int) -> None:
        """Let go of items (all written, none changed since) until they weigh at most `keep`."""
        raise NotImplementedError


class Weights(Generic[K, V]):
    """The weights of the items a held rebuild holds, and their sum, kept up to date for the items a batch, a read
    back or a letting go changed (not by weighing every held item again after each batch)."""

    def __init__(self, weight: Callable[[V], int]) -> None:
        self._weight = weight
        self._each: dict[K, int] = {}
        self.total = 0

    def update(self, held: Mapping[K, V], keys: Iterable[K]) -> None:
        """Weigh `keys` again as `held` has them now (0 for those it no longer has)."""
        each = self._each
        for key in keys:
            item = held.get(key)
            new = 0 if item is None else self._weight(item)
            self.total += new - each.pop(key, 0)
            if new:
                each[key] = new

    def of(self, key: K) -> int:
        return self._each.get(key, 0)


def evictable(held: Iterable[K], recent: Container[K], surplus: int, weight: Callable[[K], int] | None = None
              ) -> list[K]:
    """Keys of `held` (in their order, those not in `recent` first) whose weights add up to at least `surplus`
    (each weighs 1 without `weight`)."""
    gone: list[K] = []
    freed = 0
    for key in chain((k for k in held if k not in recent), (k for k in held if k in recent)):
        if freed >= surplus:
            break
        gone.append(key)
        freed += 1 if weight is None else weight(key)
    return gone
