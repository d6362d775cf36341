"""The cases read model in SQL (SQLite or Postgres): each batch is one transaction together with its position."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import fields
from itertools import chain
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Select,
    Table,
    and_,
    delete,
    func,
    or_,
    select,
)

from contracts import CustomerRef
from domain.cases import CaseState
from domain.identity.identifiers import customer_key
from domain.instants import epoch_us
from domain.log import RecordedEvent
from projections.cases.codec import decode
from projections.cases.queries import NAME, CasePage, CaseQuery, ContactQuery, HandoffQuery, page_of
from projections.cases.reducer import CaseFolder, KeyFn, Needs, fold, needs
from projections.cases.rows import AnomalyRow, CaseRows, ContactRow, HandoffRow, lines_checksum, rows_of
from projections.cases.tables import (
    ROW_TYPES,
    TABLES,
    case_anomalies,
    case_contacts,
    case_handoffs,
    case_states,
    from_record,
    record_line,
    record_values,
    to_record,
)
from projections.sqlstore import (
    DecodedMemo,
    HeldRebuild,
    Rebuild,
    SqlProjection,
    Weights,
    evictable,
    in_chunks,
    insert_records,
    insert_rows,
    streamed,
    upsert_rows,
)

_SIDE_TABLES = (case_handoffs, case_contacts, case_anomalies)
MAX_HELD_CASES = 300_000  # the most a rebuild holds, cases weighed by their parts (`weight`): about 45,000 cases
# of the generated log, some KB each; past it, it writes them and lets go of cases until it holds half
_OPEN_GONE_LIMIT = 100_000  # customers of open cases let go that a rebuild remembers (else it asks for all)
_REMEMBERED = 20_000  # decoded states the live store keeps to skip decoding them again


class SqlCasesStore(SqlProjection):
    """Cases in SQL: a batch loads the cases it touches (and contacting customers' open cases), folds, and
    rewrites those cases' rows, all in one transaction with the position."""

    name = NAME
    rebuild_cost = 3.0
    tables = TABLES

    def __init__(self, engine: Engine, key_fn: KeyFn = customer_key) -> None:
        super().__init__(engine)
        self._key_fn = key_fn
        self._decoded = DecodedMemo[CaseState](_REMEMBERED)  # case id -> its stored text and state, last seen

    def reset(self) -> None:
        super().reset()
        self._decoded.clear()

    def _apply_batch(self, conn: Connection, events: list[RecordedEvent]) -> None:
        key_fn = _remembering(self._key_fn)
        changed = fold(events, key_fn, _load(conn, needs(events, key_fn), self._decode))
        rows = [rows_of(state) for state in changed.values()]
        _write(conn, rows)
        for row, state in zip(rows, changed.values(), strict=True):
            self._decoded.remember(row.case.case_id, row.case.state, state)

    def _decode(self, case_id: str, text: str) -> CaseState:
        """The state of a stored text: the one this store last read or wrote when the text is the same."""
        return self._decoded.decoded(case_id, text, decode)

    def rebuilding(self, max_held: int = MAX_HELD_CASES) -> Rebuild:
        """A rebuild from zero that folds every batch into cases held in memory and writes each changed case's
        rows once per flush (the rows are those the live projector writes); past `max_held` (cases weighed by
        their parts, `weight`) at a flush it lets go of the others and reads back those a later batch needs."""
        return _CasesRebuild(self, self._key_fn, max_held)

    def case(self, case_id: str) -> CaseState | None:
        with self._engine.connect() as conn:
            text = conn.execute(select(case_states.c.state).where(case_states.c.case_id == case_id)).scalar()
        return decode(text) if text is not None else None

    def cases(self, query: CaseQuery) -> CasePage:
        c = case_states.c
        statement = (select(c.state).where(*_case_conditions(query)).order_by(c.opened_us, c.case_id)
                     .limit(query.limit + 1))
        with self._engine.connect() as conn:
            return page_of([decode(text) for text in conn.execute(statement).scalars()], query.limit)

    def count(self, query: CaseQuery) -> int:
        statement = select(func.count()).select_from(case_states).where(*_case_conditions(query.unpaged()))
        with self._engine.connect() as conn:
            return int(conn.execute(statement).scalar_one())

    def handoffs(self, query: HandoffQuery) -> list[HandoffRow]:
        t = case_handoffs.c
        conditions = [
            *_equal(t.from_department, query.from_department), *_equal(t.to_department, query.to_department),
            *([t.handed_us >= epoch_us(query.since)] if query.since else []),
            *([t.handed_us < epoch_us(query.until)] if query.until else []),
            *([t.outcome == "pending"] if query.pending else []),
        ]
        return self._rows(case_handoffs, select(case_handoffs).where(*conditions).order_by(t.case_id, t.seq))

    def contacts(self, query: ContactQuery) -> list[ContactRow]:
        t = case_contacts.c
        conditions = [
            *_equal(t.department, query.department), *_equal(t.channel, query.channel),
            *([t.occurred_us >= epoch_us(query.since)] if query.since else []),
            *([t.occurred_us < epoch_us(query.until)] if query.until else []),
        ]
        return self._rows(case_contacts, select(case_contacts).where(*conditions).order_by(t.case_id, t.position))

    def anomalies(self, kind: str | None = None) -> list[AnomalyRow]:
        t = case_anomalies.c
        statement = select(case_anomalies).where(*_equal(t.kind, kind)).order_by(t.case_id, t.position, t.kind)
        return self._rows(case_anomalies, statement)

    def _checksum(self, conn: Connection, position: int) -> str:
        names = ("cases", "handoffs", "contacts", "anomalies")
        return lines_checksum(position, ((name, _stored_lines(conn, table))
                                         for name, table in zip(names, TABLES, strict=True)))

    def _rows(self, table: Table, statement: Select[Any]) -> list[Any]:
        with self._engine.connect() as conn:
            return [from_record(table, row._mapping) for row in conn.execute(statement)]


def _stored_lines(conn: Connection, table: Table) -> Iterator[str]:
    """The checksum lines of a table's stored rows, as they are read (the checksum sorts them in bounded memory)."""
    order = [f.name for f in fields(ROW_TYPES[table])]
    for record in conn.execute(streamed(select(table))).tuples():
        yield record_line(table, order, record)


def _load(conn: Connection, wanted: Needs, decoded: Callable[[str, str], CaseState]) -> dict[str, CaseState]:
    """The stored cases a batch needs: by id, and every open case of the customers it routes contacts for."""
    c = case_states.c
    found: dict[str, CaseState] = {}
    for chunk in in_chunks(sorted(wanted.case_ids)):
        found.update(_states(conn, select(c.case_id, c.state).where(c.case_id.in_(chunk)), decoded))
    for chunk in in_chunks(sorted(wanted.customer_ids)):
        statement = select(c.case_id, c.state).where(c.customer_id.in_(chunk), c.status != "resolved")
        found.update(_states(conn, statement, decoded))
    return found


def _states(conn: Connection, statement: Select[Any], decoded: Callable[[str, str], CaseState]
            ) -> Iterable[tuple[str, CaseState]]:
    return ((case_id, decoded(case_id, text)) for case_id, text in conn.execute(statement).tuples())


def _remembering(key_fn: KeyFn) -> KeyFn:
    """`key_fn` working out each distinct customer reference of a batch once (for `needs` and `fold` alike)."""
    known: dict[CustomerRef, str | None] = {}

    def key(customer: CustomerRef) -> str | None:
        try:
            return known[customer]
        except KeyError:
            found = known[customer] = key_fn(customer)
            return found

    return key


def _write(conn: Connection, rows: list[CaseRows]) -> None:
    """Upsert the changed cases' rows and replace their handoff, contact and anomaly rows."""
    if not rows:
        return
    upsert_rows(conn, case_states, [to_record(r.case) for r in rows], ["case_id"],
                [c.name for c in case_states.columns if c.name != "case_id"])
    for chunk in in_chunks(sorted(r.case.case_id for r in rows)):
        for table in _SIDE_TABLES:
            conn.execute(delete(table).where(table.c.case_id.in_(chunk)))
    for table, part in zip(_SIDE_TABLES, ("handoffs", "contacts", "anomalies"), strict=True):
        insert_records(conn, table, [to_record(row) for r in rows for row in getattr(r, part)])


class _CasesRebuild(HeldRebuild):
    def __init__(self, store: SqlCasesStore, key_fn: KeyFn, max_held: int) -> None:
        super().__init__(store, max_held)
        self._key_fn = key_fn
        self._folder = CaseFolder(key_fn)
        self._dirty: set[str] = set()
        self._written: set[str] = set()  # held cases whose rows are stored (a flush wrote them, or read back)
        self._recent: set[str] = set()  # the cases the last flush wrote
        self._open_gone: set[str] | None = set()  # customers of open cases let go (None: too many to say)
        self._weights: Weights[str, CaseState] = Weights(weight)

    def _reload(self, conn: Connection, events: list[RecordedEvent]) -> None:
        """The cases the batch needs that are not held, and the open cases of its contacting customers that are
        not held, as the live store loads them (only for customers some of whose open cases were let go)."""
        held = self._folder.cases
        wanted = needs(events, self._key_fn)
        customers = wanted.customer_ids if self._open_gone is None else wanted.customer_ids & self._open_gone
        missing = Needs(frozenset(case_id for case_id in wanted.case_ids if case_id not in held), customers)
        found = {case_id: state for case_id, state in _load(conn, missing, _decode).items() if case_id not in held}
        self._folder.hold(found)
        self._weights.update(held, found.keys())
        self._written |= found.keys()

    def _fold(self, events: list[RecordedEvent]) -> None:
        changed = self._folder.fold(events)
        self._weights.update(self._folder.cases, changed)
        self._dirty |= changed

    def _prepare(self) -> list[str]:
        """The changed cases, in order. Their rows are worked out in the write, a chunk at a time (as in the SLA
        rebuild): a flush writes up to about 50,000 cases, whose rows (the states' JSON above all) took about
        150 MB at once. The write lock is held longer for it, which only rebuild processes sharing one SQLite
        file notice (bench/rebuild.py)."""
        return sorted(self._dirty)

    def _write(self, conn: Connection, prepared: list[str]) -> None:
        for chunk in in_chunks(sorted(self._dirty & self._written)):
            for table in (*_SIDE_TABLES, case_states):
                conn.execute(delete(table).where(table.c.case_id.in_(chunk)))
        cases = self._folder.cases
        for chunk in in_chunks(prepared, self.rows_chunk):
            fresh = [rows_of(cases[case_id]) for case_id in chunk]
            insert_rows(conn, case_states, *record_values(case_states, [r.case for r in fresh]))
            for table, part in zip(_SIDE_TABLES, ("handoffs", "contacts", "anomalies"), strict=True):
                insert_rows(conn, table, *record_values(table, [row for r in fresh for row in getattr(r, part)]))

    def _flushed(self) -> None:
        self._written |= self._dirty
        self._recent, self._dirty = self._dirty, set()

    def _held(self) -> int:
        return self._weights.total

    def _evict(self, keep: int) -> None:
        """Let go of resolved cases first: contacts are routed to open ones."""
        cases = self._folder.cases
        order = chain((c for c, state in cases.items() if not state.is_open),
                      (c for c, state in cases.items() if state.is_open))
        gone = evictable(list(order), self._recent, self._held() - keep, self._weights.of)
        if self._open_gone is not None:
            self._open_gone.update(customer for c in gone
                                   if cases[c].is_open and (customer := cases[c].customer_id) is not None)
            if len(self._open_gone) > _OPEN_GONE_LIMIT:
                self._open_gone = None
        self._folder.forget(gone)
        self._weights.update(cases, gone)
        self._written.difference_update(gone)
        self._recent = set()


def weight(state: CaseState) -> int:
    """A held case's weight: itself and its parts. Its memory grows with them (a case bounced between departments
    holds a handoff and a stint per department, most of its size), so a bound on weight bounds memory where a bound
    on cases did not: on a log whose cases grow longer, 40,000 cases held took 466 MB at 400,000 events and 614 MB
    at 800,000 (bench/rebuild.py)."""
    return (1 + len(state.handoffs) + len(state.stints) + len(state.promises) + len(state.contacts)
            + len(state.statements) + len(state.given) + len(state.anomalies))


def _decode(_case_id: str, text: str) -> CaseState:
    return decode(text)


def _case_conditions(query: CaseQuery) -> list[ColumnElement[bool]]:
    c = case_states.c
    conditions = [*_equal(c.holder, query.holder), *_equal(c.customer_id, query.customer_id),
                  *_equal(c.pending_to, query.pending_to)]
    if query.customer_ids:
        conditions.append(c.customer_id.in_(sorted(set(query.customer_ids))))
    if query.statuses:
        conditions.append(c.status.in_(query.statuses))
    if query.opened_before is not None:
        conditions.append(c.opened_us < epoch_us(query.opened_before))
    if query.opened_after is not None:
        conditions.append(c.opened_us >= epoch_us(query.opened_after))
    if query.min_returns:
        conditions.append(c.returns >= query.min_returns)
    if query.min_repeat_contacts:
        conditions.append(c.repeat_contacts >= query.min_repeat_contacts)
    if query.with_anomalies:
        conditions.append(c.anomalies > 0)
    if query.involving is not None:
        conditions.append(_involving(query.involving))
    if (after := query.after) is not None:
        at_us, case_id = after
        conditions.append(or_(c.opened_us > at_us, and_(c.opened_us == at_us, c.case_id > case_id)))
    return conditions


def _involving(department: str) -> ColumnElement[bool]:
    """The SQL form of `projections.cases.queries.involves`: the holder, or either end of one of its handoffs."""
    c, h = case_states.c, case_handoffs.c
    handed = select(h.case_id).where(or_(h.from_department == department, h.to_department == department))
    return or_(c.holder == department, c.case_id.in_(handed))


def _equal(column: Any, value: str | None) -> list[ColumnElement[bool]]:
    return [] if value is None else [column == value]
