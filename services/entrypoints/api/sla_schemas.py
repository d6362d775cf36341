"""Request and response models of the SLA endpoints, and their construction from the read model."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import TypeVar

from pydantic import BaseModel, Field

from contracts import SlaCalendar, SlaDepartment, SlaRule, SlaSite
from contracts.fields import Positive64, Timestamp
from contracts.sla import Percent
from domain.sla.alerts import alert_id_for
from domain.sla.calendar import CalendarGap
from domain.sla.case import CaseSla
from domain.sla.clock import Clock
from domain.sla.ledger import Promise
from projections.sla.queries import LedgerLine
from projections.sla.reducer import Alert
from services.adapters.webhooks.deliveries import Attempt, Delivery

T = TypeVar("T")


class AlertOut(BaseModel):
    alert_id: str
    kind: str = Field(description="`warning`, `breach` or `calendar_gap`.")
    severity: str = Field(description="`warning` (a warning threshold) or `critical` (a breach, a calendar gap).")
    state: str = Field(description="`open`, `acknowledged`, `resolved` (its clock stopped) or `retracted` (a later "
                                   "fact showed it was wrong).")
    clock_id: str
    metric: str
    threshold_percent: int
    case_id: str | None
    department: str
    agent: str | None
    policy_version: int
    rule: str
    occurred_at: datetime = Field(description="The instant the threshold was reached.")
    deadline_at: datetime
    escalated_to: str | None = Field(description="Manager role a breach is escalated to.")
    promise_id: str | None
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    note: str | None
    resolved_at: datetime | None = Field(None, description="When its clock stopped (state `resolved`).")
    retracted_at: datetime | None = Field(None, description="When it was retracted (state `retracted`).")
    retraction_reason: str | None = Field(None, description="Why it was retracted.")

    @classmethod
    def of(cls, alert: Alert) -> AlertOut:
        derived = {"threshold_percent": alert.threshold, "severity": alert.severity.value, "state": alert.state.value}
        plain = {name: getattr(alert, name) for name in cls.model_fields if name not in derived}
        return cls(**plain, **derived)


class AttemptOut(BaseModel):
    attempt: int
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryOut(BaseModel):
    url: str
    department: str
    status: str = Field(description="`pending`, `delivered` or `failed`.")
    attempts: int
    last_error: str | None
    log: list[AttemptOut]

    @classmethod
    def of(cls, delivery: Delivery, attempts: list[Attempt]) -> DeliveryOut:
        log = [AttemptOut(attempt=a.attempt, at=a.at, status_code=a.status_code, error=a.error,
                          duration_ms=a.duration_ms) for a in attempts]
        return cls(url=delivery.url, department=delivery.department, status=delivery.status,
                   attempts=delivery.attempts, last_error=delivery.last_error, log=log)


class AlertDetail(AlertOut):
    deliveries: list[DeliveryOut] = Field(description="Webhook deliveries of the alert and their attempts.")


class AlertList(BaseModel):
    alerts: list[AlertOut]


class AckIn(BaseModel):
    acknowledged_by: str = Field(min_length=1, max_length=200, description="The person taking the alert in hand.")
    note: str | None = Field(default=None, max_length=4000, description="What they will do.")


class AckOut(BaseModel):
    alert_id: str
    event_id: str
    acknowledged_by: str
    acknowledged_at: datetime
    note: str | None


class PauseOut(BaseModel):
    started_at: datetime
    ended_at: datetime | None
    seconds: float = Field(description="Length of the pause in the clock's basis (business or calendar time).")


class ThresholdOut(BaseModel):
    percent: int
    at: datetime | None = Field(description="When it is (or was) reached; null if it cannot be known yet.")
    alert_id: str
    raised: bool = Field(description="Whether its alert is recorded.")


class ClockOut(BaseModel):
    clock_id: str
    metric: str
    state: str = Field(description="`running`, `paused`, `breached`, `met`, `missed` or `calendar_gap` (its "
                                   "working time reaches a year its calendar has no holidays for), as of `now`.")
    calendar_gap_year: int | None = Field(None, description="The year without holiday data (state `calendar_gap`).")
    policy_version: int
    rule: str
    calendar: str
    timezone: str
    basis: str
    target_seconds: float
    started_at: datetime
    pauses: list[PauseOut]
    paused_seconds: float
    stopped_at: datetime | None
    stop_reason: str | None
    deadline_at: datetime | None = Field(description="Business-time deadline (if paused: were it resumed now); "
                                                     "null where the calendar has no holiday data.")
    elapsed_seconds: float | None
    elapsed_percent: float | None = Field(description="Computed live for `now` (null: calendar gap).")
    department: str
    escalate_to: str
    agent: str | None
    promise_id: str | None
    due_at: datetime | None
    beyond_standard: bool | None = Field(description="Callback promised further ahead than the policy's standard.")
    thresholds: list[ThresholdOut]
    next_alert_at: datetime | None

    @classmethod
    def of(cls, clock: Clock, now: datetime) -> ClockOut:
        department, role = clock.owner
        end = min(clock.stopped_at, now) if clock.stopped_at else now
        deadline = clock.deadline() or _counted(lambda: clock.projected_deadline(end))
        pauses = [PauseOut(started_at=p.started_at, ended_at=p.ended_at,
                           seconds=_counted(partial(clock.meter.business_seconds_between, p.started_at,
                                                    p.ended_at or end)) or 0.0)
                  for p in clock.pauses]
        elapsed = _counted(lambda: clock.elapsed(now))
        gap = clock.gap()
        beyond = None if clock.standard_seconds is None else clock.target_seconds > clock.standard_seconds
        return cls(
            clock_id=clock.clock_id, metric=clock.metric.value, state=clock.state(now).value,
            calendar_gap_year=gap.year if gap is not None else None,
            policy_version=clock.policy_version, rule=clock.rule, calendar=clock.calendar.name,
            timezone=clock.calendar.timezone, basis=clock.basis.value, target_seconds=clock.target_seconds,
            started_at=clock.started_at, pauses=pauses, paused_seconds=sum(p.seconds for p in pauses),
            stopped_at=clock.stopped_at, stop_reason=clock.stop_reason, deadline_at=deadline,
            elapsed_seconds=elapsed,
            elapsed_percent=None if elapsed is None else round(100.0 * elapsed / clock.target_seconds, 2)
            if clock.target_seconds > 0 else 100.0,
            department=department, escalate_to=role, agent=clock.agent, promise_id=clock.promise_id,
            due_at=clock.due_at, beyond_standard=beyond,
            thresholds=[ThresholdOut(percent=p, at=clock.instant_of(p),
                                     alert_id=str(alert_id_for(clock.clock_id, p, clock.alert_round(p))),
                                     raised=p in clock.alerted) for p in clock.thresholds],
            next_alert_at=clock.next_alert_at(),
        )


def _counted(compute: Callable[[], T]) -> T | None:
    """`compute()`, or None where the clock's calendar has no holiday data (explained as a calendar gap)."""
    try:
        return compute()
    except CalendarGap:
        return None


