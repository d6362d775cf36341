"""The SLA read model in SQL (SQLite or Postgres): case state as JSON, indexes for clocks, promises, alerts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import orjson
from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    and_,
    case,
    delete,
    func,
    select,
)

from contracts import SlaPolicyPublishedPayload
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
    epoch_us,
    promise_from,
)
from projections.sla.queries import (
    NAME,
    AlertQuery,
    GroupBy,
    LedgerLine,
    PromiseQuery,
    latest_due_first,
)
from projections.sla.reducer import Alert, SlaChanges, SlaState, fold, needs
from projections.sla.rows import TABLE_NAMES, clock_row, policy_row, promise_row
from projections.sla.tables import (
    TABLES,
    alerts_table,
    cases_table,
    clocks_table,
    policies_table,
    promises_table,
)
from projections.sqlstore import SqlProjection, dialect_insert, read_position

_IN_CHUNK = 500



class SqlSlaStore(SqlProjection):
    """SLA clocks, promises and alerts in SQL; each batch is one transaction together with its position."""

    name = NAME
    tables = TABLES

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self._policies: dict[int, Policy] = {}  # recorded versions never change: parse each once

    def reset(self) -> None:
        super().reset()
        self._policies.clear()

    def _apply_batch(self, conn: Connection, events: list[RecordedEvent]) -> None:
        """Load the cases and alerts the batch touches, fold, and write what changed."""
        state, changes = fold(events, self._load(conn, events))
        self._write(conn, state, changes)

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

    def checksum(self) -> str:
        with self._engine.connect() as conn:
            position = read_position(conn, self.name, lock=False)
            tables = [(name, [dict(r._mapping) for r in conn.execute(select(table))])
                      for name, table in zip(TABLE_NAMES, TABLES, strict=True)]
        return checksum(position, tables)

    def _book(self, conn: Connection) -> PolicyBook:
        known = set(self._policies)
        statement = select(policies_table.c.version, policies_table.c.payload)
        if known:
            statement = statement.where(policies_table.c.version.not_in(sorted(known)))
        for version, payload in conn.execute(statement).tuples():
            self._policies[version] = Policy(SlaPolicyPublishedPayload.model_validate_json(payload))
        return PolicyBook(tuple(sorted(self._policies.values(), key=lambda p: p.version)))

    def _load(self, conn: Connection, events: Sequence[RecordedEvent]) -> SlaState:
        wanted = needs(events)
        book = self._book(conn)
        alerts: dict[str, Alert] = {}
        for chunk in _chunks(sorted(wanted.alert_ids)):
            rows = conn.execute(select(alerts_table).where(alerts_table.c.alert_id.in_(chunk)))
            alerts.update((row.alert_id, alert_from_row(row._mapping)) for row in rows)
        return SlaState(book, self._cases(conn, sorted(wanted.case_keys), book), alerts)

    @staticmethod
    def _cases(conn: Connection, keys: Sequence[str], book: PolicyBook) -> dict[str, CaseSla]:
        cases: dict[str, CaseSla] = {}
        for chunk in _chunks(keys):
            rows = conn.execute(select(cases_table.c.key, cases_table.c.data).where(cases_table.c.key.in_(chunk)))
            cases.update((key, decode_case(data, book)) for key, data in rows.tuples())
        return cases

    def _write(self, conn: Connection, state: SlaState, changes: SlaChanges) -> None:
        for version in changes.policies:
            policy = state.policies.version(version)
            assert policy is not None
            conn.execute(dialect_insert(conn, policies_table).on_conflict_do_nothing(), [policy_row(policy)])
        touched = [state.cases[key] for key in sorted(changes.cases)]
        if touched:
            _write_cases(conn, touched)
        alerts = [alert_row(state.alerts[alert_id]) for alert_id in sorted(changes.alerts)]
        if alerts:
            insert = dialect_insert(conn, alerts_table)
            update = {name: insert.excluded[name] for name in ("state", "acknowledged_by", "acknowledged_at", "note")}
            conn.execute(insert.on_conflict_do_update(index_elements=["alert_id"], set_=update), alerts)


def _write_cases(conn: Connection, cases: Sequence[CaseSla]) -> None:
    """Upsert the case documents and replace their clock and promise index rows."""
    keys = [c.key for c in cases]
    insert = dialect_insert(conn, cases_table)
    rows = [{"key": c.key, "case_id": c.case_id, "data": encode_case(c).decode()} for c in cases]
    conn.execute(insert.on_conflict_do_update(index_elements=["key"], set_={"data": insert.excluded.data}), rows)
    for chunk in _chunks(keys):
        conn.execute(delete(clocks_table).where(clocks_table.c.case_key.in_(chunk)))
        conn.execute(delete(promises_table).where(promises_table.c.case_key.in_(chunk)))
    clocks = [clock_row(c.key, clock) for c in cases for clock in c.clocks]
    if clocks:
        conn.execute(clocks_table.insert(), clocks)
    promises = [promise_row(c.key, p) for c in cases for p in c.promises]
    if promises:
        conn.execute(promises_table.insert(), promises)


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
    if query.status is not None:
        conditions.append(_status(epoch_us(now)) == query.status.value)
    return conditions


def _alert_conditions(query: AlertQuery) -> list[ColumnElement[bool]]:
    t = alerts_table.c
    wanted = ((t.state, query.state), (t.department, query.department), (t.severity, query.severity),
              (t.case_id, query.case_id))
    return [column == str(value) for column, value in wanted if value is not None]


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    return (items[start : start + _IN_CHUNK] for start in range(0, len(items), _IN_CHUNK))


__all__ = ["SqlSlaStore"]
