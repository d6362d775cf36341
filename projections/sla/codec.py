"""JSON form of the SLA state kept by SQL stores: cases (clocks, promises), alerts and instants (pure)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

import orjson

from contracts import SlaBasis, SlaMetric
from domain.instants import epoch_us
from domain.sla.calendar import TWENTY_FOUR_SEVEN, BusinessCalendar
from domain.sla.case import CaseSla, CaseStatus
from domain.sla.clock import Clock, Handover, Pause
from domain.sla.ledger import Promise
from domain.sla.policy import PolicyBook
from projections.sla.reducer import Alert, AlertState


def optional_us(at: datetime | None) -> int | None:
    return epoch_us(at) if at is not None else None


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


def encode_case(case: CaseSla) -> bytes:
    data = {
        "key": case.key, "case_id": case.case_id, "customer_id": case.customer_id, "case_type": case.case_type,
        "priority": case.priority, "segment": case.segment, "department": case.department, "site": case.site,
        "status": case.status.value, "clocks": [_clock_data(c) for c in case.clocks],
        "promises": [promise_data(p) for p in case.promises],
    }
    return orjson.dumps(data)


def decode_case(raw: bytes | str, policies: PolicyBook) -> CaseSla:
    data = orjson.loads(raw)
    return CaseSla(
        key=data["key"], case_id=data["case_id"], customer_id=data["customer_id"], case_type=data["case_type"],
        priority=data["priority"], segment=data["segment"], department=data["department"], site=data["site"],
        status=CaseStatus(data["status"]), clocks=tuple(_clock(c, policies) for c in data["clocks"]),
        promises=tuple(promise_from(p) for p in data["promises"]),
    )


def _clock_data(clock: Clock) -> dict[str, Any]:
    return {
        "clock_id": clock.clock_id, "metric": clock.metric.value, "case_id": clock.case_id,
        "department": clock.department, "policy_version": clock.policy_version, "rule": clock.rule,
        "calendar": clock.calendar.name, "basis": clock.basis.value, "target_seconds": clock.target_seconds,
        "warnings": list(clock.warnings), "escalate_to": clock.escalate_to, "started_at": _time(clock.started_at),
        "start_event_id": clock.start_event_id, "agent": clock.agent, "customer_id": clock.customer_id,
        "promise_id": clock.promise_id, "due_at": _time(clock.due_at),
        "pauses": [[_time(p.started_at), _time(p.ended_at)] for p in clock.pauses],
        "stopped_at": _time(clock.stopped_at), "stop_reason": clock.stop_reason, "alerted": sorted(clock.alerted),
        "handovers": [[_time(h.at), h.department, h.escalate_to] for h in clock.handovers],
        "standard_seconds": clock.standard_seconds, "changed_at": clock.changed_at, "changed_by": clock.changed_by,
        "alerted_at": [[p, _time(at)] for p, at in clock.alerted_at], "retractions": list(clock.retractions),
        "gap_alerted": clock.gap_alerted,
    }


def _clock(data: dict[str, Any], policies: PolicyBook) -> Clock:
    return Clock(
        clock_id=data["clock_id"], metric=SlaMetric(data["metric"]), case_id=data["case_id"],
        department=data["department"], policy_version=data["policy_version"], rule=data["rule"],
        calendar=_calendar(policies, data["policy_version"], data["calendar"]), basis=SlaBasis(data["basis"]),
        target_seconds=float(data["target_seconds"]), warnings=tuple(data["warnings"]),
        escalate_to=data["escalate_to"], started_at=datetime.fromisoformat(data["started_at"]),
        start_event_id=data["start_event_id"], agent=data["agent"], customer_id=data["customer_id"],
        promise_id=data["promise_id"], due_at=_parse(data["due_at"]),
        pauses=tuple(Pause(datetime.fromisoformat(a), _parse(b)) for a, b in data["pauses"]),
        stopped_at=_parse(data["stopped_at"]), stop_reason=data["stop_reason"], alerted=frozenset(data["alerted"]),
        handovers=tuple(Handover(datetime.fromisoformat(at), d, r) for at, d, r in data["handovers"]),
        standard_seconds=data.get("standard_seconds"), changed_at=data.get("changed_at", 0),
        changed_by=data.get("changed_by"),
        alerted_at=tuple((p, datetime.fromisoformat(at)) for p, at in data.get("alerted_at", ())),
        retractions=tuple(data.get("retractions", ())), gap_alerted=data.get("gap_alerted", False),
    )


def _calendar(policies: PolicyBook, version: int, name: str) -> BusinessCalendar:
    policy = policies.version(version)
    if policy is None or name not in policy.calendars:
        return TWENTY_FOUR_SEVEN if name == TWENTY_FOUR_SEVEN.name else _missing(version, name)
    return policy.calendars[name]


def _missing(version: int, name: str) -> BusinessCalendar:
    raise LookupError(f"calendar {name!r} of policy v{version} is not in the store")


def promise_data(promise: Promise) -> dict[str, Any]:
    data = asdict(promise)
    for key in ("promised_at", "due_at", "made_at", "released_at"):
        data[key] = _time(data[key])
    return data


def promise_from(data: dict[str, Any]) -> Promise:
    values = dict(data)
    for key in ("promised_at", "due_at", "made_at", "released_at"):
        values[key] = _parse(values[key])
    return Promise(**values)


_ALERT_TIMES = ("occurred_at", "deadline_at", "acknowledged_at", "resolved_at", "retracted_at")


def alert_row(alert: Alert) -> dict[str, Any]:
    row = asdict(alert)
    for key in _ALERT_TIMES:
        row[key] = _time(row[key])
    row["occurred_us"] = epoch_us(alert.occurred_at)
    row["severity"] = alert.severity.value
    row["state"] = alert.state.value
    return row


def alert_from_row(row: Any) -> Alert:
    values = {name: row[name] for name in Alert.__dataclass_fields__}
    for key in _ALERT_TIMES:
        values[key] = _parse(values[key])
    values["state"] = AlertState(values["state"])
    return Alert(**values)
