"""The SLA side of a case: which clocks each event starts, pauses, resumes or stops, and its promises."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from contracts import (
    CallbackMade,
    CallbackMadePayload,
    CallbackPromised,
    CallbackPromisedPayload,
    CallReceived,
    CallReceivedPayload,
    CaseCustomerResponded,
    CaseEscalated,
    CaseEscalatedPayload,
    CaseHandedOff,
    CaseHandedOffPayload,
    CaseHandoffAccepted,
    CaseHandoffAcceptedPayload,
    CaseNoteAdded,
    CaseNoteAddedPayload,
    CaseOpened,
    CaseOpenedPayload,
    CaseReopened,
    CaseResolved,
    CaseWaitingOnCustomer,
    Channel,
    Envelope,
    SlaAlertAcknowledged,
    SlaAlertPayload,
    SlaAlertRetracted,
    SlaAlertRetractedPayload,
    SlaBreached,
    SlaCalendarGap,
    SlaCalendarGapPayload,
    SlaMetric,
    SlaPolicyPublished,
    SlaWarningRaised,
    WebRequestSubmitted,
)
from domain.cases.lifecycle import Move, move
from domain.cases.model import CaseStatus as Stage
from domain.evolve import evolve as replace
from domain.identity.identifiers import customer_key
from domain.log import RecordedEvent
from domain.sla.case import CaseSla, CaseStatus, clock_id_for
from domain.sla.clock import Clock
from domain.sla.ledger import Promise
from domain.sla.policy import ClockContext, PolicyBook

_INTERACTIVE = frozenset({Channel.PHONE, Channel.FRONT_DESK, Channel.MESSAGING, Channel.FIELD})
_SLA_EVENTS: frozenset[type[Envelope]] = frozenset({
    SlaPolicyPublished, SlaWarningRaised, SlaBreached, SlaAlertAcknowledged, SlaAlertRetracted, SlaCalendarGap})
"""touchline's own SLA events: they name no customer of their own to learn."""
_CASE_METRICS = frozenset({SlaMetric.FIRST_RESPONSE, SlaMetric.NEXT_RESPONSE, SlaMetric.RESOLUTION,
                           SlaMetric.CUSTOMER_UPDATE})


def track(case: CaseSla, recorded: RecordedEvent, policies: PolicyBook) -> CaseSla:
    """The case after the recorded event (events of other kinds leave it unchanged)."""
    event = recorded.event
    handler = _HANDLERS.get(type(event))
    case = _learn_customer(case, event)
    if handler is None:
        return case
    return _stamp(case, handler(case, event, policies), recorded.position, recorded.event_id)


def _stamp(before: CaseSla, after: CaseSla, position: int, event_id: str) -> CaseSla:
    """Clocks whose running time the event shaped (started, paused, resumed, stopped) remember it."""
    if after.clocks is before.clocks:
        return after
    kept = {id(c) for c in before.clocks}  # the very same objects: untouched by the event
    earlier = {c.clock_id: c for c in before.clocks}
    for clock in after.clocks:
        if id(clock) in kept:
            continue
        old = earlier.get(clock.clock_id)
        if old is None or old.timing() != clock.timing():
            clock.stamp_new(position, event_id)
    return after


def _learn_customer(case: CaseSla, event: Envelope) -> CaseSla:
    if case.customer_id is not None or type(event) in _SLA_EVENTS:
        return case
    found = customer_key(event.customer)
    return replace(case, customer_id=found) if found is not None else case


