"""The case board, one case (handoff chain, time in each department, SLA clocks) and a department's inbox."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from domain.cases import CaseStatus
from services.entrypoints.api import alerts as alerts_api
from services.entrypoints.api import cases as cases_api
from services.entrypoints.api import departments as departments_api
from services.entrypoints.api import deps
from services.entrypoints.api import sla as sla_api
from services.entrypoints.api.problems import Problem
from services.entrypoints.console.access import Page
from services.entrypoints.console.i18n import DEPARTMENTS
from services.entrypoints.console.web import ViewerDep, render, require

router = APIRouter()
STATUSES = [s.value for s in CaseStatus]


@router.get("/cases", name="console_cases")
async def board(request: Request, viewer: ViewerDep, status: str = "open", holder: str = "",
                pending_to: str = "", ping_pong: str = "", cursor: str = "") -> Response:
    """The cases the token may read (`GET /v1/cases`: a department sees the cases it is involved in), filtered by
    status, holder, the department a handoff waits for, and ping-pong (back at a department it had left)."""
    require(viewer, Page.CASES)
    chosen = [CaseStatus(status)] if status in STATUSES else None
    filters = {"status": status if chosen else "all", "holder": holder if holder in DEPARTMENTS else "",
               "pending_to": pending_to if pending_to in DEPARTMENTS else "", "ping_pong": "1" if ping_pong else ""}
    try:
        page = await cases_api.case_board(
            viewer.principal, deps.case_views(request), deps.now(request), deps.identity_views(request),
            holder=filters["holder"] or None,
            status=chosen, customer=None, pending_to=filters["pending_to"] or None, older_than=None,
            younger_than=None, ping_pong=bool(ping_pong), with_anomalies=False, cursor=cursor or None, limit=50)
    except Problem as problem:
        return render(request, "not_found.html", viewer, status=problem.status, what="cases")
    next_query = urlencode(filters | {"cursor": page.next_cursor}) if page.next_cursor else ""
    return render(request, "cases.html", viewer, page=page, statuses=STATUSES, departments=DEPARTMENTS,
                  filters=filters, next_query=next_query)


@router.get("/cases/{case_id}", name="console_case")
async def case_page(request: Request, viewer: ViewerDep, case_id: str) -> Response:
    require(viewer, Page.CASES)
    try:
        case = await cases_api.case_detail(case_id, viewer.principal, deps.case_views(request), deps.now(request))
    except Problem as problem:
        return render(request, "not_found.html", viewer, status=problem.status, what="case")
    try:
        sla = await sla_api.explain_case_sla(viewer.principal, deps.sla_views(request), deps.root(request),
                                             deps.now(request), case_id)
        alerts = await alerts_api.list_alerts(viewer.principal, deps.sla_views(request), state=None, department=None,
                                              severity=None, case_id=case_id, limit=50)
    except Problem:  # no clock recorded yet for the case, or a process without SLA views
        sla, alerts = None, None
    return render(request, "case.html", viewer, case=case, sla=sla, alerts=alerts.alerts if alerts else [])


@router.get("/inbox", name="console_inbox")
async def inbox(request: Request, viewer: ViewerDep) -> Response:
    """The token's own department's inbox (department and manager tokens)."""
    require(viewer, Page.INBOX)
    department = viewer.principal.department
    assert department is not None  # Page.INBOX is only for department tokens
    box = await departments_api.read_inbox(department, viewer.principal, deps.case_views(request),
                                           deps.now(request), limit=100)
    return render(request, "inbox.html", viewer, box=box)
