"""Alert events derived from clocks: deterministic ids and contents, so re-deriving them records nothing new."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from uuid import UUID

from contracts import Envelope, SlaAlertAcknowledged, SlaBreached, SlaPolicyPublished, SlaWarningRaised
from domain.sla.case import SLA_NAMESPACE
from domain.sla.clock import BREACH, Clock

TICKER_SOURCE = {"department": "touchline", "channel": "internal", "system": "sla-ticker"}


def alert_id_for(clock_id: str, percent: int) -> UUID:
    """The event id of the alert a clock raises at `percent` (100 = breach)."""
    return uuid.uuid5(SLA_NAMESPACE, f"alert/{clock_id}/{percent}")


def ack_id_for(alert_id: UUID | str) -> UUID:
    """The event id of an alert's acknowledgement (one per alert)."""
    return uuid.uuid5(SLA_NAMESPACE, f"ack/{alert_id}")


def policy_event_id(version: int) -> UUID:
    """The event id of a policy version's publication (each version is published once)."""
    return uuid.uuid5(SLA_NAMESPACE, f"policy/{version}")


def alert_events(clock: Clock, now: datetime) -> list[Envelope]:
    """The warning and breach events due on `clock` by `now` and not yet recorded on it."""
    return [_alert(clock, percent, at) for percent, at in clock.due_alerts(now)]


def _alert(clock: Clock, percent: int, at: datetime) -> Envelope:
    department, escalate_to = clock.owner_at(at)
    payload: dict[str, Any] = {
        "clock_id": clock.clock_id,
        "metric": clock.metric.value,
        "threshold_percent": percent,
        "department": department,
        "agent": clock.agent,
        "policy_version": clock.policy_version,
        "rule": clock.rule,
        "calendar": clock.calendar.name,
        "basis": clock.basis.value,
        "target_seconds": round(clock.target_seconds),
        "clock_started_at": clock.started_at,
        "deadline_at": _deadline_seen_at(clock, percent, at),
        "promise_id": clock.promise_id,
    }
    envelope: dict[str, Any] = {
        "event_id": alert_id_for(clock.clock_id, percent),
        "occurred_at": at,
        "source": TICKER_SOURCE,
        "case_id": clock.case_id,
        "correlation_id": clock.clock_id,
        "causation_id": clock.start_event_id,
    }
    if percent >= BREACH:
        return SlaBreached.model_validate({**envelope, "payload": {**payload, "escalated_to_role": escalate_to}})
    return SlaWarningRaised.model_validate({**envelope, "payload": payload})


def _deadline_seen_at(clock: Clock, percent: int, at: datetime) -> datetime:
    """The deadline as it stood at the threshold instant (later pauses cannot change a recorded alert)."""
    if clock.due_at is not None or percent >= BREACH:
        return clock.due_at if clock.due_at is not None else at
    remaining = clock.target_seconds * (BREACH - percent) / 100
    return clock.meter.add_business_seconds(at, remaining).astimezone(clock.calendar.zone)


def acknowledgement(alert_id: UUID, case_id: str | None, by: str, note: str | None, principal: str,
                    at: datetime) -> Envelope:
    """The `sla.alert_acknowledged` event a person records for an alert."""
    return SlaAlertAcknowledged.model_validate({
        "event_id": ack_id_for(alert_id),
        "occurred_at": at,
        "source": {"department": principal, "channel": "internal", "system": "touchline-api", "agent": by},
        "case_id": case_id,
        "payload": {"alert_id": alert_id, "acknowledged_by": by, "note": note},
    })


def policy_publication(payload: dict[str, Any], at: datetime, by: str | None, system: str) -> Envelope:
    """The `sla.policy_published` event of a policy version (its id follows from the version)."""
    source = {"department": "touchline", "channel": "internal", "system": system, "agent": by}
    return SlaPolicyPublished.model_validate({
        "event_id": policy_event_id(int(payload["version"])),
        "occurred_at": at,
        "source": {key: value for key, value in source.items() if value is not None},
        "payload": payload,
    })
