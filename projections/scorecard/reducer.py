"""Scorecard reducer: fold recorded events into keyed fact rows (pure; log order in, rows out).

- Complaints (written, verbal), compliments and referrals count for the holder of the case they name, as known at
  that point of the log (the opening department, then each department that accepted a handoff); without a known
  case, for the department that recorded them.
- An order (`sale.order_placed`) counts once per order id (the first recorded), for the department that booked it,
  with its customer (`key_fn`, None when it names nobody).
- A case's times: opened (`case.opened`, by the opening department), first response (the earliest of a note
  visible to the customer, a request to the customer, a callback made, an outbound call, a resolution), first
  resolution (the earliest `case.resolved`); each reopening is kept as its own row.
- A completed repair visit is kept with its order id; a promise (`callback.promised`) with its due instant and the
  earliest `callback.made` for it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from contracts import (
    CallbackMadePayload,
    CallbackPromisedPayload,
    CallReceivedPayload,
    CaseHandoffAcceptedPayload,
    CaseNoteAddedPayload,
    CaseOpenedPayload,
    CaseReopenedPayload,
    CaseResolvedPayload,
    CaseWaitingOnCustomerPayload,
    ComplaintFiledPayload,
    ComplimentReceivedPayload,
    Envelope,
    ReferralMadePayload,
    RepairVisitCompletedPayload,
    SaleOrderPlacedPayload,
)
from domain.evolve import evolve as replace
from domain.instants import epoch_us
from domain.log import RecordedEvent
from domain.quality.scorecard import FeedbackKind
from projections.keyed import KeyedState, KeyFn, Needs, Reducer, RowKind


@dataclass(frozen=True, slots=True)
class FeedbackRow:
    event_id: str
    kind: str
    department: str
    at_us: int


@dataclass(frozen=True, slots=True)
class SaleRow:
    order_id: str
    position: int
    customer_id: str | None
    department: str
    at_us: int


@dataclass(frozen=True, slots=True)
class CaseRow:
    case_id: str
    department: str | None  # the opening department (None until `case.opened` is seen)
    holder: str | None
    opened_us: int | None
    first_response_us: int | None
    resolved_us: int | None


@dataclass(frozen=True, slots=True)
class ReopenRow:
    event_id: str
    case_id: str
    at_us: int


@dataclass(frozen=True, slots=True)
class VisitRow:
    event_id: str
    order_id: str
    department: str
    at_us: int
    position: int


@dataclass(frozen=True, slots=True)
class PromiseRow:
    promise_id: str
    department: str | None  # None until `callback.promised` is seen
    due_us: int | None
    made_us: int | None


FEEDBACK, SALES, CASES = "scorecard_feedback", "scorecard_sales", "scorecard_cases"
REOPENS, VISITS, PROMISES = "scorecard_reopens", "scorecard_visits", "scorecard_promises"
KINDS = (RowKind(FEEDBACK, FeedbackRow), RowKind(SALES, SaleRow), RowKind(CASES, CaseRow),
         RowKind(REOPENS, ReopenRow), RowKind(VISITS, VisitRow), RowKind(PROMISES, PromiseRow))


def reducer(key_fn: KeyFn) -> Reducer:
    return Reducer(KINDS, needs, fold, key_fn)


def needs(events: Iterable[RecordedEvent], _key_fn: KeyFn) -> Needs:
    """The rows a batch may read: the cases it names, its orders and its promises (event rows are new)."""
    wanted: Needs = {kind.name: set() for kind in KINDS}
    for recorded in events:
        event, payload = recorded.event, recorded.event.payload
        if event.case_id is not None:
            wanted[CASES].add(event.case_id)
        if isinstance(payload, SaleOrderPlacedPayload):
            wanted[SALES].add(payload.order_id)
        elif isinstance(payload, CallbackPromisedPayload | CallbackMadePayload):
            wanted[PROMISES].add(payload.promise_id)
    return wanted


def fold(state: KeyedState, events: Iterable[RecordedEvent], key_fn: KeyFn) -> None:
    """Apply events in log order to `state`."""
    for recorded in events:
        event, payload = recorded.event, recorded.event.payload
        at_us, event_id = recorded.occurred_us, recorded.event_id
        kind = _feedback_kind(payload)
        if kind is not None:
            state.put(FEEDBACK, event_id, FeedbackRow(event_id, kind.value, _department(state, event), at_us))
        elif isinstance(payload, SaleOrderPlacedPayload):
            if state.get(SALES, payload.order_id) is None:
                state.put(SALES, payload.order_id, SaleRow(payload.order_id, recorded.position,
                                                           key_fn(event.customer), event.source.department, at_us))
        elif isinstance(payload, RepairVisitCompletedPayload):
            state.put(VISITS, event_id, VisitRow(event_id, payload.order_id, event.source.department, at_us,
                                                 recorded.position))
        elif isinstance(payload, CallbackPromisedPayload):
            row = _promise(state, payload.promise_id)
            state.put(PROMISES, payload.promise_id, replace(row, department=event.source.department,
                                                            due_us=epoch_us(payload.due_at)))
        if isinstance(payload, CallbackMadePayload):
            row = _promise(state, payload.promise_id)
            state.put(PROMISES, payload.promise_id, replace(row, made_us=_earliest(row.made_us, at_us)))
        if event.case_id is not None:
            _case_event(state, event, event.case_id, at_us, event_id)


def _case_event(state: KeyedState, event: Envelope, case_id: str, at_us: int, event_id: str) -> None:
    payload = event.payload
    row = state.get(CASES, case_id) or CaseRow(case_id, None, None, None, None, None)
    if isinstance(payload, CaseOpenedPayload):
        row = replace(row, department=event.source.department, holder=event.source.department, opened_us=at_us)
    elif isinstance(payload, CaseHandoffAcceptedPayload):
        row = replace(row, holder=payload.department)
    elif isinstance(payload, CaseReopenedPayload):
        state.put(REOPENS, event_id, ReopenRow(event_id, case_id, at_us))
    if isinstance(payload, CaseResolvedPayload):
        row = replace(row, resolved_us=_earliest(row.resolved_us, at_us))
    if _is_response(event):
        row = replace(row, first_response_us=_earliest(row.first_response_us, at_us))
    if state.get(CASES, case_id) is not None or row != CaseRow(case_id, None, None, None, None, None):
        state.put(CASES, case_id, row)


def _is_response(event: Envelope) -> bool:
    payload = event.payload
    if isinstance(payload, CaseNoteAddedPayload):
        return payload.visibility == "customer"
    if isinstance(payload, CallReceivedPayload):
        return payload.direction == "outbound"
    return isinstance(payload, CaseWaitingOnCustomerPayload | CallbackMadePayload | CaseResolvedPayload)


def _feedback_kind(payload: object) -> FeedbackKind | None:
    if isinstance(payload, ComplaintFiledPayload):
        return FeedbackKind.WRITTEN_COMPLAINT if payload.form == "written" else FeedbackKind.VERBAL_COMPLAINT
    if isinstance(payload, ComplimentReceivedPayload):
        return FeedbackKind.COMPLIMENT
    if isinstance(payload, ReferralMadePayload):
        return FeedbackKind.REFERRAL
    return None


def _department(state: KeyedState, event: Envelope) -> str:
    """The holder of the event's case when known, else the recording department."""
    case: CaseRow | None = state.get(CASES, event.case_id) if event.case_id is not None else None
    return case.holder if case is not None and case.holder is not None else event.source.department


def _promise(state: KeyedState, promise_id: str) -> PromiseRow:
    found: PromiseRow | None = state.get(PROMISES, promise_id)
    return found or PromiseRow(promise_id, None, None, None)


def _earliest(known: int | None, at_us: int) -> int:
    return at_us if known is None else min(known, at_us)
