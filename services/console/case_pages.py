"""The case board, one case (handoff chain, time in each department, SLA clocks) and a department's inbox."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from domain.cases import CaseStatus
from services.api import alerts as alerts_api
from services.api import cases as cases_api
from services.api import departments as departments_api
from services.api import sla as sla_api
from services.api.problems import Problem
from services.console.access import Page
from services.console.web import ViewerDep, render, require

router = APIRouter()
STATUSES = [s.value for s in CaseStatus]


@router.get("/cases", name="console_cases")
async def board(request: Request, viewer: ViewerDep, status: str = "open", cursor: str = "") -> Response:
    """The cases the token may read (`GET /v1/cases`: a department sees the cases it is involved in)."""
    require(viewer, Page.CASES)
    components = request.app.state.components
    chosen = [CaseStatus(status)] if status in STATUSES else None
    try:
        page = await cases_api.case_board(
            request, viewer.principal, components.cases, components.clock(), holder=None, status=chosen,
            customer=None, pending_to=None, older_than=None, younger_than=None, ping_pong=False,
            with_anomalies=False, cursor=cursor or None, limit=50)
    except Problem as problem:
        return render(request, "not_found.html", viewer, status=problem.status, what="cases")
    return render(request, "cases.html", viewer, page=page, statuses=STATUSES,
                  chosen=status if chosen else "")


@router.get("/cases/{case_id}", name="console_case")
async def case_page(request: Request, viewer: ViewerDep, case_id: str) -> Response:
    require(viewer, Page.CASES)
    components = request.app.state.components
    try:
        case = await cases_api.case_detail(case_id, viewer.principal, components.cases, components.clock())
    except Problem as problem:
        return render(request, "not_found.html", viewer, status=problem.status, what="case")
    try:
        sla = await sla_api.explain_case_sla(request, viewer.principal, case_id)
        alerts = await alerts_api.list_alerts(request, viewer.principal, state=None, department=None, severity=None,
                                              case_id=case_id, limit=50)
    except Problem:  # no clock recorded yet for the case, or a process without SLA views
        sla, alerts = None, None
    return render(request, "case.html", viewer, case=case, sla=sla, alerts=alerts.alerts if alerts else [])


@router.get("/inbox", name="console_inbox")
async def inbox(request: Request, viewer: ViewerDep) -> Response:
    """The token's own department's inbox (department and manager tokens)."""
    require(viewer, Page.INBOX)
    department = viewer.principal.department
    assert department is not None  # Page.INBOX is only for department tokens
    components = request.app.state.components
    box = await departments_api.read_inbox(department, viewer.principal, components.cases, components.clock(),
                                           limit=100)
    return render(request, "inbox.html", viewer, box=box)
