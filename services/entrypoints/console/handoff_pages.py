"""Handoffs between departments: the matrix as a heat map, handoffs dropped past their target, ping-pong cases."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.entrypoints.api import deps
from services.entrypoints.api import handoffs as handoffs_api
from services.entrypoints.console.access import Page
from services.entrypoints.console.web import ViewerDep, render, require

router = APIRouter()


@router.get("/handoffs", name="console_handoffs")
async def handoffs_page(request: Request, viewer: ViewerDep) -> Response:
    """What `GET /v1/handoffs/matrix`, `/dropped` and `/ping-pong` return for the token (a department sees the
    handoffs it made or received)."""
    require(viewer, Page.HANDOFFS)
    views, now, principal = deps.case_views(request), deps.now(request), viewer.principal
    pairs = (await handoffs_api.handoff_matrix(principal, views, now, source=None, to=None, since=None,
                                               until=None)).pairs
    dropped = await handoffs_api.dropped_handoffs(principal, views, now, source=None, to=None, since=None,
                                                  until=None, pending=False, limit=100)
    ping_pong = await handoffs_api.ping_pong_cases(principal, views, department=None, limit=100)
    return render(request, "handoffs.html", viewer, heat=heat_map(pairs), dropped=dropped, ping_pong=ping_pong)


def heat_map(pairs: list[Any]) -> dict[str, Any]:
    """Senders as rows, receivers as columns; each cell's pair and its shade (0-1, by count against the busiest)."""
    senders = sorted({p.from_department for p in pairs})
    receivers = sorted({p.to_department for p in pairs})
    busiest = max((p.count for p in pairs), default=0) or 1
    cells = {(p.from_department, p.to_department): (p, p.count / busiest) for p in pairs}
    return {"senders": senders, "receivers": receivers, "cells": cells}