def _start(case: CaseSla, metric: SlaMetric, event: Envelope, policies: PolicyBook, discriminator: str, *,
           department: str | None = None, promise: Promise | None = None) -> CaseSla:
    """Start a clock under the policy in force at the event's time (no policy or no target: no clock)."""
    clock_id = clock_id_for(case.key, metric, discriminator)
    policy = policies.in_force(event.occurred_at)
    if case.clock(clock_id) is not None or policy is None:
        return case
    owner = department or case.department or event.source.department
    context = ClockContext(owner, case.case_type, case.priority, case.segment, case.site or event.source.site)
    chosen = policy.select(metric, context)
    if chosen is None:
        return case
    start = event.occurred_at
    meter_target = float(chosen.target.seconds)
    clock = Clock(
        clock_id=clock_id, metric=metric, case_id=case.case_id, department=owner,
        policy_version=chosen.policy_version, rule=chosen.rule, calendar=chosen.calendar,
        basis=chosen.target.basis, target_seconds=meter_target, warnings=chosen.warnings,
        escalate_to=chosen.manager_role, started_at=start, start_event_id=str(event.event_id),
        agent=promise.agent if promise else event.source.agent, customer_id=case.customer_id,
        promise_id=promise.promise_id if promise else None, due_at=promise.due_at if promise else None,
    )
    if promise is not None:
        clock = replace(clock, target_seconds=clock.meter.business_seconds_between(start, promise.due_at),
                        standard_seconds=meter_target)
    return replace(case, clocks=(*case.clocks, clock))


def _update(case: CaseSla, change: Callable[[Clock], Clock], *metrics: SlaMetric) -> CaseSla:
    """Apply `change` to the running clocks of `metrics`."""
    if not case.running(*metrics):
        return case
    chosen = set(metrics)
    return replace(case, clocks=tuple(change(c) if c.stopped_at is None and c.metric in chosen else c
                                      for c in case.clocks))


def _agent_contact(case: CaseSla, event: Envelope, policies: PolicyBook) -> CaseSla:
    """An agent reached the customer: responses are met and the update clock starts a new cycle."""
    at = event.occurred_at
    case = _update(case, lambda c: c.stopped(at, "agent contact"), SlaMetric.FIRST_RESPONSE,
                   SlaMetric.NEXT_RESPONSE, SlaMetric.CUSTOMER_UPDATE)
    if case.status is not CaseStatus.OPEN:
        return case
    cycle = str(case.count(SlaMetric.CUSTOMER_UPDATE) + 1)
    return _start(case, SlaMetric.CUSTOMER_UPDATE, event, policies, cycle)


def _customer_contact(case: CaseSla, event: Envelope, policies: PolicyBook) -> CaseSla:
    """The customer wrote or answered: a next-response clock starts unless one runs already."""
    if case.status is CaseStatus.RESOLVED or case.running(SlaMetric.NEXT_RESPONSE):
        return case
    cycle = str(case.count(SlaMetric.NEXT_RESPONSE) + 1)
    return _start(case, SlaMetric.NEXT_RESPONSE, event, policies, cycle)


def _opened(case: CaseSla, event: Envelope, policies: PolicyBook) -> CaseSla:
    if case.count(SlaMetric.RESOLUTION):
        return case  # a redelivered or duplicate opening
    payload = event.payload
    assert isinstance(payload, CaseOpenedPayload)
    case = replace(case, case_type=payload.case_type.value, priority=payload.priority.value,
                   segment=payload.segment, department=event.source.department,
                   site=event.source.site, status=CaseStatus.OPEN)
    case = _start(case, SlaMetric.FIRST_RESPONSE, event, policies, "1")
    if event.source.agent is not None and event.source.channel in _INTERACTIVE:
        case = _update(case, lambda c: c.stopped(event.occurred_at, "opened in contact with the customer"),
                       SlaMetric.FIRST_RESPONSE)
    case = _start(case, SlaMetric.RESOLUTION, event, policies, "1")
    return _start(case, SlaMetric.CUSTOMER_UPDATE, event, policies, "1")


def _note(case: CaseSla, event: Envelope, policies: PolicyBook) -> CaseSla:
    assert isinstance(event.payload, CaseNoteAddedPayload)
    return _agent_contact(case, event, policies) if event.payload.visibility == "customer" else case


def _call(case: CaseSla, event: Envelope, policies: PolicyBook) -> CaseSla:
    assert isinstance(event.payload, CallReceivedPayload)
    talked = event.payload.answered_by == "agent" or event.source.agent is not None
    return _agent_contact(case, event, policies) if talked and case.case_id else case


