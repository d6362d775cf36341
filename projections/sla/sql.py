"""The SLA read model in SQL (SQLite or Postgres): case state as JSON, indexes for clocks, promises, alerts."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Table,
    and_,
    case,
    delete,
    func,
    select,
)

from contracts import SlaPolicyPublishedPayload
from domain.instants import epoch_us
from domain.log import RecordedEvent
from domain.sla.case import CaseSla
from domain.sla.clock import Clock
from domain.sla.ledger import Promise, PromiseStatus
from domain.sla.policy import Policy, PolicyBook
from projections.checksum import checksum
from projections.sla.codec import (
    alert_from_row,
    alert_row,
    decode_case,
    encode_case,
    promise_from,
)
from projections.sla.queries import NAME, AlertQuery, GroupBy, LedgerLine, PromiseQuery, latest_due_first
from projections.sla.reducer import (
    Alert,
    Needs,
    SlaChanges,
    SlaFolder,
    SlaState,
    fold,
    needs,
    standing_alert_ids,
)
from projections.sla.rows import TABLE_NAMES, clock_row, policy_row, promise_row
from projections.sla.tables import (
    TABLES,
    alerts_table,
    cases_table,
    clocks_table,
    policies_table,
    promises_table,
)
from projections.sqlstore import (
    DecodedMemo,
    HeldRebuild,
    Rebuild,
    SqlProjection,
    Weights,
    dialect_insert,
    evictable,
    in_chunks,
    insert_records,
    insert_rows,
    table_rows,
    upsert_rows,
)

_ALERT_CHANGES = ("state", "acknowledged_by", "acknowledged_at", "note", "resolved_at", "retracted_at",
                  "retraction_reason")  # what acknowledgements, resolutions and retractions change on a row
MAX_HELD = 300_000  # the most a rebuild holds, SLA cases weighed by their parts (`weight`) and alerts one each;
# past it, it writes them and lets go of cases, then alerts, until it holds half
_REMEMBERED = 20_000  # decoded case documents the live store keeps to skip decoding them again



class SqlSlaStore(SqlProjection):
    """SLA clocks, promises and alerts in SQL; each batch is one transaction together with its position."""

    name = NAME
    rebuild_cost = 4.0
    tables = TABLES

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self._policies: dict[int, Policy] = {}  # recorded versions never change: parse each once
        self._decoded = DecodedMemo[CaseSla](_REMEMBERED)  # case key -> its stored document and state, last seen

    def reset(self) -> None:
        super().reset()
        self._policies.clear()
        self._decoded.clear()

    def _apply_batch(self, conn: Connection, events: list[RecordedEvent]) -> None:
        """Load the cases and alerts the batch touches, fold, and write what changed."""
        before = self._load(conn, events)
        state, changes = fold(events, before)
        self._write(conn, state, changes, before.cases)

    def rebuilding(self, max_held: int = MAX_HELD) -> Rebuild:
        """A rebuild from zero that folds every batch into SLA state held in memory and writes each changed
        case's rows (its clocks' next alert instants computed once) and each alert once per flush; past
        `max_held` (cases weighed by their parts, `weight`; an alert weighs 1) at a flush it lets go of the
        others and reads back those a later batch needs."""
        return _SlaRebuild(self, max_held)

    def policies(self) -> PolicyBook:
        with self._engine.connect() as conn:
            return self._book(conn)

    def case(self, case_id: str) -> CaseSla | None:
        with self._engine.connect() as conn:
            found = self._cases(conn, [case_id], self._book(conn))
        return found.get(case_id)

    def due_clocks(self, now: datetime, limit: int = 500) -> list[Clock]:
        t = clocks_table.c
        statement = (select(t.clock_id, t.case_key).where(t.next_alert_us <= epoch_us(now))
                     .order_by(t.next_alert_us).limit(limit))
        with self._engine.connect() as conn:
            rows = conn.execute(statement).tuples().all()
            cases = self._cases(conn, sorted({key for _, key in rows}), self._book(conn))
        clocks = (cases[key].clock(clock_id) for clock_id, key in rows if key in cases)
        return [clock for clock in clocks if clock is not None]

    def alerts(self, query: AlertQuery) -> list[Alert]:
        t = alerts_table.c
        statement = (select(alerts_table).where(*_alert_conditions(query))
                     .order_by(t.occurred_us.desc(), t.position.desc()).limit(query.limit))
        with self._engine.connect() as conn:
            return [alert_from_row(row._mapping) for row in conn.execute(statement)]

    def alert(self, alert_id: str) -> Alert | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(alerts_table).where(alerts_table.c.alert_id == alert_id)).first()
        return alert_from_row(row._mapping) if row is not None else None

    def promises(self, query: PromiseQuery, now: datetime) -> list[Promise]:
        t = promises_table.c
        statement = (select(t.data).where(*_promise_conditions(query, now))
                     .order_by(t.due_us.desc()).limit(query.limit))
        with self._engine.connect() as conn:
            found = [promise_from(orjson.loads(data)) for data in conn.execute(statement).scalars()]
        return latest_due_first(found)

    def promise_summary(self, by: GroupBy, query: PromiseQuery, now: datetime) -> list[LedgerLine]:
        t = promises_table.c
        column = {"agent": t.agent, "department": t.department, "customer": t.customer_id}[by]
        status = _status(epoch_us(now))
        statement = (select(column, status, func.count()).where(*_promise_conditions(query, now))
                     .group_by(column, status))
        lines: dict[str | None, dict[str, int]] = {}
        with self._engine.connect() as conn:
            for key, found, count in conn.execute(statement).tuples():
                counts = lines.setdefault(key, {s.value: 0 for s in PromiseStatus})
                counts[found] = int(count)
        result = [LedgerLine(key, counts) for key, counts in lines.items()]
        return sorted(result, key=lambda line: (-line.total, line.key or ""))

    def _checksum(self, conn: Connection, position: int) -> str:
        return checksum(position, [(name, table_rows(conn, table)) for name, table in zip(TABLE_NAMES, TABLES,
                                                                                         strict=True)])

    def _book(self, conn: Connection) -> PolicyBook:
        known = set(self._policies)
        statement = select(policies_table.c.version, policies_table.c.payload)
        if known:
            statement = statement.where(policies_table.c.version.not_in(sorted(known)))
        for version, payload in conn.execute(statement).tuples():
            self._policies[version] = Policy(SlaPolicyPublishedPayload.model_validate_json(payload))
            self._decoded.clear()  # documents decoded before may name this version's calendars
        return PolicyBook(tuple(sorted(self._policies.values(), key=lambda p: p.version)))

    def _load(self, conn: Connection, events: Sequence[RecordedEvent]) -> SlaState:
        wanted = needs(events)
        book = self._book(conn)
        cases = self._cases(conn, sorted(wanted.case_keys), book, self._decode)
        return SlaState(book, cases, _alerts(conn, alerts_needed(wanted, cases)))

    def _decode(self, key: str, data: str, book: PolicyBook) -> CaseSla:
        """The case of a stored document: the one this store last read or wrote when the document is the same
        (and no policy was added since), decoded otherwise."""
        return self._decoded.decoded(key, data, lambda text: decode_case(text, book))

    @staticmethod
    def _cases(conn: Connection, keys: Sequence[str], book: PolicyBook,
               decoded: Callable[[str, str, PolicyBook], CaseSla] | None = None) -> dict[str, CaseSla]:
        cases: dict[str, CaseSla] = {}
        for chunk in in_chunks(keys):
            rows = conn.execute(select(cases_table.c.key, cases_table.c.data).where(cases_table.c.key.in_(chunk)))
            if decoded is None:
                cases.update((key, decode_case(data, book)) for key, data in rows.tuples())
            else:
                cases.update((key, decoded(key, data, book)) for key, data in rows.tuples())
        return cases

    def _write(self, conn: Connection, state: SlaState, changes: SlaChanges,
               before: Mapping[str, CaseSla] | None = None) -> None:
        """Write what `changes` names; with the cases as they were `before` the batch, only the clocks and
        promises that changed (the same objects are the same rows)."""
        for version in changes.policies:
            policy = state.policies.version(version)
            assert policy is not None
            conn.execute(dialect_insert(conn, policies_table).on_conflict_do_nothing(), [policy_row(policy)])
        touched = [state.cases[key] for key in sorted(changes.cases)]
        if touched and before is None:
            _write_cases(conn, touched)
        elif touched and before is not None:
            for written, data in zip(touched, _write_changed_cases(conn, touched, before), strict=True):
                self._decoded.remember(written.key, data, written)
        alerts = [alert_row(state.alerts[alert_id]) for alert_id in sorted(changes.alerts)]
        upsert_rows(conn, alerts_table, alerts, ["alert_id"], _ALERT_CHANGES)


class _SlaRebuild(HeldRebuild):
    _folder: SlaFolder
    _cases: set[str]
    _alerts: set[str]
    _policies: dict[int, None]
    _written_cases: dict[str, CaseSla]  # held cases whose rows are stored, as stored (a flush wrote or read them)
    _written_alerts: set[str]
    _recent: set[str]  # the cases and alerts the last flush wrote

    def __init__(self, store: SqlSlaStore, max_held: int) -> None:
        super().__init__(store, max_held)
        self._folder = SlaFolder()
        self._cases, self._alerts, self._policies = set(), set(), {}
        self._written_cases, self._written_alerts, self._recent = {}, set(), set()
        self._weights: Weights[str, CaseSla] = Weights(weight)

    def _reload(self, conn: Connection, events: list[RecordedEvent]) -> None:
        """The cases the batch needs that are not held, and the alerts it needs (named, or standing on the
        clocks of its cases) that are not held, as the live store loads them."""
        held_cases, held_alerts = self._folder.cases, self._folder.alerts
        wanted = needs(events)
        cases = SqlSlaStore._cases(conn, sorted(k for k in wanted.case_keys if k not in held_cases),  # noqa: SLF001
                                   self._folder.policies)
        held_cases.update(cases)
        self._weights.update(held_cases, cases.keys())
        self._written_cases.update(cases)
        touched = {key: held_cases[key] for key in wanted.case_keys if key in held_cases}
        alerts = _alerts(conn, {a for a in alerts_needed(wanted, touched) if a not in held_alerts})
        held_alerts.update(alerts)
        self._written_alerts |= alerts.keys()

    def _fold(self, events: list[RecordedEvent]) -> None:
        changes = self._folder.fold(events)
        self._weights.update(self._folder.cases, changes.cases)
        self._cases |= changes.cases
        self._alerts |= changes.alerts
        self._policies.update(dict.fromkeys(changes.policies))

    def _prepare(self) -> tuple[list[str], list[str]]:
        """The cases and alerts not written yet, in order. As in the cases rebuild, their rows (plain inserts), and
        those of the cases written before and changed since, are worked out in the write, a chunk at a time: those
        of a whole flush, the cases' JSON above all, took about as much memory again as the cases held."""
        return sorted(self._cases - self._written_cases.keys()), sorted(self._alerts - self._written_alerts)

    def _write(self, conn: Connection, prepared: tuple[list[str], list[str]]) -> None:
        state = self._folder.state()
        alerts_again = SlaChanges(frozenset(), frozenset(self._alerts & self._written_alerts), tuple(self._policies))
        self._store._write(conn, state, alerts_again)  # type: ignore[attr-defined]  # noqa: SLF001
        again = sorted(self._cases & self._written_cases.keys())  # as the live store writes a batch's changes:
        for chunk in in_chunks(again, self.rows_chunk):  # only the clocks and promises that are not the ones written
            _write_changed_cases(conn, [state.cases[key] for key in chunk], self._written_cases)
        keys, alert_ids = prepared
        for chunk in in_chunks(keys, self.rows_chunk):
            fresh = [state.cases[key] for key in chunk]
            _insert(conn, cases_table, [_case_row(c) for c in fresh])
            _insert(conn, clocks_table, [clock_row(c.key, clock) for c in fresh for clock in c.clocks])
            _insert(conn, promises_table, [promise_row(c.key, p) for c in fresh for p in c.promises])
        for chunk in in_chunks(alert_ids, self.rows_chunk):
            _insert(conn, alerts_table, [alert_row(state.alerts[alert_id]) for alert_id in chunk])

    def _flushed(self) -> None:
        held = self._folder.cases
        self._written_cases.update((key, held[key]) for key in self._cases)
        self._written_alerts |= self._alerts
        self._recent = self._cases | self._alerts
        self._cases, self._alerts, self._policies = set(), set(), {}

    def _held(self) -> int:
        return self._weights.total + len(self._folder.alerts)

    def _evict(self, keep: int) -> None:
        cases, alerts = self._folder.cases, self._folder.alerts
        surplus = self._held() - keep
        gone_alerts = evictable(alerts, self._recent, surplus - self._weights.total)  # cases go first, then alerts
        gone_cases = evictable(cases, self._recent, surplus - len(gone_alerts), self._weights.of)
        for key in gone_cases:
            del cases[key]
        self._weights.update(cases, gone_cases)
        for alert_id in gone_alerts:
            del alerts[alert_id]
        for key in gone_cases:
            del self._written_cases[key]
        self._written_alerts.difference_update(gone_alerts)
        self._recent = set()


