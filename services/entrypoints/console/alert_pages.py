"""The SLA board: open alerts by severity, acknowledging one, and live updates as server-sent events."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse

from projections.sla.reducer import AlertState
from services.application.sla.acks import SUPERVISING_ROLES
from services.entrypoints.api import alerts as alerts_api
from services.entrypoints.api import deps
from services.entrypoints.api.problems import Problem
from services.entrypoints.api.sla_schemas import AckIn, AlertOut
from services.entrypoints.console.access import ACKNOWLEDGE, Page, may
from services.entrypoints.console.web import (
    PREFIX,
    TEMPLATES,
    Viewer,
    ViewerDep,
    checked_form,
    is_htmx,
    render,
    require,
    see_other,
)

router = APIRouter()
SEVERITIES = ("critical", "warning")
POLL_SECONDS = 0.5  # how often the stream reads the SLA view (a new breach shows within about a second)
STREAM_SECONDS = 20.0  # a stream ends after this (the browser reconnects), so a stopping server is never held up


@router.get("/alerts", name="console_alerts")
async def board(request: Request, viewer: ViewerDep) -> Response:
    require(viewer, Page.ALERTS)
    return render(request, "alerts.html", viewer, **await _board(request, viewer))


async def _board(request: Request, viewer: Viewer) -> dict[str, Any]:
    """Open alerts grouped by severity (critical first), and the acknowledged ones still running."""
    def listed(state: AlertState) -> Any:
        return alerts_api.list_alerts(viewer.principal, deps.sla_views(request), state=state, department=None,
                                      severity=None, case_id=None, limit=500)

    try:
        opened, acknowledged = (await listed(AlertState.OPEN)).alerts, (await listed(AlertState.ACKNOWLEDGED)).alerts
    except Problem:  # a process started without the SLA views
        opened, acknowledged = [], []
    # Two reads: an acknowledgement projected between them shows the alert in both; the later read is the newer.
    taken = {a.alert_id for a in acknowledged}
    opened = [a for a in opened if a.alert_id not in taken]
    groups = {severity: [a for a in opened if a.severity == severity] for severity in SEVERITIES}
    return {"groups": groups, "acknowledged": acknowledged, "can_ack": lambda alert: _can_ack(viewer, alert),
            "fingerprint": _fingerprint(opened, acknowledged)}


def _can_ack(viewer: Viewer, alert: AlertOut) -> bool:
    """The matrix lets the token's kind acknowledge, and the acknowledgement rule lets it take this alert."""
    principal = viewer.principal
    return may(principal, ACKNOWLEDGE) and principal.name in _ackers(alert)


def _ackers(alert: AlertOut) -> set[str]:
    """Who services.application.sla.acks.may_acknowledge lets take the alert."""
    names = set(SUPERVISING_ROLES) | {f"{alert.department}-manager"}
    if alert.escalated_to:
        names.add(alert.escalated_to)
    return names


def _fingerprint(*lists: list[AlertOut]) -> str:
    return "|".join(f"{a.alert_id}:{a.state}" for alerts in lists for a in alerts)


@router.post("/alerts/{alert_id}/ack", name="console_ack")
async def acknowledge(request: Request, viewer: ViewerDep, alert_id: UUID) -> Response:
    """Record the acknowledgement as `POST /v1/alerts/{id}/ack` does, with the person's name from the form."""
    require(viewer, Page.ALERTS)
    form = await checked_form(request, viewer)
    by = form.get("acknowledged_by", "").strip()
    if not may(viewer.principal, ACKNOWLEDGE) or not by:
        return see_other(f"{PREFIX}/alerts")
    note = form.get("note", "").strip()[:4000] or None
    # Already acknowledged, or not this token's to take: the board shows the current state either way.
    with contextlib.suppress(Problem):
        await alerts_api.acknowledge(viewer.principal, deps.sla_views(request), deps.now(request), alert_id,
                                    AckIn(acknowledged_by=by[:200], note=note))
    if is_htmx(request):  # the live stream redraws the board once the acknowledgement is projected
        return Response(status_code=204)
    return see_other(f"{PREFIX}/alerts")


@router.get("/alerts/stream", name="console_alert_stream")
async def stream(request: Request, viewer: ViewerDep) -> Response:
    """Server-sent events: the alert tables, re-rendered whenever an alert appears or changes state."""
    require(viewer, Page.ALERTS)
    return StreamingResponse(_events(request, viewer), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def _sla_position(request: Request) -> int | None:
    """How far the SLA read model has applied the log (None without SLA views: read every time)."""
    try:
        return deps.sla_views(request).store.position()
    except Problem:
        return None


async def _events(request: Request, viewer: Viewer) -> AsyncGenerator[str, None]:
    yield "retry: 500\n\n"
    last: str | None = None  # the first drawing is always sent, even of an empty board
    seen: int | None = None  # the SLA projection's position at the last read: alerts change only when it moves
    ends = time.monotonic() + STREAM_SECONDS
    while time.monotonic() < ends and not await request.is_disconnected():
        position = await run_in_threadpool(_sla_position, request)
        if position is not None and position == seen:
            await asyncio.sleep(POLL_SECONDS)
            continue
        seen = position
        board = await _board(request, viewer)
        if board["fingerprint"] != last:
            last = board["fingerprint"]
            html = TEMPLATES.get_template("_alert_tables.html").render(
                t=viewer.locale, viewer=viewer, prefix=PREFIX, **board)
            yield "event: alerts\n" + "".join(f"data: {line}\n" for line in html.splitlines()) + "\n"
        await asyncio.sleep(POLL_SECONDS)
