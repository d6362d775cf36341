"""Who a customer is: the front-desk context card, the identifiers and lineage of a customer, shared identifiers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from domain.identity.graph import Node
from projections.cases.queries import involves
from projections.customers.card import Card
from projections.customers.queries import DecisionRow
from services.application.card_at import card_at, last_survey
from services.application.customers import CustomerViews, Resolved
from services.entrypoints.api.auth import PrincipalDep
from services.entrypoints.api.deps import CustomerViewsDep, NowDep, QualityStoresDep
from services.entrypoints.api.params import Instant
from services.entrypoints.api.permissions import masked, shown
from services.entrypoints.api.problems import Problem

router = APIRouter(tags=["customers"])



class IdentifierOut(BaseModel):
    kind: str
    shown: str = Field(description="Masked form: enough to recognise, not enough to contact.")
    verified: bool
    shared: bool
    first_position: int


class RecognitionOut(BaseModel):
    text: str = Field(description='A greeting aid, e.g. "3rd visit in 60 days".')
    visits: int
    contacts: int
    by_channel: dict[str, int]
    window_days: int


class InteractionOut(BaseModel):
    occurred_at: datetime
    channel: str
    department: str
    event_type: str
    summary: str
    case_id: str | None


class OpenCaseOut(BaseModel):
    case_id: str
    status: str
    holder: str = Field(description="Department holding the case.")
    pending_to: str | None
    subject: str
    opened_at: datetime | None


class PromiseOut(BaseModel):
    promise_id: str
    status: str
    due_at: datetime
    department: str
    agent: str | None
    reason: str
    case_id: str | None


class AlertOut(BaseModel):
    alert_id: str
    kind: str
    metric: str
    case_id: str | None
    department: str
    deadline_at: datetime


class SurveyOut(BaseModel):
    score: float = Field(description="SERVQUAL overall mean gap (perception − expectation).")
    at: datetime
    dimensions: dict[str, float] | None = Field(None, description="Mean gap per SERVQUAL dimension answered.")


class CardOut(BaseModel):
    customer_id: str
    as_of: datetime
    identifiers: list[IdentifierOut]
    segment: str | None
    segment_rule: str | None
    first_contact_at: datetime | None
    recognition: RecognitionOut
    recent_interactions: list[InteractionOut]
    open_cases: list[OpenCaseOut]
    outstanding_promises: list[PromiseOut]
    open_alerts: list[AlertOut]
    complaints_last_year: int
    last_survey: SurveyOut | None


class DecisionOut(BaseModel):
    position: int
    event_id: str
    kind: str = Field(description="merged, split, shared or refused.")
    customer_id: str
    others: list[str]
    identifier_kind: str | None
    reason: str


class IdentityOut(BaseModel):
    customer_id: str
    identifiers: list[IdentifierOut]
    lineage: list[DecisionOut]


class SharedOut(BaseModel):
    kind: str
    shown: str
    first_position: int
    customers: list[str] = Field(description="Customers (different people) it was seen on.")


@router.get("/v1/customers/{customer_id}/card", response_model=CardOut, operation_id="customer_card",
            responses={404: {}})
async def customer_card(principal: PrincipalDep, views: CustomerViewsDep, now: NowDep, quality: QualityStoresDep,
                        customer_id: str,
                        at: Annotated[Instant | None, Query(description="Event time: the card as the front desk "
                                                                        "saw it then (default: now).")] = None,
                        ) -> CardOut:
    """The front-desk context card: who this is, how often they came lately, what is open and promised, and the
    last SERVQUAL survey's five dimension gaps; `at` shows it as of an earlier instant (docs/identity.md).
    Department tokens: other departments' free text is masked (docs/security.md)."""
    resolved = await _resolved(views, customer_id, principal.department)
    card = await run_in_threadpool(views.card, resolved, now) if at is None else \
        await run_in_threadpool(card_at, views, resolved, at)
    out = _card_out(card, principal.department)
    if quality is not None:
        survey = await run_in_threadpool(last_survey, quality.servqual, resolved, at)
        out.last_survey = None if survey is None else SurveyOut(score=survey.score, at=survey.at,
                                                               dimensions=survey.dimensions)
    return out