def weight(case: CaseSla) -> int:
    """A held SLA case's weight: itself, its clocks with their pauses and handovers, and its promises (a case
    bounced between departments holds a handover per department on each clock: see cases' `weight`)."""
    return 1 + len(case.promises) + sum(1 + len(c.pauses) + len(c.handovers) for c in case.clocks)


def alerts_needed(wanted: Needs, cases: Mapping[str, CaseSla]) -> set[str]:
    """The alerts a batch reads: those it names, and those standing on the clocks of its cases (as they were)."""
    return set(wanted.alert_ids) | {alert_id for case in cases.values() for alert_id in standing_alert_ids(case)}


def _alerts(conn: Connection, alert_ids: set[str]) -> dict[str, Alert]:
    alerts: dict[str, Alert] = {}
    for chunk in in_chunks(sorted(alert_ids)):
        rows = conn.execute(select(alerts_table).where(alerts_table.c.alert_id.in_(chunk)))
        alerts.update((row.alert_id, alert_from_row(row._mapping)) for row in rows)
    return alerts


def _insert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    columns = [c.name for c in table.columns]
    insert_rows(conn, table, columns, [tuple(row[name] for name in columns) for row in rows])


def _case_row(case: CaseSla) -> dict[str, Any]:
    return {"key": case.key, "case_id": case.case_id, "data": encode_case(case).decode()}


