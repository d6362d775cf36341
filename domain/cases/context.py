"""The context that travels with a case: what the customer said and gave, promises, and repeat contacts.

A *contact* is the customer reaching the organisation on their own: an inbound `call.received`, a
`web.request_submitted`, a `frontdesk.visit_checked_in`, or a `case.customer_responded` the case was not waiting
for. A *repeat contact* is a contact about a case that is open (not resolved) and that occurred after the case was
opened: either the event names the case, or (no case named) it comes from the case's customer — the projection
routes it to that customer's most recently opened open case.
"""

from __future__ import annotations

from collections.abc import Callable

from contracts import (
    CallbackMade,
    CallbackMadePayload,
    CallbackPromised,
    CallbackPromisedPayload,
    CallReceived,
    CallReceivedPayload,
    CaseNoteAdded,
    CaseNoteAddedPayload,
    ComplaintFiled,
    ComplaintFiledPayload,
    Envelope,
    FrontdeskVisitCheckedIn,
    FrontdeskVisitCheckedInPayload,
    WebRequestSubmitted,
    WebRequestSubmittedPayload,
)
from domain.cases.model import Anomaly, CaseState, Contact, Given, Promise, Statement
from domain.evolve import evolve as replace
from domain.identity.identifiers import IdentifierKind, identifiers_of
from domain.log import RecordedEvent

Step = tuple[CaseState, tuple[Anomaly, ...]]

CONTACT_EVENTS: frozenset[type[Envelope]] = frozenset({CallReceived, WebRequestSubmitted, FrontdeskVisitCheckedIn})
"""The events that are a contact by the customer (calls only when inbound); see also customer_responded."""


def is_contact_event(event: Envelope) -> bool:
    """Whether the event is the customer reaching out (a candidate repeat contact)."""
    if type(event) not in CONTACT_EVENTS:
        return False
    payload = event.payload
    return not isinstance(payload, CallReceivedPayload) or payload.direction == "inbound"


def repeat_contact(state: CaseState, recorded: RecordedEvent) -> Contact | None:
    """The repeat contact this event is on the case, if the case is open and was opened before it."""
    event = recorded.event
    if not state.is_open or state.opened_at is None or event.occurred_at <= state.opened_at:
        return None
    via = "case" if event.case_id == state.case_id else "customer"
    return Contact(recorded.position, recorded.event_id, event.event_type, event.occurred_at,
                   str(event.source.channel), event.source.department, state.holder, via)


def given_by(given: tuple[Given, ...], event: Envelope) -> tuple[Given, ...]:
    """Identifiers already given, with the ones this event carries added (national IDs only masked)."""
    known = {(g.kind, g.value) for g in given}
    added = []
    for found in identifiers_of(event.customer):
        value = found.value
        if found.kind is IdentifierKind.NATIONAL_ID:
            value = event.customer.national_id_masked or "(on file)"
        if (found.kind.value, value) not in known:
            known.add((found.kind.value, value))
            added.append(Given(found.kind.value, value, event.occurred_at))
    return given + tuple(added) if added else given


def _contacted(state: CaseState, recorded: RecordedEvent) -> Step:
    event = recorded.event
    if not is_contact_event(event):
        return state, ()
    contact = repeat_contact(state, recorded)
    said = _said(event)
    return replace(
        state,
        contacts=state.contacts + ((contact,) if contact is not None else ()),
        statements=state.statements + ((said,) if said is not None else ()),
    ), ()


def _said(event: Envelope) -> Statement | None:
    payload = event.payload
    if isinstance(payload, WebRequestSubmittedPayload):
        return _statement(event, "web_request", f"{payload.subject}: {payload.body}")
    if isinstance(payload, FrontdeskVisitCheckedInPayload):
        return _statement(event, "visit", payload.purpose)
    return None


def _noted(state: CaseState, recorded: RecordedEvent) -> Step:
    payload = recorded.event.payload
    assert isinstance(payload, CaseNoteAddedPayload)
    kind = "note" if payload.visibility == "customer" else "internal_note"
    return replace(state, statements=(*state.statements, _statement(recorded.event, kind, payload.note))), ()


def _complained(state: CaseState, recorded: RecordedEvent) -> Step:
    payload = recorded.event.payload
    assert isinstance(payload, ComplaintFiledPayload)
    said = _statement(recorded.event, "complaint", payload.description)
    return replace(state, statements=(*state.statements, said)), ()


def _promised(state: CaseState, recorded: RecordedEvent) -> Step:
    event = recorded.event
    payload = event.payload
    assert isinstance(payload, CallbackPromisedPayload)
    if any(p.promise_id == payload.promise_id for p in state.promises):
        return state, ()  # the same promise recorded again: the first one stands
    promise = Promise(payload.promise_id, event.source.department, event.occurred_at, payload.due_at,
                      payload.reason)
    return replace(state, promises=(*state.promises, promise)), ()


def _called_back(state: CaseState, recorded: RecordedEvent) -> Step:
    event = recorded.event
    payload = event.payload
    assert isinstance(payload, CallbackMadePayload)
    for index, promise in enumerate(state.promises):
        if promise.promise_id == payload.promise_id and promise.made_at is None:
            kept = replace(promise, made_at=event.occurred_at, outcome=payload.outcome)
            return replace(state, promises=(*state.promises[:index], kept, *state.promises[index + 1:])), ()
    return state, ()


def _statement(event: Envelope, kind: str, text: str) -> Statement:
    return Statement(event.occurred_at, event.source.department, str(event.source.channel), kind, text)


CONTEXT_RULES: dict[type[Envelope], Callable[[CaseState, RecordedEvent], Step]] = {
    **dict.fromkeys(CONTACT_EVENTS, _contacted),
    CaseNoteAdded: _noted,
    ComplaintFiled: _complained,
    CallbackPromised: _promised,
    CallbackMade: _called_back,
}
