"""Case rules: fold one recorded event into a case's state; facts that break a rule become anomalies, never errors.

Ownership moves on acceptance: the opener holds the case until a department accepts a handoff of it. Handoffs are
always applied (even from a department that does not hold the case, or of a resolved case); other anomalous facts
leave the state as it was. Times are the events' `occurred_at`; nothing here reads a clock.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from contracts import (
    CaseCustomerResponded,
    CaseCustomerRespondedPayload,
    CaseEnvelope,
    CaseEscalated,
    CaseEscalatedPayload,
    CaseHandedOff,
    CaseHandedOffPayload,
    CaseHandoffAccepted,
    CaseHandoffAcceptedPayload,
    CaseOpened,
    CaseOpenedPayload,
    CaseReopened,
    CaseResolved,
    CaseWaitingOnCustomer,
    Envelope,
)
from domain.cases.context import CONTEXT_RULES, given_by, repeat_contact
from domain.cases.lifecycle import Move, move
from domain.cases.model import (
    Anomaly,
    AnomalyKind,
    CaseState,
    CaseStatus,
    Handoff,
    HandoffOutcome,
    Statement,
    Stint,
)
from domain.evolve import evolve as replace
from domain.log import RecordedEvent

Step = tuple[CaseState, tuple[Anomaly, ...]]
Rule = Callable[[CaseState, RecordedEvent], Step]

def apply(state: CaseState, recorded: RecordedEvent) -> Step:
    """The case after `recorded`, and the anomalies it raised (also appended to the state's own list)."""
    event = recorded.event
    rule = _RULES.get(type(event)) or CONTEXT_RULES.get(type(event))
    if rule is None or (not state.known and not isinstance(event, CaseEnvelope)):
        return state, ()  # changes nothing here (call.ended, repair.*, ...); only case.* events start a case
    state, found = _before_rule(state, recorded)
    state, raised = rule(state, recorded)
    found += raised
    state = replace(state, last_position=recorded.position, given=given_by(state.given, event),
                    anomalies=state.anomalies + found)
    return state, found


def _before_rule(state: CaseState, recorded: RecordedEvent) -> Step:
    """A case first seen through an event other than case.opened is implied; lifecycle events are order-checked."""
    event = recorded.event
    found: tuple[Anomaly, ...] = ()
    if not state.known and not isinstance(event, CaseOpened):
        state = _implied(state, recorded)
        found = (_anomaly(recorded, AnomalyKind.NOT_OPENED, f"first event of the case is {event.event_type}"),)
    if type(event) in LIFECYCLE:
        state, late = _in_order(state, recorded)
        found += late
    return state, found


def _implied(state: CaseState, recorded: RecordedEvent) -> CaseState:
    """A case seen first through another event: held by that event's department from that moment."""
    event = recorded.event
    payload = event.payload
    holder = payload.from_department if isinstance(payload, CaseHandedOffPayload) else event.source.department
    return _started(state, recorded, holder)


def _started(state: CaseState, recorded: RecordedEvent, holder: str) -> CaseState:
    at = recorded.event.occurred_at
    return replace(state, known=True, holder=holder, opened_by=holder, opened_at=at,
                   opened_position=recorded.position, last_at=at, stints=(Stint(holder, at, "opened"),))


def _in_order(state: CaseState, recorded: RecordedEvent) -> Step:
    at = recorded.event.occurred_at
    if state.last_at is None or at >= state.last_at:
        return replace(state, last_at=at), ()
    detail = f"occurred at {at.isoformat()}, before the previous case event at {state.last_at.isoformat()}"
    return state, (_anomaly(recorded, AnomalyKind.OUT_OF_ORDER, detail),)


def _opened(state: CaseState, recorded: RecordedEvent) -> Step:
    event = recorded.event
    payload = event.payload
    assert isinstance(payload, CaseOpenedPayload)
    if state.opened:
        return state, (_anomaly(recorded, AnomalyKind.OPENED_TWICE, "the case was already opened"),)
    if not state.known:
        state = _started(state, recorded, event.source.department)
    text = f"{payload.subject}: {payload.description}" if payload.description else payload.subject
    said = Statement(event.occurred_at, event.source.department, str(event.source.channel), "description", text)
    return replace(state, opened=True, case_type=payload.case_type.value, priority=payload.priority.value,
                   subject=payload.subject, statements=(said, *state.statements)), ()


def _handed_off(state: CaseState, recorded: RecordedEvent) -> Step:
    event = recorded.event
    payload = event.payload
    assert isinstance(payload, CaseHandedOffPayload)
    found = []
    if state.status is CaseStatus.RESOLVED:
        found.append(_anomaly(recorded, AnomalyKind.HANDOFF_OF_RESOLVED_CASE, "the case is resolved"))
    if payload.from_department != state.holder:
        detail = f"handed off by {payload.from_department}, but {state.holder} holds the case"
        found.append(_anomaly(recorded, AnomalyKind.HANDOFF_FROM_NON_HOLDER, detail))
    path, at = state.path, event.occurred_at
    handoff = Handoff(
        seq=len(state.handoffs) + 1, position=recorded.position, event_id=recorded.event_id,
        from_department=payload.from_department, to_department=payload.to_department, reason=payload.reason,
        context_summary=payload.context_summary, handed_at=at, case_type=state.case_type,
        priority=state.priority, returned=payload.to_department in path[:-1],
    )
    earlier = tuple(_ended(h, HandoffOutcome.SUPERSEDED, at) if h.pending else h for h in state.handoffs)
    return replace(state, handoffs=(*earlier, handoff)), tuple(found)


def _accepted(state: CaseState, recorded: RecordedEvent) -> Step:
    event = recorded.event
    payload = event.payload
    assert isinstance(payload, CaseHandoffAcceptedPayload)
    handoff, problem = _accepted_handoff(state, payload)
    if problem is not None:
        return state, (_anomaly(recorded, *problem),)
    assert handoff is not None
    at = event.occurred_at
    done = replace(_ended(handoff, HandoffOutcome.ACCEPTED, at), accepted_at=at, accepted_by=event.source.agent)
    handoffs = tuple(done if h.seq == handoff.seq else h for h in state.handoffs)
    return _owned_by(replace(state, handoffs=handoffs), payload.department, at), ()


def _accepted_handoff(
    state: CaseState, payload: CaseHandoffAcceptedPayload
) -> tuple[Handoff | None, tuple[AnomalyKind, str] | None]:
    """The handoff an acceptance takes, or why it takes none."""
    if payload.handoff_event_id is not None:
        wanted = str(payload.handoff_event_id)
        handoff = next((h for h in state.handoffs if h.event_id == wanted), None)
        if handoff is None:
            return None, (AnomalyKind.ACCEPTANCE_WITHOUT_HANDOFF, f"no handoff {wanted} on this case")
        if not handoff.pending:
            return None, (AnomalyKind.ACCEPTANCE_OF_ENDED_HANDOFF, f"handoff {handoff.seq} is {handoff.outcome}")
    else:
        handoff = state.pending
        if handoff is None:
            return None, (AnomalyKind.ACCEPTANCE_WITHOUT_HANDOFF, "no handoff is waiting for acceptance")
    if handoff.to_department != payload.department:
        detail = f"accepted by {payload.department}, but handed to {handoff.to_department}"
        return None, (AnomalyKind.ACCEPTANCE_BY_OTHER_DEPARTMENT, detail)
    return handoff, None


def _owned_by(state: CaseState, department: str, at: datetime) -> CaseState:
    """Ownership passes to `department`; an unresolved case starts a new stint there."""
    if department == state.holder or state.status is CaseStatus.RESOLVED:
        return replace(state, holder=department)
    stints = (*_close_stint(state.stints, at), Stint(department, at, "accepted"))
    return replace(state, holder=department, stints=stints)


def _waiting(state: CaseState, recorded: RecordedEvent) -> Step:
    moved = _moved(state, recorded)
    if moved.breaks is not None:
        return state, (_anomaly(recorded, moved.breaks, "waiting on the customer"),)
    return replace(state, status=moved.to), ()


def _responded(state: CaseState, recorded: RecordedEvent) -> Step:
    """An answer to a question ends the wait; a response nobody asked for is the customer contacting again."""
    event = recorded.event
    payload = event.payload
    assert isinstance(payload, CaseCustomerRespondedPayload)
    said = state.statements
    if payload.note:
        said += (Statement(event.occurred_at, event.source.department, str(event.source.channel), "response",
                           payload.note),)
    to = _moved(state, recorded).to
    if to is not state.status:
        return replace(state, status=to, statements=said), ()
    contact = repeat_contact(state, recorded)
    contacts = state.contacts + ((contact,) if contact is not None else ())
    return replace(state, statements=said, contacts=contacts), ()


def _escalated(state: CaseState, recorded: RecordedEvent) -> Step:
    payload = recorded.event.payload
    assert isinstance(payload, CaseEscalatedPayload)
    if state.status is CaseStatus.RESOLVED:
        return state, (_anomaly(recorded, AnomalyKind.CHANGE_ON_RESOLVED_CASE, "escalated"),)
    level = payload.level if payload.level is not None else state.escalation_level + 1
    return replace(state, case_type=payload.to_type.value, escalation_level=max(level, state.escalation_level)), ()


def _resolved(state: CaseState, recorded: RecordedEvent) -> Step:
    moved = _moved(state, recorded)
    if moved.breaks is not None:
        return state, (_anomaly(recorded, moved.breaks, "the case was already resolved"),)
    at = recorded.event.occurred_at
    handoffs = tuple(_ended(h, HandoffOutcome.CLOSED, at) if h.pending else h for h in state.handoffs)
    return replace(state, status=moved.to, resolved_at=at, handoffs=handoffs,
                   stints=_close_stint(state.stints, at)), ()


def _reopened(state: CaseState, recorded: RecordedEvent) -> Step:
    moved = _moved(state, recorded)
    if moved.breaks is not None:
        return state, (_anomaly(recorded, moved.breaks, f"the case is {state.status}"),)
    at = recorded.event.occurred_at
    return replace(state, status=moved.to, resolved_at=None, reopened=state.reopened + 1,
                   stints=(*state.stints, Stint(state.holder, at, "reopened"))), ()


def _moved(state: CaseState, recorded: RecordedEvent) -> Move:
    """The lifecycle move of a waiting, response, resolution or reopening (domain.cases.lifecycle)."""
    moved = move(state.status, recorded.event)
    assert moved is not None and moved.to is not None  # a lifecycle event, on a started case
    return moved


def _ended(handoff: Handoff, outcome: HandoffOutcome, at: datetime) -> Handoff:
    return replace(handoff, outcome=outcome, ended_at=at)


def _close_stint(stints: tuple[Stint, ...], at: datetime) -> tuple[Stint, ...]:
    if not stints or stints[-1].ended_at is not None:
        return stints
    return (*stints[:-1], replace(stints[-1], ended_at=max(at, stints[-1].started_at)))


def _anomaly(recorded: RecordedEvent, kind: AnomalyKind, detail: str) -> Anomaly:
    event: Envelope = recorded.event
    return Anomaly(recorded.position, recorded.event_id, event.event_type, kind, detail)


_RULES: dict[type[Envelope], Rule] = {
    CaseOpened: _opened,
    CaseHandedOff: _handed_off,
    CaseHandoffAccepted: _accepted,
    CaseWaitingOnCustomer: _waiting,
    CaseCustomerResponded: _responded,
    CaseEscalated: _escalated,
    CaseResolved: _resolved,
    CaseReopened: _reopened,
}

LIFECYCLE: frozenset[type[Envelope]] = frozenset(_RULES)
"""The events that move a case through its lifecycle (order-checked); notes and context events are not."""
