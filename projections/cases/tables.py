"""SQL tables of the cases read model and the conversion of their rows to and from `projections.cases.rows`."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Index, Integer, PrimaryKeyConstraint, String, Table, Text

from projections.cases.rows import AnomalyRow, CaseRow, ContactRow, HandoffRow, line_of
from projections.sqlstore import metadata

# Case ids sort byte-wise on Postgres too, so SQL and memory stores order and page identically.
CaseId = String(200).with_variant(String(200, collation="C"), "postgresql")
Department = String(63).with_variant(String(63, collation="C"), "postgresql")
Instant = String(40)  # ISO 8601 as given, offset kept

case_states = Table(
    "case_states",
    metadata,
    Column("case_id", CaseId, primary_key=True),
    Column("customer_id", String(100)),
    Column("status", String(32), nullable=False),
    Column("holder", Department, nullable=False),
    Column("pending_to", Department),
    Column("opened_at", Instant, nullable=False),
    Column("opened_us", BigInteger, nullable=False),
    Column("last_position", BigInteger, nullable=False),
    Column("case_type", String(32), nullable=False),
    Column("priority", String(16), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("handoffs", Integer, nullable=False),
    Column("returns", Integer, nullable=False),
    Column("repeat_contacts", Integer, nullable=False),
    Column("anomalies", Integer, nullable=False),
    Column("state", Text, nullable=False),
    Index("ix_case_states_holder", "holder", "status", "opened_us"),
    Index("ix_case_states_pending_to", "pending_to", "opened_us"),
    Index("ix_case_states_customer", "customer_id", "status"),
    Index("ix_case_states_opened", "opened_us", "case_id"),
)

case_handoffs = Table(
    "case_handoffs",
    metadata,
    Column("case_id", CaseId, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("position", BigInteger, nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("from_department", Department, nullable=False),
    Column("to_department", Department, nullable=False),
    Column("handed_at", Instant, nullable=False),
    Column("handed_us", BigInteger, nullable=False),
    Column("ended_at", Instant),
    Column("accepted_at", Instant),
    Column("outcome", String(16), nullable=False),
    Column("returned", Integer, nullable=False),
    Column("bounced", Integer, nullable=False),
    Column("case_type", String(32), nullable=False),
    Column("priority", String(16), nullable=False),
    PrimaryKeyConstraint("case_id", "seq"),
    Index("ix_case_handoffs_pair", "from_department", "to_department", "handed_us"),
    Index("ix_case_handoffs_to", "to_department", "outcome"),
)

case_contacts = Table(
    "case_contacts",
    metadata,
    Column("case_id", CaseId, nullable=False),
    Column("position", BigInteger, nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("event_type", String(100), nullable=False),
    Column("occurred_at", Instant, nullable=False),
    Column("occurred_us", BigInteger, nullable=False),
    Column("channel", String(32), nullable=False),
    Column("department", Department, nullable=False),
    Column("holder", Department, nullable=False),
    Column("via", String(16), nullable=False),
    PrimaryKeyConstraint("case_id", "position"),
    Index("ix_case_contacts_time", "occurred_us"),
)

case_anomalies = Table(
    "case_anomalies",
    metadata,
    Column("case_id", CaseId, nullable=False),
    Column("position", BigInteger, nullable=False),
    Column("kind", String(64), nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("event_type", String(100), nullable=False),
    Column("detail", Text, nullable=False),
    PrimaryKeyConstraint("case_id", "position", "kind"),
    Index("ix_case_anomalies_kind", "kind"),
)

TABLES = (case_states, case_handoffs, case_contacts, case_anomalies)
ROW_TYPES: dict[Table, type[Any]] = {
    case_states: CaseRow, case_handoffs: HandoffRow, case_contacts: ContactRow, case_anomalies: AnomalyRow,
}
_INSTANTS = {"opened_at", "handed_at", "ended_at", "accepted_at", "occurred_at"}


def to_record(row: Any) -> dict[str, Any]:
    """A row dataclass as column values (instants as ISO 8601 text)."""
    names, instants = _record_plan(type(row))
    values = {name: getattr(row, name) for name in names}
    for name in instants:
        if values[name] is not None:
            values[name] = values[name].isoformat()
    return values


_PLANS: dict[type, tuple[tuple[str, ...], tuple[str, ...]]] = {}


def _record_plan(kind: type) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A row type's field names and those of its instants (worked out once per type)."""
    plan = _PLANS.get(kind)
    if plan is None:
        names = tuple(f.name for f in fields(kind))
        plan = _PLANS[kind] = (names, tuple(name for name in names if name in _INSTANTS))
    return plan


def record_values(table: Table, rows: Sequence[Any]) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The table's column names and each row's values in that order (instants as ISO 8601 text), for bulk
    inserts: `to_record` as tuples, without a dict per row."""
    columns = [c.name for c in table.columns]
    instants = [name in _INSTANTS for name in columns]
    values = []
    for row in rows:
        found = [getattr(row, name) for name in columns]
        for index, instant in enumerate(instants):
            if instant and found[index] is not None:
                found[index] = found[index].isoformat()
        values.append(tuple(found))
    return columns, values


def record_line(table: Table, fields_in_order: Sequence[str], record: Sequence[Any]) -> str:
    """The checksum line of a stored row (`line_of` the values of `from_record(table, record)`, in field order)
    straight from the record: the instants parsed and written again as `to_data` would."""
    columns, instants = _columns_of(table)
    values = dict(zip(columns, record, strict=True))
    for name in instants:
        if values[name] is not None:
            values[name] = datetime.fromisoformat(values[name]).isoformat()
    return line_of([values[name] for name in fields_in_order])


@functools.cache  # the few tables of this module: their columns never change
def _columns_of(table: Table) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A table's column names, and those of its instants."""
    columns = tuple(c.name for c in table.columns)
    return columns, tuple(name for name in columns if name in _INSTANTS)


def from_record(table: Table, record: Any) -> Any:
    """The row dataclass of a table from a result row's mapping."""
    values = {c.name: record[c.name] for c in table.columns}
    for name in _INSTANTS & values.keys():
        if values[name] is not None:
            values[name] = datetime.fromisoformat(values[name])
    return ROW_TYPES[table](**values)
