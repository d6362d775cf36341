"""Tables of the SLA read model (SQLite and Postgres): case documents, and indexes for the queries."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, PrimaryKeyConstraint, String, Table, Text

from projections.sqlstore import metadata

policies_table = Table(
    "sla_policies", metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("effective_us", BigInteger, nullable=False),
    Column("payload", Text, nullable=False),
)

cases_table = Table(
    "sla_cases", metadata,
    Column("key", String(220), primary_key=True),
    Column("case_id", String(200)),
    Column("data", Text, nullable=False),
)

clocks_table = Table(
    "sla_clocks", metadata,
    Column("clock_id", String(36), primary_key=True),
    Column("case_key", String(220), nullable=False, index=True),
    Column("metric", String(32), nullable=False),
    Column("department", String(63), nullable=False),
    Column("next_alert_us", BigInteger, index=True),  # null: nothing due until an event changes the clock
)

promises_table = Table(
    "sla_promises", metadata,
    Column("case_key", String(220), nullable=False),
    Column("promise_id", String(200), nullable=False),
    Column("case_id", String(200)),
    Column("department", String(63), nullable=False, index=True),
    Column("agent", String(200), index=True),
    Column("customer_id", String(100), index=True),
    Column("due_us", BigInteger, nullable=False),
    Column("made_us", BigInteger),
    Column("released_us", BigInteger),
    Column("data", Text, nullable=False),
    PrimaryKeyConstraint("case_key", "promise_id"),
)

alerts_table = Table(
    "sla_alerts", metadata,
    Column("alert_id", String(36), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("clock_id", String(36), nullable=False),
    Column("metric", String(32), nullable=False),
    Column("threshold", Integer, nullable=False),
    Column("case_id", String(200), index=True),
    Column("department", String(63), nullable=False),
    Column("agent", String(200)),
    Column("policy_version", Integer, nullable=False),
    Column("rule", String(200), nullable=False),
    Column("occurred_at", String(40), nullable=False),
    Column("occurred_us", BigInteger, nullable=False),
    Column("deadline_at", String(40), nullable=False),
    Column("escalated_to", String(200)),
    Column("promise_id", String(200)),
    Column("position", BigInteger, nullable=False),
    Column("acknowledged_by", String(200)),
    Column("acknowledged_at", String(40)),
    Column("note", Text),
    Column("resolved_at", String(40)),
    Column("retracted_at", String(40)),
    Column("retraction_reason", Text),
    Index("ix_sla_alerts_department_time", "department", "occurred_us"),
)

TABLES = (policies_table, cases_table, clocks_table, promises_table, alerts_table)
