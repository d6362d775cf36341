"""Department inbox: cases handed to the department and not yet accepted, cases it holds open, and what is late."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.concurrency import run_in_threadpool

from contracts.fields import DEPARTMENT_PATTERN
from services.application.cases import department_inbox
from services.entrypoints.api.auth import PrincipalDep
from services.entrypoints.api.case_schemas import InboxItemOut, InboxOut, InboxSectionOut
from services.entrypoints.api.cases import Limit
from services.entrypoints.api.deps import CaseViewsDep, NowDep
from services.entrypoints.api.problems import Problem

router = APIRouter(prefix="/v1/departments", tags=["departments"])


@router.get("/{department}/inbox", response_model=InboxOut, operation_id="department_inbox",
            responses={403: {}, 422: {}})
async def read_inbox(
    department: Annotated[str, Path(pattern=DEPARTMENT_PATTERN, description="Department slug.")],
    principal: PrincipalDep,
    views: CaseViewsDep,
    now: NowDep,
    limit: Limit = 100,
) -> InboxOut:
    """Each item carries the case's context (what the customer said and gave, promises) so nobody asks again.

    A department or manager token reads its own inbox; role tokens (ops, auditor, admin) read any. Each section lists up
    to `limit` cases (the oldest opened), longest waiting first; `total` counts them all; `overdue` lists the
    listed items past their acceptance target or with a broken promise.
    """
    if not principal.is_role and principal.department != department:
        raise Problem(403, "Forbidden", f"A {principal.name} token cannot read the inbox of {department}.")
    box = await run_in_threadpool(department_inbox, views, department, now, limit)
    overdue = [InboxItemOut.of(item) for item in box.overdue]
    return InboxOut(
        department=department, as_of=now,
        awaiting_acceptance=InboxSectionOut(total=box.awaiting_total,
                                            items=[InboxItemOut.of(i) for i in box.awaiting]),
        held_open=InboxSectionOut(total=box.held_total, items=[InboxItemOut.of(i) for i in box.held]),
        overdue=InboxSectionOut(total=len(overdue), items=overdue),
    )
