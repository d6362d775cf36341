"""The facts the contact-quality measures read: one per relevant recorded event, in plain values (pure)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from contracts import (
    CallbackMadePayload,
    CallbackPromisedPayload,
    CallReceivedPayload,
    CaseHandedOffPayload,
    CaseNoteAddedPayload,
    CaseOpenedPayload,
    ComplaintFiledPayload,
    Envelope,
    SlaBreachedPayload,
    SurveyServqualAnsweredPayload,
)
from domain.cases.context import is_contact_event
from domain.instants import epoch_us
from domain.log import RecordedEvent

Resolve = Callable[[str], str]
"""Anchor (the key an event is stored under) -> the customer it belongs to now (the customers projection)."""

HOUR_US = 3_600_000_000
GAP_SCALE = 10_000  # survey gaps are kept as integers of 1/10 000 (exact in every store)

TOUCH_TYPES = frozenset({"call.received", "web.request_submitted", "frontdesk.visit_checked_in", "callback.made"})
"""Events that are a contact between a customer and the organisation, whoever started it (the contact rhythm)."""

KEPT_TYPES = TOUCH_TYPES | frozenset({
    "case.opened", "case.resolved", "case.reopened", "case.handed_off", "case.note_added",
    "case.waiting_on_customer", "complaint.filed", "callback.promised", "sla.breached", "survey.servqual_answered",
})
RESPONSE_TYPES = frozenset({"case.resolved", "case.waiting_on_customer", "callback.made", "case.note_added"})
"""Events on a case that answer the customer (notes only when visible to the customer): the first response."""


@dataclass(frozen=True, slots=True)
class Fact:
    """What the measures need of one event. `detail`: the segment a case was opened with, the department a case
    was handed to, the SLA metric breached, the promise id, `customer`/`internal` for a note. `due_us`: a promise's
    due time. `gap`: a survey's overall mean gap × 10 000. `contact`: 1 when the customer reached out."""

    position: int
    event_id: str
    kind: str
    occurred_us: int
    anchor: str | None
    case_id: str | None
    channel: str
    department: str
    agent: str | None
    contact: int
    detail: str | None = None
    due_us: int | None = None
    gap: int | None = None


def fact_of(recorded: RecordedEvent, anchor: str | None) -> Fact | None:
    """The fact of a recorded event, or None when no measure reads it."""
    event = recorded.event
    if event.event_type not in KEPT_TYPES:
        return None
    detail, due_us, gap = _particulars(event)
    department, agent = event.source.department, event.source.agent
    if isinstance(event.payload, SlaBreachedPayload):  # recorded by touchline: the clock names who was late
        department, agent = event.payload.department, event.payload.agent
    return Fact(recorded.position, recorded.event_id, event.event_type, recorded.occurred_us, anchor, event.case_id,
                str(event.source.channel), department, agent, int(is_contact_event(event)), detail, due_us, gap)


def _particulars(event: Envelope) -> tuple[str | None, int | None, int | None]:
    payload = event.payload
    if isinstance(payload, CaseOpenedPayload):
        return payload.segment, None, None
    if isinstance(payload, CaseHandedOffPayload):
        return payload.to_department, None, None
    if isinstance(payload, SlaBreachedPayload):
        return str(payload.metric), None, None
    if isinstance(payload, CallbackPromisedPayload):
        return payload.promise_id, epoch_us(payload.due_at), None
    if isinstance(payload, CallbackMadePayload):
        return payload.promise_id, None, None
    if isinstance(payload, CaseNoteAddedPayload):
        return payload.visibility, None, None
    if isinstance(payload, ComplaintFiledPayload):
        return payload.form, None, None
    if isinstance(payload, SurveyServqualAnsweredPayload):
        return None, None, round(payload.overall_mean_gap * GAP_SCALE)
    if isinstance(payload, CallReceivedPayload):
        return payload.direction, None, None
    return None, None, None


def as_of(facts: Iterable[Fact], now_us: int) -> list[Fact]:
    """The facts that had occurred by `now_us`, in log order: every measure is a view as of an instant."""
    return sorted((f for f in facts if f.occurred_us <= now_us), key=lambda f: f.position)


def customer_of(fact: Fact, resolve: Resolve) -> str | None:
    return resolve(fact.anchor) if fact.anchor is not None else None

