"""SLA reducer: policies, per-case clocks and promises, and alerts, folded from the log (pure, no clock)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType

from contracts import (
    SlaAlertAcknowledgedPayload,
    SlaAlertPayload,
    SlaAlertRetractedPayload,
    SlaBreachedPayload,
    SlaCalendarGapPayload,
    SlaPolicyPublishedPayload,
)
from domain.log import RecordedEvent
from domain.sla.alerts import alert_id_for, gap_id_for
from domain.sla.calendar import CalendarError
from domain.sla.case import CaseSla, case_key
from domain.sla.policy import Policy, PolicyBook, PolicyError
from domain.sla.tracker import track


class AlertState(StrEnum):
    """An alert's lifecycle: open -> acknowledged -> resolved | retracted (resolved or retracted may also come
    straight from open)."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"  # its clock stopped
    RETRACTED = "retracted"  # a later fact showed it was wrong (`sla.alert_retracted`)


_STANDING = (AlertState.OPEN, AlertState.ACKNOWLEDGED)


class Severity(StrEnum):
    WARNING = "warning"
    CRITICAL = "critical"  # a breach


@dataclass(frozen=True, slots=True)
class Alert:
    """An SLA warning, breach or calendar gap as recorded in the log, with its acknowledgement, resolution or
    retraction if any."""

    alert_id: str
    kind: str  # "warning" | "breach" | "calendar_gap"
    clock_id: str
    metric: str
    threshold: int
    case_id: str | None
    department: str
    agent: str | None
    policy_version: int
    rule: str
    occurred_at: datetime
    deadline_at: datetime
    escalated_to: str | None
    promise_id: str | None
    position: int
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    note: str | None = None
    state: AlertState = AlertState.OPEN
    resolved_at: datetime | None = None
    retracted_at: datetime | None = None
    retraction_reason: str | None = None

    @property
    def severity(self) -> Severity:
        return Severity.WARNING if self.kind == "warning" else Severity.CRITICAL


@dataclass(frozen=True, slots=True)
class SlaState:
    """The part of the SLA read model a batch needs: all policies, the touched cases and alerts."""

    policies: PolicyBook = PolicyBook()
    cases: Mapping[str, CaseSla] = field(default_factory=dict)
    alerts: Mapping[str, Alert] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "cases", MappingProxyType(dict(self.cases)))
        object.__setattr__(self, "alerts", MappingProxyType(dict(self.alerts)))


@dataclass(frozen=True, slots=True)
class SlaChanges:
    """What a fold changed, for stores to write: case keys, alert ids and the policy versions seen."""

    cases: frozenset[str] = frozenset()
    alerts: frozenset[str] = frozenset()
    policies: tuple[int, ...] = ()
    rejected_policies: tuple[int, ...] = ()  # positions of policy events that could not be used


@dataclass(frozen=True, slots=True)
class Needs:
    """The state a batch reads: cases by key and alerts by id (policies are always loaded)."""

    case_keys: frozenset[str]
    alert_ids: frozenset[str]


def needs(events: Iterable[RecordedEvent]) -> Needs:
    """What a batch reads besides the standing alerts of its cases' clocks (see `standing_alert_ids`)."""
    keys, alerts = set(), set()
    for recorded in events:
        key = case_key(recorded.event)
        if key is not None:
            keys.add(key)
        if isinstance(recorded.event.payload, SlaAlertAcknowledgedPayload | SlaAlertRetractedPayload):
            alerts.add(str(recorded.event.payload.alert_id))
    return Needs(frozenset(keys), frozenset(alerts))


def standing_alert_ids(case: CaseSla) -> list[str]:
    """Ids of the alerts the case's clocks have raised and not had retracted (a stopping clock resolves them)."""
    ids = [str(alert_id_for(c.clock_id, p, c.alert_round(p))) for c in case.clocks for p, _ in c.alerted_at]
    return ids + [str(gap_id_for(c.clock_id)) for c in case.clocks if c.gap_alerted]


def fold(events: Iterable[RecordedEvent], state: SlaState) -> tuple[SlaState, SlaChanges]:
    """Apply events in the given order (the log's) to the state; report what changed."""
    folder = SlaFolder(state)
    changes = folder.fold(events)
    return folder.state(), changes