@router.get("/v1/customers/{customer_id}/identity", response_model=IdentityOut, operation_id="customer_identity",
            responses={404: {}})
async def customer_identity(principal: PrincipalDep, views: CustomerViewsDep, customer_id: str) -> IdentityOut:
    """The customer's identifiers (masked) and every merge, split and refused link that shaped it."""
    resolved = await _resolved(views, customer_id, principal.department)
    members = await run_in_threadpool(views.directory.members, resolved.customer_id)
    lineage = await run_in_threadpool(views.directory.decisions, resolved.customer_id, 500)
    kinds = {n.node_id: n.kind.value for n in members}
    return IdentityOut(customer_id=resolved.customer_id, identifiers=[_identifier(n) for n in members],
                       lineage=[_decision(d, kinds) for d in lineage])


@router.get("/v1/identity/shared", response_model=list[SharedOut], operation_id="shared_identifiers")
async def shared_identifiers(
    _: PrincipalDep, views: CustomerViewsDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[SharedOut]:
    """Identifiers seen on several different people (switchboards, family e-mails): they no longer link."""
    found = await run_in_threadpool(views.directory.shared, limit)
    return [SharedOut(kind=s.kind, shown=s.display, first_position=s.first_position, customers=list(s.customers))
            for s in found]


async def _resolved(views: CustomerViews, customer_id: str, scope: str | None) -> Resolved:
    """The customer, if known and within the caller's department scope (404 alike otherwise: no existence leak)."""
    resolved = await run_in_threadpool(views.resolve, customer_id)
    if resolved is None or not await run_in_threadpool(views.visible_to, resolved, scope):
        raise Problem(404, "Customer not found", f"No customer {customer_id}.")
    return resolved


def _identifier(node: Node) -> IdentifierOut:
    return IdentifierOut(kind=node.kind.value, shown=node.display, verified=node.verified, shared=node.shared,
                         first_position=node.first_position)


def _decision(row: DecisionRow, kinds: dict[str, str]) -> DecisionOut:
    return DecisionOut(position=row.position, event_id=row.event_id, kind=row.kind, customer_id=row.customer_id,
                       others=list(row.others), identifier_kind=kinds.get(row.node_id or ""), reason=row.reason)


def _card_out(card: Card, scope: str | None) -> CardOut:
    """The card as `scope` (a department, or None for role tokens) may read it."""
    r = card.recognition
    return CardOut(
        customer_id=card.customer_id,
        as_of=card.as_of,
        identifiers=[_identifier(n) for n in card.identifiers],
        segment=card.segment,
        segment_rule=card.segment_rule,
        first_contact_at=card.first_contact_at,
        recognition=RecognitionOut(text=r.text, visits=r.visits, contacts=r.contacts, by_channel=r.by_channel,
                                   window_days=r.window_days),
        recent_interactions=[InteractionOut(occurred_at=e.occurred_at, channel=e.channel, department=e.department,
                                            event_type=e.event_type, summary=shown(scope, e.department, e.summary),
                                            case_id=e.case_id)
                             for e in card.recent],
        open_cases=[OpenCaseOut(case_id=c.case_id, status=str(c.status), holder=c.holder,
                                pending_to=c.pending.to_department if c.pending else None,
                                subject=c.subject if scope is None or involves(c, scope) else masked(c.holder),
                                opened_at=c.opened_at) for c in card.open_cases],
        outstanding_promises=[PromiseOut(promise_id=p.promise_id, status=str(status), due_at=p.due_at,
                                         department=p.department, agent=p.agent,
                                         reason=shown(scope, p.department, p.reason), case_id=p.case_id)
                              for p, status in card.promises],
        open_alerts=[AlertOut(alert_id=a.alert_id, kind=a.kind, metric=a.metric, case_id=a.case_id,
                              department=a.department, deadline_at=a.deadline_at) for a in card.open_alerts],
        complaints_last_year=card.complaints_365d,
        last_survey=SurveyOut(score=card.last_survey_score, at=card.last_survey_at)
        if card.last_survey_score is not None and card.last_survey_at is not None else None,
    )
