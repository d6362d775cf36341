"""Response bodies of the case, inbox and handoff endpoints, built from the pure views."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from domain.cases import Anomaly, CaseState, DepartmentTime, Span, age_seconds
from projections.cases.views import CaseView, HandoffTiming, InboxItem, PromiseStatus


class SpanOut(BaseModel):
    wall_seconds: float = Field(description="Wall-clock seconds.")
    business_seconds: float = Field(description="Seconds of the department's business calendar.")

    @classmethod
    def of(cls, span: Span) -> SpanOut:
        return cls(wall_seconds=span.wall_seconds, business_seconds=span.business_seconds)


class CaseSummaryOut(BaseModel):
    case_id: str
    customer_id: str | None
    status: str
    holder: str = Field(description="Department owning the case: the opener, then the last to accept it.")
    pending_to: str | None = Field(description="Department a handoff waits for (not yet accepted).")
    case_type: str
    priority: str
    subject: str
    opened_at: datetime | None
    age_seconds: float
    handoffs: int
    returns: int = Field(description="Handoffs that brought the case back to a department it had been at.")
    repeat_contacts: int
    anomalies: int

    @classmethod
    def of(cls, view: CaseView) -> CaseSummaryOut:
        return cls.of_state(view.state, view.now)

    @classmethod
    def of_state(cls, state: CaseState, now: datetime) -> CaseSummaryOut:
        pending = state.pending
        return cls(case_id=state.case_id, customer_id=state.customer_id, status=state.status.value,
                   holder=state.holder, pending_to=pending.to_department if pending else None,
                   case_type=state.case_type, priority=state.priority, subject=state.subject,
                   opened_at=state.opened_at, age_seconds=age_seconds(state, now), handoffs=len(state.handoffs),
                   returns=state.returns, repeat_contacts=len(state.contacts), anomalies=len(state.anomalies))


class DepartmentTimeOut(BaseModel):
    department: str
    held: SpanOut = Field(description="Time the department owned the open case.")
    awaiting_acceptance: SpanOut = Field(description="Time the case sat in its inbox, handed over, unaccepted.")
    stints: int

    @classmethod
    def of(cls, time: DepartmentTime) -> DepartmentTimeOut:
        return cls(department=time.department, held=SpanOut.of(time.held),
                   awaiting_acceptance=SpanOut.of(time.awaiting), stints=time.stints)


class HandoffOut(BaseModel):
    seq: int
    event_id: str
    from_department: str
    to_department: str
    reason: str
    context_summary: str
    handed_at: datetime
    deadline: datetime = Field(description="When the acceptance target ran (or runs) out.")
    outcome: str
    ended_at: datetime | None
    accepted_at: datetime | None
    accepted_by: str | None
    dropped: bool
    returned: bool
    bounced: bool
    waited: SpanOut
    acceptance_latency: SpanOut | None

    @classmethod
    def of(cls, timing: HandoffTiming) -> HandoffOut:
        h = timing.handoff
        return cls(seq=h.seq, event_id=h.event_id, from_department=h.from_department,
                   to_department=h.to_department, reason=h.reason, context_summary=h.context_summary,
                   handed_at=h.handed_at, deadline=timing.deadline, outcome=h.outcome.value, ended_at=h.ended_at,
                   accepted_at=h.accepted_at, accepted_by=h.accepted_by, dropped=timing.dropped,
                   returned=h.returned, bounced=timing.bounced, waited=SpanOut.of(timing.waited),
                   acceptance_latency=SpanOut.of(timing.latency) if timing.latency else None)


class PromiseOut(BaseModel):
    promise_id: str
    department: str
    promised_at: datetime
    due_at: datetime
    reason: str
    made_at: datetime | None
    outcome: str | None
    broken: bool

    @classmethod
    def of(cls, status: PromiseStatus) -> PromiseOut:
        p = status.promise
        return cls(promise_id=p.promise_id, department=p.department, promised_at=p.promised_at, due_at=p.due_at,
                   reason=p.reason, made_at=p.made_at, outcome=p.outcome, broken=status.broken)


class StatementOut(BaseModel):
    occurred_at: datetime
    department: str
    channel: str
    kind: str
    text: str


class GivenOut(BaseModel):
    kind: str
    value: str
    first_at: datetime


class ContactOut(BaseModel):
    position: int
    event_type: str
    occurred_at: datetime
    channel: str
    department: str
    holder: str
    via: str


class AnomalyOut(BaseModel):
    position: int
    event_id: str
    event_type: str
    kind: str
    detail: str

    @classmethod
    def of(cls, anomaly: Anomaly) -> AnomalyOut:
        return cls(position=anomaly.position, event_id=anomaly.event_id, event_type=anomaly.event_type,
                   kind=anomaly.kind.value, detail=anomaly.detail)


class ContextOut(BaseModel):
    """What the receiving department needs so that nobody asks the customer again."""

    customer_id: str | None
    subject: str
    case_type: str
    priority: str
    said: list[StatementOut] = Field(description="What the customer said, and notes written about the case.")
    gave: list[GivenOut] = Field(description="Identifiers the customer already gave (national IDs masked).")
    handoffs: list[str] = Field(description="Each handoff's context summary, oldest first.")
    promises: list[PromiseOut]
    repeat_contacts: int

    @classmethod
    def of(cls, view: CaseView) -> ContextOut:
        s = view.state
        return cls(customer_id=s.customer_id, subject=s.subject, case_type=s.case_type, priority=s.priority,
                   said=[StatementOut(**_fields(x, StatementOut)) for x in s.statements],
                   gave=[GivenOut(**_fields(g, GivenOut)) for g in s.given],
                   handoffs=[f"{h.from_department} → {h.to_department}: {h.context_summary}" for h in s.handoffs],
                   promises=[PromiseOut.of(p) for p in view.promises], repeat_contacts=len(s.contacts))


class StintOut(BaseModel):
    department: str
    started_at: datetime
    ended_at: datetime | None
    began_by: str


class CaseOut(CaseSummaryOut):
    """One case as of `as_of`: the handoff chain, time per department, context, contacts and anomalies."""

    as_of: datetime
    opened: bool = Field(description="False when the case is only implied by events other than case.opened.")
    escalation_level: int
    resolved_at: datetime | None
    reopened: int
    path: list[str] = Field(description="Departments in the order the case travelled.")
    departments: list[DepartmentTimeOut]
    holders: list[StintOut] = Field(description="Periods of ownership while the case was open.")
    handoff_chain: list[HandoffOut]
    context: ContextOut
    contacts: list[ContactOut] = Field(description="Repeat contacts: the customer reaching out again.")
    anomaly_list: list[AnomalyOut]

    @classmethod
    def of_view(cls, view: CaseView) -> CaseOut:
        s = view.state
        return cls(**CaseSummaryOut.of(view).model_dump(), as_of=view.now, opened=s.opened,
                   escalation_level=s.escalation_level, resolved_at=s.resolved_at, reopened=s.reopened,
                   path=list(s.path), departments=[DepartmentTimeOut.of(t) for t in view.departments],
                   holders=[StintOut(**_fields(x, StintOut)) for x in s.stints],
                   handoff_chain=[HandoffOut.of(t) for t in view.handoffs], context=ContextOut.of(view),
                   contacts=[ContactOut(**_fields(c, ContactOut)) for c in s.contacts],
                   anomaly_list=[AnomalyOut.of(a) for a in s.anomalies])


class InboxItemOut(BaseModel):
    case: CaseSummaryOut
    since: datetime = Field(description="When the case reached the department (handoff, or ownership).")
    waited: SpanOut
    deadline: datetime | None = Field(description="Acceptance deadline (awaiting items).")
    overdue: list[str] = Field(description="`acceptance` and/or `promise:<id>` when late.")
    handed_by: str | None = Field(description="Department that handed it over (awaiting items).")
    reason: str | None
    context: ContextOut

    @classmethod
    def of(cls, item: InboxItem) -> InboxItemOut:
        pending = item.view.state.pending if item.awaiting else None
        return cls(case=CaseSummaryOut.of(item.view), since=item.since, waited=SpanOut.of(item.waited),
                   deadline=item.deadline, overdue=list(item.overdue),
                   handed_by=pending.from_department if pending else None,
                   reason=pending.reason if pending else None, context=ContextOut.of(item.view))


class InboxSectionOut(BaseModel):
    total: int
    items: list[InboxItemOut]


class InboxOut(BaseModel):
    department: str
    as_of: datetime
    awaiting_acceptance: InboxSectionOut = Field(description="Handed to the department and not yet accepted.")
    held_open: InboxSectionOut = Field(description="Owned by the department and not resolved.")
    overdue: InboxSectionOut = Field(description="Listed items past their acceptance target or a promise.")


def _fields(value: object, model: type[BaseModel]) -> dict[str, object]:
    return {name: getattr(value, name) for name in model.model_fields}