def _handed_off(case: CaseSla, event: Envelope, policies: PolicyBook) -> CaseSla:
    assert isinstance(event.payload, CaseHandedOffPayload)
    return _start(case, SlaMetric.HANDOFF_ACCEPTANCE, event, policies, str(event.event_id),
                  department=event.payload.to_department)


def _handoff_accepted(case: CaseSla, event: Envelope, policies: PolicyBook) -> CaseSla:
    payload = event.payload
    assert isinstance(payload, CaseHandoffAcceptedPayload)
    at, department = event.occurred_at, payload.department
    wanted = (clock_id_for(case.key, SlaMetric.HANDOFF_ACCEPTANCE, str(payload.handoff_event_id))
              if payload.handoff_event_id else None)

    def accept(clock: Clock) -> Clock:
        matches = clock.clock_id == wanted if wanted else clock.department == department
        return clock.stopped(at, f"accepted by {department}") if matches else clock

    case = _update(case, accept, SlaMetric.HANDOFF_ACCEPTANCE)
    return _move(replace(case, department=department), department, at, policies)


def _move(case: CaseSla, department: str, at: datetime, policies: PolicyBook) -> CaseSla:
    """Running case clocks follow the case to its new owner (and its manager), keeping their policy."""
    def follow(clock: Clock) -> Clock:
        policy = policies.version(clock.policy_version)
        role = policy.manager_role(department) if policy else f"{department}-manager"
        return clock.handed_over(at, department, role)

    return _update(case, follow, *_CASE_METRICS)


def _waiting(case: CaseSla, event: Envelope, policies: PolicyBook) -> CaseSla:
    case = _moved(_agent_contact(case, event, policies), event)[0]
    return _update(case, lambda c: c.paused(event.occurred_at), SlaMetric.RESOLUTION, SlaMetric.CUSTOMER_UPDATE)


def _responded(case: CaseSla, event: Envelope, policies: PolicyBook) -> CaseSla:
    case = _moved(case, event)[0]
    case = _update(case, lambda c: c.resumed(event.occurred_at), SlaMetric.RESOLUTION, SlaMetric.CUSTOMER_UPDATE)
    return _customer_contact(case, event, policies)


def _web_request(case: CaseSla, event: Envelope, policies: PolicyBook) -> CaseSla:
    return _customer_contact(case, event, policies) if case.case_id else case


def _escalated(case: CaseSla, event: Envelope, policies: PolicyBook) -> CaseSla:
    """A new case type (an inquiry becoming a complaint) restarts resolution and update clocks under the
    rule for the new type; a level-only escalation changes no clock."""
    payload = event.payload
    assert isinstance(payload, CaseEscalatedPayload)
    if payload.to_type.value == case.case_type:
        return case
    case = replace(case, case_type=payload.to_type.value)
    reason = f"escalated to {payload.to_type.value}"
    restarted = [m for m in (SlaMetric.RESOLUTION, SlaMetric.CUSTOMER_UPDATE) if case.running(m)]
    case = _update(case, lambda c: c.stopped(event.occurred_at, reason), *restarted)
    for metric in restarted:
        case = _start(case, metric, event, policies, str(case.count(metric) + 1))
    if case.status is CaseStatus.WAITING:
        case = _update(case, lambda c: c.paused(event.occurred_at), *restarted)
    return case


def _resolved(case: CaseSla, event: Envelope, _: PolicyBook) -> CaseSla:
    at = event.occurred_at
    case = _moved(_update(case, lambda c: c.stopped(at, "case resolved"), *SlaMetric), event)[0]
    return replace(case, promises=tuple(p.released(at) for p in case.promises))


def _reopened(case: CaseSla, event: Envelope, policies: PolicyBook) -> CaseSla:
    reopened, moved = _moved(case, event)
    if moved.breaks is not None:
        return case  # reopening a case that is not resolved
    case = reopened
    case = _start(case, SlaMetric.RESOLUTION, event, policies, str(case.count(SlaMetric.RESOLUTION) + 1))
    return _start(case, SlaMetric.CUSTOMER_UPDATE, event, policies, str(case.count(SlaMetric.CUSTOMER_UPDATE) + 1))


