"""Alert events derived from clocks: deterministic ids and contents, so re-deriving them records nothing new;
retractions of alerts a later fact proved wrong; calendar gaps; and the watermark that lets late facts in."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from contracts import (
    Envelope,
    SlaAlertAcknowledged,
    SlaAlertRetracted,
    SlaBreached,
    SlaCalendarGap,
    SlaPolicyPublished,
    SlaWarningRaised,
)
from domain.sla.case import SLA_NAMESPACE
from domain.sla.clock import BREACH, Clock

TICKER_SOURCE = {"department": "touchline", "channel": "internal", "system": "sla-ticker"}


@dataclass(frozen=True, slots=True)
class Watermark:
    """How far the ticker trusts the log to be complete (allowed lateness, as stream processors have it).

    `at`: threshold instants up to here may be alerted (the ticker's now minus the allowed lateness, so a fact
    occurring before an instant may still be recorded up to that long after it). `position`: the log head the
    ticker saw at least the allowed lateness ago; a clock shaped by a later fact waits, so that the facts
    recorded with it (a past case's opening, then its resolution) all arrive before it alerts.
    """

    at: datetime
    position: int

    def settled(self, clock: Clock) -> bool:
        return clock.changed_at <= self.position


def alert_id_for(clock_id: str, percent: int, round_: int = 0) -> UUID:
    """The event id of the alert a clock raises at `percent` (100 = breach); `round_` counts the retracted
    alerts of that threshold before it (0: the first alert keeps the original id)."""
    suffix = f"/{round_}" if round_ else ""
    return uuid.uuid5(SLA_NAMESPACE, f"alert/{clock_id}/{percent}{suffix}")


def retraction_id_for(alert_id: UUID | str) -> UUID:
    """The event id of an alert's retraction (at most one per alert)."""
    return uuid.uuid5(SLA_NAMESPACE, f"retract/{alert_id}")


def gap_id_for(clock_id: str) -> UUID:
    """The event id of a clock's calendar gap (at most one per clock)."""
    return uuid.uuid5(SLA_NAMESPACE, f"calendar-gap/{clock_id}")


def ack_id_for(alert_id: UUID | str) -> UUID:
    """The event id of an alert's acknowledgement (one per alert)."""
    return uuid.uuid5(SLA_NAMESPACE, f"ack/{alert_id}")


def policy_event_id(version: int) -> UUID:
    """The event id of a policy version's publication (each version is published once)."""
    return uuid.uuid5(SLA_NAMESPACE, f"policy/{version}")


def alert_events(clock: Clock, now: datetime, watermark: Watermark | None = None) -> list[Envelope]:
    """What the ticker records for `clock` at `now`: retractions of the alerts it no longer supports (at once),
    then, once the watermark has passed the clock's last fact, its calendar gap and the warnings and breaches
    due by the watermark instant (without a watermark: by `now`, trusting the log as it is)."""
    watermark = watermark if watermark is not None else Watermark(now, clock.changed_at)
    events = [_retraction(clock, percent, now) for percent, _ in clock.wrong_alerts()]
    if not watermark.settled(clock):
        return events
    gap = _gap(clock) if not clock.gap_alerted else None
    events += [gap] if gap is not None else []
    return events + [_alert(clock, percent, at) for percent, at in clock.due_alerts(watermark.at)]


def _retraction(clock: Clock, percent: int, now: datetime) -> Envelope:
    alert_id = alert_id_for(clock.clock_id, percent, clock.alert_round(percent))
    department, _ = clock.owner_at(dict(clock.alerted_at)[percent])  # as the alert named it
    return SlaAlertRetracted.model_validate({
        "event_id": retraction_id_for(alert_id),
        "occurred_at": now,
        "source": TICKER_SOURCE,
        "case_id": clock.case_id,
        "correlation_id": clock.clock_id,
        "causation_id": clock.changed_by,
        "payload": {
            "alert_id": alert_id, "clock_id": clock.clock_id, "metric": clock.metric.value,
            "threshold_percent": percent, "department": department, "reason": _why_wrong(clock, percent),
            "fact_event_id": clock.changed_by, "promise_id": clock.promise_id,
        },
    })


def _why_wrong(clock: Clock, percent: int) -> str:
    reached = clock.instant_of(percent)
    if reached is not None:
        return f"the threshold is reached later, at {reached.isoformat()}"
    if clock.stopped_at is not None:
        return f"{clock.stop_reason or 'clock stopped'} at {clock.stopped_at.isoformat()}, before the threshold"
    if clock.pauses:
        return f"clock paused at {clock.pauses[-1].started_at.isoformat()}, before the threshold"
    return "the threshold is no longer reached"


def _gap(clock: Clock) -> Envelope | None:
    gap = clock.gap()
    if gap is None:
        return None
    department, escalate_to = clock.owner
    return SlaCalendarGap.model_validate({
        "event_id": gap_id_for(clock.clock_id),
        "occurred_at": clock.started_at,
        "source": TICKER_SOURCE,
        "case_id": clock.case_id,
        "correlation_id": clock.clock_id,
        "causation_id": clock.start_event_id,
        "payload": {
            "clock_id": clock.clock_id, "metric": clock.metric.value, "department": department,
            "agent": clock.agent, "policy_version": clock.policy_version, "rule": clock.rule,
            "calendar": gap.calendar, "year": gap.year, "covered_from": gap.covered[0],
            "covered_to": gap.covered[1], "target_seconds": round(clock.target_seconds),
            "clock_started_at": clock.started_at, "escalated_to_role": escalate_to, "promise_id": clock.promise_id,
        },
    })


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
        "event_id": alert_id_for(clock.clock_id, percent, clock.alert_round(percent)),
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
