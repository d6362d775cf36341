"""The auditor's page: the log verified against its hash chain and signed checkpoints, checkpoints, replays."""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.entrypoints.api import audit as audit_api
from services.entrypoints.api import audit_replay, deps
from services.entrypoints.api.problems import Problem
from services.entrypoints.console.access import START_REPLAY, Page, may
from services.entrypoints.console.web import PREFIX, ViewerDep, checked_form, render, require, see_other

router = APIRouter()
SHOWN_CHECKPOINTS = 20


@router.get("/audit", name="console_audit")
async def audit_page(request: Request, viewer: ViewerDep, verify: str = "") -> Response:
    """Checkpoints (newest first) and replays always; the verification (`GET /v1/audit/verify`, which reads the
    whole log) only when asked for."""
    require(viewer, Page.AUDIT)
    verdict, unavailable = None, False
    try:
        service = deps.audit_service(request)
        found = (await audit_api.checkpoints(viewer.principal, service, after=0, limit=1000))["checkpoints"]
        if verify:
            verdict = await audit_api.verify(viewer.principal, service, limit=100_000)
    except Problem:  # a process without the audit service
        found, unavailable = [], True
    replays: list[Any] = []
    with contextlib.suppress(Problem):
        replays = await audit_replay.list_replays(viewer.principal, deps.replays(request))
    newest = [c | {"issued": datetime.fromisoformat(c["issued_at"])} for c in reversed(found)][:SHOWN_CHECKPOINTS]
    return render(request, "audit.html", viewer, checkpoints=newest,
                  total=len(found), verdict=verdict, replays=replays, unavailable=unavailable,
                  may_replay=may(viewer.principal, START_REPLAY))


@router.post("/audit/replays", name="console_start_replay")
async def start_replay(request: Request, viewer: ViewerDep) -> Response:
    """Start a rebuild-and-compare run as `POST /v1/audit/replays` does (one at a time)."""
    require(viewer, Page.AUDIT)
    await checked_form(request, viewer)
    if may(viewer.principal, START_REPLAY):
        with contextlib.suppress(Problem):  # one is running already: the list shows it
            await audit_replay.start_replay(Response(), viewer.principal, deps.replays(request))
    return see_other(f"{PREFIX}/audit")