_STAGES = {CaseStatus.OPEN: Stage.OPEN, CaseStatus.WAITING: Stage.WAITING_ON_CUSTOMER,
           CaseStatus.RESOLVED: Stage.RESOLVED}  # (UNKNOWN: not opened yet)
_STATUSES = {stage: status for status, stage in _STAGES.items()}


def _moved(case: CaseSla, event: Envelope) -> tuple[CaseSla, Move]:
    """The case with the status a lifecycle fact moves it to (domain.cases.lifecycle), followed as recorded even
    when the fact breaks a case rule, and the move."""
    moved = move(_STAGES.get(case.status), event)
    assert moved is not None  # a waiting, response, resolution or reopening
    status = _STATUSES[moved.to] if moved.to is not None else case.status
    return (case if status is case.status else replace(case, status=status)), moved


def _promised(case: CaseSla, event: Envelope, policies: PolicyBook) -> CaseSla:
    payload = event.payload
    assert isinstance(payload, CallbackPromisedPayload)
    if any(p.promise_id == payload.promise_id for p in case.promises):
        return case
    promise = Promise(payload.promise_id, event.case_id, event.source.department, event.source.agent,
                      case.customer_id, event.occurred_at, payload.due_at, payload.reason, str(event.event_id))
    case = replace(case, promises=(*case.promises, promise))
    return _start(case, SlaMetric.CALLBACK_PROMISE, event, policies, payload.promise_id,
                  department=event.source.department, promise=promise)


def _made(case: CaseSla, event: Envelope, policies: PolicyBook) -> CaseSla:
    payload = event.payload
    assert isinstance(payload, CallbackMadePayload)
    at = event.occurred_at
    promises = tuple(p.made(at, payload.outcome) if p.promise_id == payload.promise_id else p
                     for p in case.promises)
    case = _update(replace(case, promises=promises),
                   lambda c: c.stopped(at, f"callback made ({payload.outcome})") if c.promise_id == payload.promise_id
                   else c, SlaMetric.CALLBACK_PROMISE)
    return _agent_contact(case, event, policies) if payload.outcome != "no_answer" else case


def _alerted(case: CaseSla, event: Envelope, _: PolicyBook) -> CaseSla:
    payload = event.payload
    assert isinstance(payload, SlaAlertPayload)
    found = case.clock(payload.clock_id)
    if found is None or payload.threshold_percent in found.alerted:
        return case
    updated = found.alerting(payload.threshold_percent, event.occurred_at)
    return replace(case, clocks=tuple(updated if c is found else c for c in case.clocks))


def _retracted(case: CaseSla, event: Envelope, _: PolicyBook) -> CaseSla:
    payload = event.payload
    assert isinstance(payload, SlaAlertRetractedPayload)
    found = case.clock(payload.clock_id)
    if found is None or payload.threshold_percent not in found.alerted:
        return case
    updated = found.retracting(payload.threshold_percent)
    return replace(case, clocks=tuple(updated if c is found else c for c in case.clocks))


def _gap(case: CaseSla, event: Envelope, _: PolicyBook) -> CaseSla:
    payload = event.payload
    assert isinstance(payload, SlaCalendarGapPayload)
    found = case.clock(payload.clock_id)
    if found is None or found.gap_alerted:
        return case
    updated = replace(found, gap_alerted=True)
    return replace(case, clocks=tuple(updated if c is found else c for c in case.clocks))


_HANDLERS: dict[type[Envelope], Callable[[CaseSla, Envelope, PolicyBook], CaseSla]] = {
    CaseOpened: _opened,
    CaseNoteAdded: _note,
    CallReceived: _call,
    CaseHandedOff: _handed_off,
    CaseHandoffAccepted: _handoff_accepted,
    CaseWaitingOnCustomer: _waiting,
    CaseCustomerResponded: _responded,
    WebRequestSubmitted: _web_request,
    CaseEscalated: _escalated,
    CaseResolved: _resolved,
    CaseReopened: _reopened,
    CallbackPromised: _promised,
    CallbackMade: _made,
    SlaWarningRaised: _alerted,
    SlaBreached: _alerted,
    SlaAlertRetracted: _retracted,
    SlaCalendarGap: _gap,
}
