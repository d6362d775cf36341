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
    SlaBreachedPayload,
    SlaPolicyPublishedPayload,
)
from domain.log import RecordedEvent
from domain.sla.calendar import CalendarError
from domain.sla.case import CaseSla, case_key
from domain.sla.policy import Policy, PolicyBook, PolicyError
from domain.sla.tracker import track


class AlertState(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"


class Severity(StrEnum):
    WARNING = "warning"
    CRITICAL = "critical"  # a breach


@dataclass(frozen=True, slots=True)
class Alert:
    """An SLA warning or breach as recorded in the log, with its acknowledgement if any."""

    alert_id: str
    kind: str  # "warning" | "breach"
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

    @property
    def severity(self) -> Severity:
        return Severity.CRITICAL if self.kind == "breach" else Severity.WARNING

    @property
    def state(self) -> AlertState:
        return AlertState.OPEN if self.acknowledged_by is None else AlertState.ACKNOWLEDGED


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
    keys, alerts = set(), set()
    for recorded in events:
        key = case_key(recorded.event)
        if key is not None:
            keys.add(key)
        if isinstance(recorded.event.payload, SlaAlertAcknowledgedPayload):
            alerts.add(str(recorded.event.payload.alert_id))
    return Needs(frozenset(keys), frozenset(alerts))


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
            if isinstance(payload, SlaAlertPayload) and str(event.event_id) not in alerts:
                alerts[str(event.event_id)] = _alert(recorded, payload)
                changed_alerts.add(str(event.event_id))
            if isinstance(payload, SlaAlertAcknowledgedPayload):
                acked = _acknowledge(alerts.get(str(payload.alert_id)), recorded, payload)
                if acked is not None:
                    alerts[acked.alert_id] = acked
                    changed_alerts.add(acked.alert_id)
                continue
            key = case_key(event)
            if key is None:
                continue
            before = cases.get(key) or CaseSla(key=key, case_id=event.case_id)
            after = track(before, event, self.policies)
            if after != before or key not in cases:
                cases[key] = after
                changed_cases.add(key)
        return SlaChanges(frozenset(changed_cases), frozenset(changed_alerts), tuple(new_policies), tuple(rejected))


def _policy(book: PolicyBook, payload: SlaPolicyPublishedPayload) -> PolicyBook | None:
    try:
        return book.adding(Policy(payload))
    except (PolicyError, CalendarError):
        return None


def _alert(recorded: RecordedEvent, payload: SlaAlertPayload) -> Alert:
    breach = isinstance(payload, SlaBreachedPayload)
    return Alert(
        alert_id=str(recorded.event.event_id), kind="breach" if breach else "warning", clock_id=payload.clock_id,
        metric=payload.metric.value, threshold=payload.threshold_percent, case_id=recorded.event.case_id,
        department=payload.department, agent=payload.agent, policy_version=payload.policy_version,
        rule=payload.rule, occurred_at=recorded.event.occurred_at, deadline_at=payload.deadline_at,
        escalated_to=payload.escalated_to_role if isinstance(payload, SlaBreachedPayload) else None,
        promise_id=payload.promise_id, position=recorded.position,
    )


def _acknowledge(alert: Alert | None, recorded: RecordedEvent, payload: SlaAlertAcknowledgedPayload) -> Alert | None:
    """The alert acknowledged (the first acknowledgement wins); None if unknown or already acknowledged."""
    if alert is None or alert.acknowledged_by is not None:
        return None
    return replace(alert, acknowledged_by=payload.acknowledged_by, acknowledged_at=recorded.event.occurred_at,
                   note=payload.note)
