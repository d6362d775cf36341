"""Acknowledging an alert: who may, and recording `sla.alert_acknowledged` once per alert."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from contracts import Envelope
from domain.sla.alerts import acknowledgement
from projections.sla.queries import SlaStore
from projections.sla.reducer import Alert
from services.adapters.store.eventstore import EventStore, StoreConflict

SUPERVISING_ROLES = frozenset({"ops", "admin"})


class AlertNotFound(LookupError):
    """No such alert in the SLA view (unknown, or recorded a moment ago and not projected yet)."""


class NotAllowed(PermissionError):
    """The caller may not acknowledge this alert."""


class AlreadyAcknowledged(Exception):
    """The alert's acknowledgement is already recorded (the first one stands)."""


def may_acknowledge(principal: str, alert: Alert) -> bool:
    """The manager of the alert's department (`<department>-manager`), the role it escalated to, and the ops/admin
    roles may acknowledge it; the department's staff may not."""
    return principal in SUPERVISING_ROLES or principal in (f"{alert.department}-manager", alert.escalated_to)


def acknowledge_alert(store: EventStore, view: SlaStore, alert_id: UUID, *, by: str, note: str | None,
                      principal: str, now: datetime) -> tuple[Alert, Envelope]:
    """Record that `by` (a person, acting with `principal`'s token) took the alert in hand."""
    alert = view.alert(str(alert_id))
    if alert is None:
        raise AlertNotFound(f"no alert {alert_id}")
    if not may_acknowledge(principal, alert):
        raise NotAllowed(f"{principal} may not acknowledge alerts of {alert.department}")
    if alert.acknowledged_by is not None:
        raise AlreadyAcknowledged(f"acknowledged by {alert.acknowledged_by} at {alert.acknowledged_at}")
    event = acknowledgement(alert_id, alert.case_id, by, note, principal, now)
    try:
        store.append([event])
    except StoreConflict as exc:
        raise AlreadyAcknowledged("this alert's acknowledgement is already recorded") from exc
    return alert, event
