"""Case board and case view: who holds each case, how it travelled, repeat contacts and anomalies."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from domain.cases import CaseState, CaseStatus
from projections.cases import CaseQuery, ContactQuery, InvalidCursor
from projections.cases.queries import MAX_LIMIT, anomaly_counts, involves
from projections.cases.rows import AnomalyRow
from projections.cases.stats import repeat_contacts
from projections.cases.views import case_view
from services.application.cases import CaseViews
from services.application.customers import anchors_for
from services.entrypoints.api.auth import PrincipalDep
from services.entrypoints.api.case_schemas import AnomalyOut, CaseOut, CaseSummaryOut
from services.entrypoints.api.deps import CaseViewsDep, IdentityViewsDep, NowDep
from services.entrypoints.api.params import Age, Instant
from services.entrypoints.api.problems import Problem

router = APIRouter(tags=["cases"])


Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


class BoardOut(BaseModel):
    as_of: datetime
    total: int
    cases: list[CaseSummaryOut]
    next_cursor: str | None


@router.get("/v1/cases", response_model=BoardOut, operation_id="case_board", responses={422: {}})
async def case_board(
    principal: PrincipalDep,
    views: CaseViewsDep,
    now: NowDep,
    identity: IdentityViewsDep,
    holder: Annotated[str | None, Query(description="Department owning the case.")] = None,
    status: Annotated[list[CaseStatus] | None, Query(description="One or more statuses.")] = None,
    customer: Annotated[str | None, Query(description="Customer id (as in /v1/customers).")] = None,
    pending_to: Annotated[str | None, Query(description="Department a handoff waits for.")] = None,
    older_than: Annotated[Age | None, Query(description="Minimum age, e.g. PT4H or P2D.")] = None,
    younger_than: Annotated[Age | None, Query(description="Maximum age (exclusive).")] = None,
    ping_pong: Annotated[bool, Query(description="Only cases that came back to a department.")] = False,
    with_anomalies: bool = False,
    cursor: str | None = None,
    limit: Limit = 50,
) -> BoardOut:
    """Every case with its holder, status and age; oldest opened first. `customer` is resolved: the cases of every
    identifier linked to the customer. Department tokens list the cases their department is involved in."""
    anchors = await run_in_threadpool(anchors_for, identity, customer) if customer else ()
    try:
        query = CaseQuery(
            holder=holder, statuses=tuple(s.value for s in status or ()), customer_ids=anchors,
            pending_to=pending_to, opened_before=_age_bound(now, older_than),
            opened_after=_age_bound(now, younger_than), min_returns=1 if ping_pong else 0,
            with_anomalies=with_anomalies, cursor=cursor, limit=limit, involving=principal.department,
        )
    except InvalidCursor as exc:
        raise Problem(422, "Invalid cursor", str(exc),
                      errors=[{"loc": "query.cursor", "message": str(exc), "type": "cursor_invalid"}]) from exc
    page, total = await run_in_threadpool(lambda: (views.store.cases(query), views.store.count(query)))
    return BoardOut(as_of=now, total=total, cases=[CaseSummaryOut.of_state(s, now) for s in page.cases],
                    next_cursor=page.next_cursor)


def _age_bound(now: datetime, age: timedelta | None) -> datetime | None:
    """The opening instant splitting cases at least `age` old (opened before it) from younger ones."""
    return now - age + timedelta(microseconds=1) if age is not None else None


class RepeatContactsOut(BaseModel):
    total: int
    cases: int = Field(description="Cases with at least one repeat contact.")
    by_department: dict[str, int] = Field(description="Per department the customer reached.")
    by_channel: dict[str, int]
    by_holder: dict[str, int] = Field(description="Per department owning the case at the time.")
    by_case: dict[str, int] = Field(description="The `limit` cases with the most repeat contacts.")


@router.get("/v1/repeat-contacts", response_model=RepeatContactsOut, operation_id="repeat_contacts")
async def repeat_contacts_view(
    principal: PrincipalDep,
    views: CaseViewsDep,
    department: Annotated[str | None, Query(description="Department the customer reached.")] = None,
    channel: str | None = None,
    since: Instant | None = None,
    until: Instant | None = None,
    limit: Limit = 100,
) -> RepeatContactsOut:
    """Customers contacting again about a case still open: counts per case, department, channel and holder."""
    query = ContactQuery(department=department, channel=channel, since=since, until=until)
    rows = await run_in_threadpool(views.store.contacts, query)
    if (scope := principal.department) is not None:
        rows = [r for r in rows if scope in (r.department, r.holder)]
    summary = repeat_contacts(rows)
    most = sorted(summary.by_case.items(), key=lambda item: (-item[1], item[0]))[:limit]
    return RepeatContactsOut(total=summary.total, cases=len(summary.by_case), by_department=summary.by_department,
                             by_channel=summary.by_channel, by_holder=summary.by_holder, by_case=dict(most))


class CaseAnomalyOut(AnomalyOut):
    case_id: str


class AnomaliesOut(BaseModel):
    total: int
    by_kind: dict[str, int]
    items: list[CaseAnomalyOut]


@router.get("/v1/case-anomalies", response_model=AnomaliesOut, operation_id="case_anomalies")
async def case_anomalies(
    principal: PrincipalDep, views: CaseViewsDep, kind: str | None = None, limit: Limit = 100
) -> AnomaliesOut:
    """Facts that broke a case rule (recorded, never refused), counted per kind."""
    rows = await run_in_threadpool(views.store.anomalies, kind)
    if (scope := principal.department) is not None:
        rows = await run_in_threadpool(_of_cases_involving, views, rows, scope)
    items = [CaseAnomalyOut(case_id=r.case_id, position=r.position, event_id=r.event_id, event_type=r.event_type,
                            kind=r.kind, detail=r.detail) for r in rows[:limit]]
    return AnomaliesOut(total=len(rows), by_kind=anomaly_counts(rows), items=items)


def _of_cases_involving(views: CaseViews, rows: list[AnomalyRow], department: str) -> list[AnomalyRow]:
    """The anomalies of cases the department is involved in (anomalies are few: one case read per case)."""
    kept = {case_id for case_id in {r.case_id for r in rows} if case_in_scope(views.store.case(case_id), department)}
    return [r for r in rows if r.case_id in kept]


def case_in_scope(state: CaseState | None, department: str | None) -> bool:
    """A known case, and either no department scope or a department involved in it."""
    return state is not None and (department is None or involves(state, department))


@router.get("/v1/cases/{case_id}", response_model=CaseOut, operation_id="case_view", responses={404: {}})
async def case_detail(case_id: str, principal: PrincipalDep, views: CaseViewsDep, now: NowDep) -> CaseOut:
    """One case: handoff chain, time per department (wall and business), context, repeat contacts, anomalies."""
    state = await run_in_threadpool(views.store.case, case_id)
    if state is None or not case_in_scope(state, principal.department):
        raise Problem(404, "Case not found", f"No event has been recorded for case {case_id}.")
    return CaseOut.of_view(case_view(state, now, views.calendar_for, views.handoff_target))
