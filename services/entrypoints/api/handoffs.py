"""Handoffs between departments: the matrix of pairs, dropped handoffs and ping-pong cases."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from projections.cases import HandoffQuery
from projections.cases.rows import HandoffRow
from projections.cases.stats import PairStats, dropped, matrix, ping_pong
from services.entrypoints.api.auth import Principal, PrincipalDep
from services.entrypoints.api.cases import Limit
from services.entrypoints.api.deps import CaseViewsDep, NowDep
from services.entrypoints.api.params import Instant

router = APIRouter(prefix="/v1/handoffs", tags=["handoffs"])

FromDep = Annotated[str | None, Query(alias="from", description="Department handing off.")]
ToDep = Annotated[str | None, Query(alias="to", description="Department receiving.")]
SinceDep = Annotated[Instant | None, Query(description="Handed off at or after (inclusive).")]
UntilDep = Annotated[Instant | None, Query(description="Handed off before (exclusive).")]


class PairOut(BaseModel):
    from_department: str
    to_department: str
    count: int
    accepted: int
    dropped: int = Field(description="Not accepted within the acceptance target (as of `as_of`).")
    bounced: int = Field(description="Sent straight back to the sender by the next handoff.")
    bounce_rate: float
    median_seconds: float | None = Field(description="Acceptance latency, nearest-rank median, wall clock.")
    p90_seconds: float | None
    median_business_seconds: float | None = Field(description="The same in the receiver's business time.")
    p90_business_seconds: float | None

    @classmethod
    def of(cls, pair: PairStats) -> PairOut:
        return cls(bounce_rate=pair.bounce_rate, **{f.name: getattr(pair, f.name) for f in fields(pair)})


class MatrixOut(BaseModel):
    as_of: datetime
    pairs: list[PairOut]


@router.get("/matrix", response_model=MatrixOut, operation_id="handoff_matrix")
async def handoff_matrix(principal: PrincipalDep, views: CaseViewsDep, now: NowDep, source: FromDep = None,
                         to: ToDep = None, since: SinceDep = None, until: UntilDep = None) -> MatrixOut:
    """Per department pair: handoffs, acceptance latency (median, p90; wall and business), drops, bounce rate."""
    rows = _scoped(principal, await run_in_threadpool(views.store.handoffs, HandoffQuery(source, to, since, until)))
    pairs = matrix(rows, now, views.calendar_for, views.handoff_target)
    return MatrixOut(as_of=now, pairs=[PairOut.of(pair) for pair in pairs])


def _scoped(principal: Principal, rows: list[HandoffRow]) -> list[HandoffRow]:
    """Department tokens see the handoffs their department made or received."""
    scope = principal.department
    return rows if scope is None else [r for r in rows if scope in (r.from_department, r.to_department)]


class DroppedOut(BaseModel):
    case_id: str
    seq: int
    from_department: str
    to_department: str
    handed_at: datetime
    deadline: datetime
    outcome: str = Field(description="`pending` while still unaccepted, else how it stopped waiting.")
    ended_at: datetime | None
    accepted_at: datetime | None
    late_seconds: float = Field(description="From the deadline until it stopped waiting, or until `as_of`.")


class DroppedListOut(BaseModel):
    as_of: datetime
    total: int
    items: list[DroppedOut]


@router.get("/dropped", response_model=DroppedListOut, operation_id="dropped_handoffs")
async def dropped_handoffs(principal: PrincipalDep, views: CaseViewsDep, now: NowDep, source: FromDep = None,
                           to: ToDep = None, since: SinceDep = None, until: UntilDep = None,
                           pending: Annotated[bool, Query(description="Only those still unaccepted.")] = False,
                           limit: Limit = 100) -> DroppedListOut:
    """Handoffs still waiting for acceptance when their acceptance target ran out (receiver's business time)."""
    rows = _scoped(principal, await run_in_threadpool(views.store.handoffs,
                                                      HandoffQuery(source, to, since, until, pending)))
    found = dropped(rows, now, views.calendar_for, views.handoff_target)
    items = [DroppedOut(case_id=d.row.case_id, seq=d.row.seq, from_department=d.row.from_department,
                        to_department=d.row.to_department, handed_at=d.row.handed_at, deadline=d.deadline,
                        outcome=d.row.outcome, ended_at=d.row.ended_at, accepted_at=d.row.accepted_at,
                        late_seconds=d.late_seconds) for d in found[:limit]]
    return DroppedListOut(as_of=now, total=len(found), items=items)


class PingPongCaseOut(BaseModel):
    case_id: str
    returns: int
    path: list[str]


class BounceOut(BaseModel):
    from_department: str
    to_department: str
    count: int


class PingPongOut(BaseModel):
    cases: int = Field(description="Cases that came back to a department they had left (A → B → A).")
    returns: int
    returns_by_department: dict[str, int] = Field(description="Returns per department the case came back to.")
    bounces: list[BounceOut] = Field(description="Handoffs A → B sent straight back to A, per pair.")
    items: list[PingPongCaseOut]


@router.get("/ping-pong", response_model=PingPongOut, operation_id="ping_pong")
async def ping_pong_cases(
    principal: PrincipalDep, views: CaseViewsDep,
    department: Annotated[str | None, Query(description="Only cases that came back to this department.")] = None,
    limit: Limit = 100,
) -> PingPongOut:
    """Cases that returned to a department they already left, with counts."""
    rows = await run_in_threadpool(views.store.handoffs, HandoffQuery())
    if principal.department is not None:  # whole paths of the cases the department took part in
        involved = {r.case_id for r in _scoped(principal, rows)}
        rows = [r for r in rows if r.case_id in involved]
    found = ping_pong(rows, department)
    return PingPongOut(
        cases=len(found.cases), returns=found.returns, returns_by_department=found.returns_by_department,
        bounces=[BounceOut(from_department=a, to_department=b, count=n) for (a, b), n in found.bounces_by_pair.items()],
        items=[PingPongCaseOut(case_id=c.case_id, returns=c.returns, path=list(c.path)) for c in found.cases[:limit]],
    )
