"""Rows of the SLA read model as pure functions of its state: what the SQL store writes and checksums hash."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from domain.instants import epoch_us
from domain.sla.clock import Clock
from domain.sla.ledger import Promise
from domain.sla.policy import Policy
from projections.checksum import Table
from projections.sla.codec import alert_row, encode_case, optional_us, promise_data
from projections.sla.reducer import SlaState

TABLE_NAMES = ("policies", "cases", "clocks", "promises", "alerts")  # in the order of tables.TABLES


def policy_row(policy: Policy) -> dict[str, Any]:
    return {"version": policy.version, "effective_us": epoch_us(policy.effective_at),
            "payload": policy.payload.model_dump_json()}


def clock_row(key: str, clock: Clock) -> dict[str, Any]:
    return {"clock_id": clock.clock_id, "case_key": key, "metric": clock.metric.value,
            "department": clock.owner[0], "next_alert_us": optional_us(clock.next_alert_at())}


def promise_row(key: str, promise: Promise) -> dict[str, Any]:
    return {"case_key": key, "promise_id": promise.promise_id, "case_id": promise.case_id,
            "department": promise.department, "agent": promise.agent, "customer_id": promise.customer_id,
            "due_us": epoch_us(promise.due_at), "made_us": optional_us(promise.made_at),
            "released_us": optional_us(promise.released_at), "data": orjson.dumps(promise_data(promise)).decode()}


def state_tables(state: SlaState) -> list[Table]:
    """Every row the SQL store would hold for `state`, table by table (names as TABLE_NAMES)."""
    cases = list(state.cases.values())
    rows: list[Iterable[Mapping[str, Any]]] = [
        [policy_row(p) for p in state.policies.policies],
        [{"key": c.key, "case_id": c.case_id, "data": encode_case(c).decode()} for c in cases],
        [clock_row(c.key, clock) for c in cases for clock in c.clocks],
        [promise_row(c.key, p) for c in cases for p in c.promises],
        [alert_row(a) for a in state.alerts.values()],
    ]
    return list(zip(TABLE_NAMES, rows, strict=True))