def _write_changed_cases(conn: Connection, cases: Sequence[CaseSla], before: Mapping[str, CaseSla]) -> list[str]:
    """Upsert the case documents, and the clock and promise rows of the clocks and promises that are not the
    very objects the cases held `before` (the rows of those are already stored); return the documents."""
    rows = [_case_row(c) for c in cases]
    upsert_rows(conn, cases_table, rows, ["key"], ["data"])
    clocks: list[dict[str, Any]] = []
    promises: list[dict[str, Any]] = []
    gone_clocks: list[str] = []
    gone_promises: list[tuple[str, str]] = []
    for now in cases:
        old = before.get(now.key)
        kept = {id(c) for c in old.clocks} if old is not None else set()
        clocks += [clock_row(now.key, c) for c in now.clocks if id(c) not in kept]
        kept = {id(p) for p in old.promises} if old is not None else set()
        promises += [promise_row(now.key, p) for p in now.promises if id(p) not in kept]
        if old is not None:
            gone_clocks += sorted({c.clock_id for c in old.clocks} - {c.clock_id for c in now.clocks})
            gone_promises += [(now.key, p) for p in sorted({p.promise_id for p in old.promises}
                                                           - {p.promise_id for p in now.promises})]
    for chunk in in_chunks(gone_clocks):
        conn.execute(delete(clocks_table).where(clocks_table.c.clock_id.in_(chunk)))
    for key, promise_id in gone_promises:
        conn.execute(delete(promises_table).where(promises_table.c.case_key == key,
                                                  promises_table.c.promise_id == promise_id))
    _upsert(conn, clocks_table, ["clock_id"], clocks)
    _upsert(conn, promises_table, ["case_key", "promise_id"], promises)
    return [row["data"] for row in rows]