class CaseSlaOut(BaseModel):
    case_id: str
    now: datetime = Field(description="The instant the elapsed percentages were computed for.")
    case_type: str | None
    priority: str | None
    segment: str | None
    department: str | None
    status: str
    clocks: list[ClockOut]

    @classmethod
    def of(cls, case: CaseSla, now: datetime) -> CaseSlaOut:
        return cls(case_id=case.case_id or case.key, now=now, case_type=case.case_type, priority=case.priority,
                   segment=case.segment, department=case.department, status=case.status.value,
                   clocks=[ClockOut.of(c, now) for c in case.clocks])


class PromiseOut(BaseModel):
    promise_id: str
    case_id: str | None
    department: str
    agent: str | None
    customer_id: str | None
    promised_at: datetime
    due_at: datetime
    reason: str
    status: str = Field(description="`pending`, `kept_on_time`, `kept_late`, `broken` or `released`, as of `now`.")
    made_at: datetime | None
    outcome: str | None
    released_at: datetime | None

    @classmethod
    def of(cls, promise: Promise, now: datetime) -> PromiseOut:
        fields = {name: getattr(promise, name) for name in cls.model_fields if name != "status"}
        return cls(**fields, status=promise.status(now).value)


class LedgerLineOut(BaseModel):
    key: str | None
    total: int
    counts: dict[str, int]

    @classmethod
    def of(cls, line: LedgerLine) -> LedgerLineOut:
        return cls(key=line.key, total=line.total, counts=line.counts)


class PromiseList(BaseModel):
    now: datetime
    promises: list[PromiseOut]
    counts: dict[str, int] = Field(description="Promises per status over the same filters (all of them).")


class Ledger(BaseModel):
    now: datetime
    by: str
    lines: list[LedgerLineOut]


class PolicyDraft(BaseModel):
    """A new policy version; calendars, departments and sites default to the configuration in force."""

    version: Positive64 | None = Field(default=None, description="Defaults to the latest recorded + 1.")
    effective_at: Timestamp | None = Field(default=None, description="Not in the past; defaults to now.")
    description: str | None = Field(default=None, max_length=4000)
    warning_percentages: list[Percent] | None = Field(default=None, max_length=10)
    rules: list[SlaRule] = Field(min_length=1)
    calendars: list[SlaCalendar] | None = None
    default_calendar: str | None = None
    departments: list[SlaDepartment] | None = None
    sites: list[SlaSite] | None = None
