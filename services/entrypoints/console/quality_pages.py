"""Service-quality pages: SERVQUAL by dimension, the scorecard with its trends, FCR, proactive contacts,
failure-prone touchpoints, segments and staff, each with its CSV download (the API's own `?format=csv`)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from domain.quality.periods import DEFAULT_ZONE, PeriodKind
from domain.quality.servqual import Grouping
from services.entrypoints.api import deps
from services.entrypoints.api import quality as quality_api
from services.entrypoints.api.problems import Problem
from services.entrypoints.console.access import Page
from services.entrypoints.console.web import PREFIX, Viewer, ViewerDep, render, require, see_other

router = APIRouter()
VIEWS = ("servqual", "scorecard", "fcr", "proactive", "touchpoints", "segments", "staff")
SHOWN = 200  # rows of a long list shown on a page (the CSV has them all)
Format = Literal["json", "csv"]


@router.get("/quality", name="console_quality")
async def quality_home(viewer: ViewerDep) -> Response:
    require(viewer, Page.QUALITY)
    return see_other(f"{PREFIX}/quality/servqual")


@router.get("/quality/{view}.csv", name="console_quality_csv")
async def quality_csv(request: Request, viewer: ViewerDep, view: str, by: str = "", period: str = "") -> Response:
    """The API's CSV of the view (UTF-8 with a byte-order mark), as the signed-in token reads it."""
    require(viewer, Page.QUALITY)
    try:
        answer: Response = await _read(request, viewer, view, _choices(by, period), "csv")
    except Problem as problem:  # a process started without the quality read models
        return render(request, "not_found.html", viewer, status=problem.status, what="quality")
    answer.headers["Cache-Control"] = "no-store"
    return answer


@router.get("/quality/{view}", name="console_quality_view")
async def quality_view(request: Request, viewer: ViewerDep, view: str, by: str = "", period: str = "") -> Response:
    """One quality view as `GET /v1/quality/<view>` returns it for the token (as of now, over every period)."""
    require(viewer, Page.QUALITY)
    choices = _choices(by, period)
    try:
        body = await _read(request, viewer, view, choices, "json")
    except Problem as problem:  # a process started without the quality read models
        return render(request, "not_found.html", viewer, status=problem.status, what="quality")
    extra = scorecard_shape(body) if view == "scorecard" else {}
    return render(request, f"quality_{view}.html", viewer, view=view, views=VIEWS, body=body, choices=choices,
                  shown=SHOWN, **extra)


def _choices(by: str, period: str) -> dict[str, str]:
    """The page's filters, unknown values replaced by the defaults (the API would answer 422)."""
    return {"by": by if by in {g.value for g in Grouping} else Grouping.DEPARTMENT.value,
            "period": period if period in {p.value for p in PeriodKind} else PeriodKind.MONTH.value}


async def _read(request: Request, viewer: Viewer, view: str, choices: dict[str, str], format_: Format) -> Any:
    """The API route function's answer (a body, or the CSV response) for the viewer's principal."""
    if view not in VIEWS:
        raise HTTPException(404)
    root = deps.root(request)
    quality = quality_api.quality_for(viewer.principal, deps.quality_stores(request), root)  # the session's reader
    period = PeriodKind(choices["period"])
    if view == "servqual":
        return await quality_api.servqual(quality, by=Grouping(choices["by"]), period=period, since=None,
                                          until=None, zone=DEFAULT_ZONE, format=format_)
    if view == "scorecard":
        return await quality_api.scorecard(root, quality, period=period, since=None, until=None,
                                           zone=DEFAULT_ZONE, department=None, now=None,
                                           format=format_)
    if view == "fcr":
        return await quality_api.fcr(root, quality, now=None, cases=False, format=format_)
    if view == "proactive":
        return await quality_api.proactive(root, quality, now=None, limit=10_000, format=format_)
    if view == "touchpoints":
        return await quality_api.touchpoints(root, quality, now=None, limit=10_000, examples=3, format=format_)
    if view == "segments":
        return await quality_api.segments(root, quality, now=None, limit=100_000, format=format_)
    return await quality_api.staff(root, quality, now=None, format=format_)


def scorecard_shape(body: Any) -> dict[str, Any]:
    """The scorecard as one table per department: measures in rows, periods in columns (oldest first)."""
    departments: dict[str, dict[str, Any]] = {}
    for row in body.rows:
        departments.setdefault(row.department, {})[row.period] = row
    periods = sorted({row.period for row in body.rows})
    return {"departments": departments, "periods": periods, "measures": MEASURES}

MEASURES: tuple[tuple[str, str, int], ...] = (
    # (measure, how it is shown: count | duration | ratio, +1 when more is better, -1 when less is, 0 neutral)
    ("written_complaints", "count", -1), ("verbal_complaints", "count", -1), ("compliments", "count", 1),
    ("referrals", "count", 1), ("orders", "count", 1), ("buying_customers", "count", 1),
    ("repeat_customers", "count", 1), ("repeat_rate", "ratio", 1), ("first_responses", "count", 0),
    ("first_response_p50", "duration", -1), ("first_response_p90", "duration", -1), ("resolutions", "count", 0),
    ("turnaround_p50", "duration", -1), ("turnaround_p90", "duration", -1), ("reopened", "count", -1),
    ("repeat_visits", "count", -1), ("promises_due", "count", 0), ("promises_kept", "count", 1),
    ("promises_kept_rate", "ratio", 1),
)