def _upsert(conn: Connection, table: Table, keys: list[str], rows: list[dict[str, Any]]) -> None:
    upsert_rows(conn, table, rows, keys, [c.name for c in table.columns if c.name not in keys])


def _write_cases(conn: Connection, cases: Sequence[CaseSla]) -> None:
    """Upsert the case documents and replace their clock and promise index rows."""
    keys = [c.key for c in cases]
    upsert_rows(conn, cases_table, [_case_row(c) for c in cases], ["key"], ["data"])
    for chunk in in_chunks(keys):
        conn.execute(delete(clocks_table).where(clocks_table.c.case_key.in_(chunk)))
        conn.execute(delete(promises_table).where(promises_table.c.case_key.in_(chunk)))
    insert_records(conn, clocks_table, [clock_row(c.key, clock) for c in cases for clock in c.clocks])
    insert_records(conn, promises_table, [promise_row(c.key, p) for c in cases for p in c.promises])


def _status(now_us: int) -> ColumnElement[str]:
    """`Promise.status` in SQL (the contract suite checks both agree)."""
    t = promises_table.c
    return case(
        (and_(t.made_us.is_not(None), t.made_us <= t.due_us), PromiseStatus.KEPT_ON_TIME.value),
        (t.made_us.is_not(None), PromiseStatus.KEPT_LATE.value),
        (and_(t.released_us.is_not(None), t.released_us <= t.due_us), PromiseStatus.RELEASED.value),
        (t.due_us < now_us, PromiseStatus.BROKEN.value),
        else_=PromiseStatus.PENDING.value,
    )


def _promise_conditions(query: PromiseQuery, now: datetime) -> list[ColumnElement[bool]]:
    t = promises_table.c
    wanted = ((t.agent, query.agent), (t.department, query.department), (t.customer_id, query.customer_id),
              (t.case_id, query.case_id))
    conditions: list[ColumnElement[bool]] = [column == value for column, value in wanted if value is not None]
    if query.customer_ids:
        conditions.append(t.customer_id.in_(sorted(set(query.customer_ids))))
    if query.status is not None:
        conditions.append(_status(epoch_us(now)) == query.status.value)
    return conditions


def _alert_conditions(query: AlertQuery) -> list[ColumnElement[bool]]:
    t = alerts_table.c
    wanted = ((t.state, query.state), (t.department, query.department), (t.severity, query.severity),
              (t.case_id, query.case_id))
    return [column == str(value) for column, value in wanted if value is not None]

