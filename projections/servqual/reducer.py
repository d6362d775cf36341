"""SERVQUAL reducer: fold recorded events into keyed rows (pure; log order in, rows out).

A survey is attributed, at the point of the log where it is recorded:
1. to its case, when it names a case this projection has seen opened: the case's holder (the opening department,
   then each department that accepted a handoff), the channel the case was opened through, the segment the
   opening declared;
2. else to the customer's last touchpoint in log order (a front-desk visit, an inbound call, a web request, a
   case opening or a repair visit): its department and channel;
3. else to the survey's own source.
The segment is the case's, else the last one declared for the customer on a case opening, else `unassigned`.
The customer is `key_fn(customer)` (the timeline's anchor); a survey that names no customer is its own respondent
(`survey:<survey_id>`). A survey id answered again replaces the earlier answers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from contracts import (
    CaseHandoffAcceptedPayload,
    CaseOpenedPayload,
    Envelope,
    SurveyServqualAnsweredPayload,
)
from domain.cases.context import is_contact_event
from domain.log import RecordedEvent
from domain.quality.servqual import SurveyAnswers
from projections.keyed import KeyedState, KeyFn, Needs, Reducer, RowKind

UNASSIGNED = "unassigned"
_TOUCH_TYPES = frozenset({"case.opened", "repair.visit_completed"})


@dataclass(frozen=True, slots=True)
class SurveyRow:
    """One answered survey: gap sums and item counts per dimension, importance points (None when not asked)."""

    survey_id: str
    position: int
    event_id: str
    customer_id: str
    occurred_us: int
    department: str
    channel: str
    segment: str
    reliability_sum: int
    reliability_items: int
    responsiveness_sum: int
    responsiveness_items: int
    assurance_sum: int
    assurance_items: int
    empathy_sum: int
    empathy_items: int
    tangibles_sum: int
    tangibles_items: int
    reliability_points: int | None
    responsiveness_points: int | None
    assurance_points: int | None
    empathy_points: int | None
    tangibles_points: int | None

    def answers(self) -> SurveyAnswers:
        sums = (self.reliability_sum, self.responsiveness_sum, self.assurance_sum, self.empathy_sum,
                self.tangibles_sum)
        items = (self.reliability_items, self.responsiveness_items, self.assurance_items, self.empathy_items,
                 self.tangibles_items)
        points = (self.reliability_points, self.responsiveness_points, self.assurance_points,
                  self.empathy_points, self.tangibles_points)
        weights = None if any(p is None for p in points) else tuple(p for p in points if p is not None)
        return SurveyAnswers(sums, items, weights)


@dataclass(frozen=True, slots=True)
class CaseRow:
    """What a survey on the case is attributed to: the case's holder, opening channel and declared segment."""

    case_id: str
    department: str
    channel: str
    segment: str | None


@dataclass(frozen=True, slots=True)
class CustomerRow:
    """A customer's last touchpoint (log order) and last declared segment."""

    customer_id: str
    department: str | None
    channel: str | None
    segment: str | None


SURVEYS, CASES, CUSTOMERS = "servqual_surveys", "servqual_cases", "servqual_customers"
KINDS = (RowKind(SURVEYS, SurveyRow), RowKind(CASES, CaseRow), RowKind(CUSTOMERS, CustomerRow))


def reducer(key_fn: KeyFn) -> Reducer:
    return Reducer(KINDS, needs, fold, key_fn)


def needs(events: Iterable[RecordedEvent], key_fn: KeyFn) -> Needs:
    """The rows a batch may read: its cases, its customers, its surveys."""
    wanted: Needs = {SURVEYS: set(), CASES: set(), CUSTOMERS: set()}
    for recorded in events:
        event = recorded.event
        if event.case_id is not None:
            wanted[CASES].add(event.case_id)
        if (key := key_fn(event.customer)) is not None:
            wanted[CUSTOMERS].add(key)
        if isinstance(event.payload, SurveyServqualAnsweredPayload):
            wanted[SURVEYS].add(event.payload.survey_id)
    return wanted


def fold(state: KeyedState, events: Iterable[RecordedEvent], key_fn: KeyFn) -> None:
    """Apply events in log order to `state`."""
    for recorded in events:
        event = recorded.event
        payload = event.payload
        key = key_fn(event.customer)
        if isinstance(payload, CaseOpenedPayload) and event.case_id is not None:
            state.put(CASES, event.case_id, CaseRow(event.case_id, event.source.department,
                                                     str(event.source.channel), payload.segment))
            if payload.segment is not None and key is not None:
                _customer(state, key, segment=payload.segment)
        elif isinstance(payload, CaseHandoffAcceptedPayload) and event.case_id is not None:
            case = state.get(CASES, event.case_id)
            if case is not None:
                state.put(CASES, event.case_id, CaseRow(case.case_id, payload.department, case.channel, case.segment))
        elif isinstance(payload, SurveyServqualAnsweredPayload):
            state.put(SURVEYS, payload.survey_id, _survey(state, recorded, payload, key))
        if key is not None and (is_contact_event(event) or event.event_type in _TOUCH_TYPES):
            _customer(state, key, department=event.source.department, channel=str(event.source.channel))


def _customer(state: KeyedState, key: str, **changes: str) -> None:
    row = state.get(CUSTOMERS, key) or CustomerRow(key, None, None, None)
    values = {"department": row.department, "channel": row.channel, "segment": row.segment, **changes}
    state.put(CUSTOMERS, key, CustomerRow(key, **values))


def _survey(state: KeyedState, recorded: RecordedEvent, payload: SurveyServqualAnsweredPayload,
            key: str | None) -> SurveyRow:
    event = recorded.event
    department, channel, segment = _attribution(state, event, key)
    answers = SurveyAnswers.of(payload.items, payload.importance)
    points = answers.importance or (None,) * 5
    pairs = [value for pair in zip(answers.gap_sums, answers.item_counts, strict=True) for value in pair]
    return SurveyRow(payload.survey_id, recorded.position, recorded.event_id,
                     key if key is not None else f"survey:{payload.survey_id}", recorded.occurred_us,
                     department, channel, segment, *pairs, *points)


def _attribution(state: KeyedState, event: Envelope, key: str | None) -> tuple[str, str, str]:
    customer: CustomerRow | None = state.get(CUSTOMERS, key) if key is not None else None
    declared = customer.segment if customer is not None else None
    case: CaseRow | None = state.get(CASES, event.case_id) if event.case_id is not None else None
    if case is not None:
        return case.department, case.channel, case.segment or declared or UNASSIGNED
    if customer is not None and customer.department is not None and customer.channel is not None:
        return customer.department, customer.channel, declared or UNASSIGNED
    return event.source.department, str(event.source.channel), declared or UNASSIGNED
