"""The promise ledger: every promised callback, kept on time, kept late, broken, pending or released."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from domain.sla.ledger import PromiseStatus
from projections.sla.queries import PromiseQuery
from services.application.customers import anchors_for
from services.entrypoints.api.auth import Principal, PrincipalDep
from services.entrypoints.api.deps import IdentityViewsDep, NowDep, SlaViewsDep
from services.entrypoints.api.sla_schemas import Ledger, LedgerLineOut, PromiseList, PromiseOut

router = APIRouter(prefix="/v1/promises", tags=["promises"])


NOBODY = "-"  # not a department slug (they start with a letter)
"""A department filter no promise matches (a department token asking for another department's promises)."""


def _scoped(principal: Principal, department: str | None) -> str | None:
    """The department filter a caller gets: its own department for department tokens."""
    scope = principal.department
    if scope is None:
        return department
    return scope if department in (None, scope) else NOBODY


@router.get("", response_model=PromiseList, operation_id="list_promises")
async def list_promises(
    principal: PrincipalDep,
    views: SlaViewsDep,
    identity: IdentityViewsDep,
    now: NowDep,
    agent: str | None = None,
    department: str | None = None,
    customer_id: str | None = None,
    case_id: Annotated[str | None, Query(alias="case")] = None,
    status: PromiseStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> PromiseList:
    """Promises (latest due first) and their counts per status; statuses are computed for now. Department
    tokens read their department's promises."""
    department = _scoped(principal, department)
    store = views.store
    anchors = await run_in_threadpool(anchors_for, identity, customer_id) if customer_id else ()
    query = PromiseQuery(agent, department, None, case_id, status, limit, customer_ids=anchors)
    unfiltered = PromiseQuery(agent, department, None, case_id, customer_ids=anchors)
    promises = await run_in_threadpool(store.promises, query, now)
    lines = await run_in_threadpool(store.promise_summary, "department", unfiltered, now)
    counts = {s.value: sum(line.counts[s.value] for line in lines) for s in PromiseStatus}
    return PromiseList(now=now, promises=[PromiseOut.of(p, now) for p in promises], counts=counts)


@router.get("/ledger", response_model=Ledger, operation_id="promise_ledger")
async def promise_ledger(
    principal: PrincipalDep,
    views: SlaViewsDep,
    now: NowDep,
    by: Literal["agent", "department", "customer"] = "agent",
    department: str | None = None,
) -> Ledger:
    """Kept on time / kept late / broken / pending / released per agent, department or customer (department
    tokens: their department's promises)."""
    department = _scoped(principal, department)
    lines = await run_in_threadpool(views.store.promise_summary, by, PromiseQuery(department=department), now)
    return Ledger(now=now, by=by, lines=[LedgerLineOut.of(line) for line in lines])