class SlaFolder:
    """The SLA state folded batch after batch: `fold` over consecutive batches gives the state `fold` over their
    concatenation gives (a rebuild holding every case in memory folds the whole log through one folder)."""

    def __init__(self, state: SlaState | None = None) -> None:
        state = state if state is not None else SlaState()
        self.policies = state.policies
        self.cases: dict[str, CaseSla] = dict(state.cases)
        self.alerts: dict[str, Alert] = dict(state.alerts)

    def state(self) -> SlaState:
        return SlaState(self.policies, self.cases, self.alerts)

    def fold(self, events: Iterable[RecordedEvent]) -> SlaChanges:
        """Apply events in the given order (the log's); report what they changed."""
        cases, alerts = self.cases, self.alerts
        changed_cases: set[str] = set()
        changed_alerts: set[str] = set()
        new_policies: list[int] = []
        rejected: list[int] = []
        for recorded in events:
            event, payload = recorded.event, recorded.event.payload
            if isinstance(payload, SlaPolicyPublishedPayload):
                added = _policy(self.policies, payload)
                if added is None:
                    rejected.append(recorded.position)
                else:  # reported even when known: a store may know it from a cache but not (any more) in its rows
                    self.policies, new_policies = added, [*new_policies, payload.version]
                continue
            if isinstance(payload, SlaAlertPayload | SlaCalendarGapPayload) and recorded.event_id not in alerts:
                alerts[recorded.event_id] = _alert(recorded, payload)
                changed_alerts.add(recorded.event_id)
            if isinstance(payload, SlaAlertAcknowledgedPayload):
                acked = _acknowledge(alerts.get(str(payload.alert_id)), recorded, payload)
                if acked is not None:
                    alerts[acked.alert_id] = acked
                    changed_alerts.add(acked.alert_id)
                continue
            if isinstance(payload, SlaAlertRetractedPayload):
                retracted = _retract(alerts.get(str(payload.alert_id)), recorded, payload)
                if retracted is not None:
                    alerts[retracted.alert_id] = retracted
                    changed_alerts.add(retracted.alert_id)
            key = case_key(event)
            if key is None:
                continue
            before = cases.get(key) or CaseSla(key=key, case_id=event.case_id)
            after = track(before, recorded, self.policies)
            if after != before or key not in cases:
                cases[key] = after
                changed_cases.add(key)
                changed_alerts |= _settle(after, alerts)
        return SlaChanges(frozenset(changed_cases), frozenset(changed_alerts), tuple(new_policies), tuple(rejected))


def _policy(book: PolicyBook, payload: SlaPolicyPublishedPayload) -> PolicyBook | None:
    try:
        return book.adding(Policy(payload))
    except (PolicyError, CalendarError):
        return None


def _settle(case: CaseSla, alerts: dict[str, Alert]) -> set[str]:
    """Resolve the standing alerts of the case's stopped clocks (not those the clock no longer supports: they
    await their retraction); return the ids changed."""
    changed = set()
    for clock in case.clocks:
        if clock.stopped_at is None or not (clock.alerted_at or clock.gap_alerted):
            continue
        wrong = {p for p, _ in clock.wrong_alerts()}
        ids = [str(alert_id_for(clock.clock_id, p, clock.alert_round(p))) for p, _ in clock.alerted_at
               if p not in wrong]
        for alert_id in [*ids, *([str(gap_id_for(clock.clock_id))] if clock.gap_alerted else [])]:
            alert = alerts.get(alert_id)
            if alert is not None and alert.state in _STANDING:
                alerts[alert_id] = replace(alert, state=AlertState.RESOLVED, resolved_at=clock.stopped_at)
                changed.add(alert_id)
    return changed


def _alert(recorded: RecordedEvent, payload: SlaAlertPayload | SlaCalendarGapPayload) -> Alert:
    if isinstance(payload, SlaCalendarGapPayload):
        return _gap_alert(recorded, payload)
    breach = isinstance(payload, SlaBreachedPayload)
    return Alert(
        alert_id=recorded.event_id, kind="breach" if breach else "warning", clock_id=payload.clock_id,
        metric=payload.metric.value, threshold=payload.threshold_percent, case_id=recorded.event.case_id,
        department=payload.department, agent=payload.agent, policy_version=payload.policy_version,
        rule=payload.rule, occurred_at=recorded.event.occurred_at, deadline_at=payload.deadline_at,
        escalated_to=payload.escalated_to_role if isinstance(payload, SlaBreachedPayload) else None,
        promise_id=payload.promise_id, position=recorded.position,
    )


def _gap_alert(recorded: RecordedEvent, payload: SlaCalendarGapPayload) -> Alert:
    """A calendar gap listed with the alerts: critical, no threshold; its `deadline_at` is the clock's start
    (the deadline cannot be computed)."""
    return Alert(
        alert_id=recorded.event_id, kind="calendar_gap", clock_id=payload.clock_id,
        metric=payload.metric.value, threshold=0, case_id=recorded.event.case_id, department=payload.department,
        agent=payload.agent, policy_version=payload.policy_version, rule=payload.rule,
        occurred_at=recorded.event.occurred_at, deadline_at=payload.clock_started_at,
        escalated_to=payload.escalated_to_role, promise_id=payload.promise_id, position=recorded.position,
    )


def _acknowledge(alert: Alert | None, recorded: RecordedEvent, payload: SlaAlertAcknowledgedPayload) -> Alert | None:
    """The alert acknowledged (the first acknowledgement wins; a resolved or retracted alert keeps its state);
    None if unknown or already acknowledged."""
    if alert is None or alert.acknowledged_by is not None:
        return None
    state = AlertState.ACKNOWLEDGED if alert.state is AlertState.OPEN else alert.state
    return replace(alert, acknowledged_by=payload.acknowledged_by, acknowledged_at=recorded.event.occurred_at,
                   note=payload.note, state=state)


def _retract(alert: Alert | None, recorded: RecordedEvent, payload: SlaAlertRetractedPayload) -> Alert | None:
    """The alert retracted; None if unknown or already retracted."""
    if alert is None or alert.state is AlertState.RETRACTED:
        return None
    return replace(alert, state=AlertState.RETRACTED, retracted_at=recorded.event.occurred_at,
                   retraction_reason=payload.reason)
