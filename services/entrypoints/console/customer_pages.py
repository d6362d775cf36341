"""Customer search (POST: a national ID never enters a URL), the context card and the timeline with filters."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from contracts.envelope import Channel
from contracts.identity import IdentifierKind
from services.entrypoints.api import customers as customers_api
from services.entrypoints.api import deps
from services.entrypoints.api import identity as identity_api
from services.entrypoints.api.problems import Problem
from services.entrypoints.console.access import Page
from services.entrypoints.console.i18n import DEPARTMENTS, Locale
from services.entrypoints.console.web import PREFIX, Viewer, ViewerDep, checked_form, render, require, see_other

router = APIRouter()
PAGE_SIZE = 20
EXPORT_ROWS = 10_000
CSV_COLUMNS = ("when", "channel", "department", "event", "summary", "case")
KINDS = [k.value for k in IdentifierKind]
CHANNELS = [c.value for c in Channel]


@router.get("/customers", name="console_customers")
async def search_page(request: Request, viewer: ViewerDep) -> Response:
    require(viewer, Page.CUSTOMERS)
    return render(request, "search.html", viewer, kinds=KINDS, kind="phone", error=None)


@router.post("/customers/lookup")
async def lookup(request: Request, viewer: ViewerDep) -> Response:
    """Resolve the identifier as `POST /v1/customers/lookup` does (same scope), then show the customer's page. The
    value typed is never echoed back (a national ID stays out of the page too)."""
    require(viewer, Page.CUSTOMERS)
    form = await checked_form(request, viewer)
    kind = form.get("kind", "phone")
    body = customers_api.LookupIn(identifier=f"{kind}:{form.get('value', '').strip()}")
    try:
        found = await customers_api.lookup_customer(viewer.principal, deps.customer_views(request),
                                                    deps.protector(request), body)
    except Problem as problem:
        error = "search.not_found" if problem.status == 404 else "search.invalid"
        return render(request, "search.html", viewer, status=problem.status, kinds=KINDS, kind=kind, error=error)
    return see_other(f"{PREFIX}/customers/{found.customer_id}")


@router.get("/customers/{customer_id}", name="console_customer")
async def customer_page(request: Request, viewer: ViewerDep, customer_id: str, channel: str = "",
                        department: str = "", since: str = "", until: str = "") -> Response:
    require(viewer, Page.CUSTOMERS)
    try:
        card = await identity_api.customer_card(viewer.principal, deps.customer_views(request), deps.now(request),
                                                deps.quality_stores(request), customer_id, at=None)
    except Problem as problem:
        return render(request, "not_found.html", viewer, status=problem.status, what="customer")
    filters = _filters(channel, department, since, until)
    page = await _timeline(request, viewer, card.customer_id, filters, None)
    return render(request, "customer.html", viewer, card=card, page=page, filters=filters,
                  channels=CHANNELS, departments=DEPARTMENTS)


@router.get("/customers/{customer_id}/timeline", name="console_timeline")
async def timeline_rows(request: Request, viewer: ViewerDep, customer_id: str, channel: str = "",
                        department: str = "", since: str = "", until: str = "", cursor: str = "") -> Response:
    """The next page of timeline rows and its own "load more" button (htmx swaps the button for them)."""
    require(viewer, Page.CUSTOMERS)
    filters = _filters(channel, department, since, until)
    page = await _timeline(request, viewer, customer_id, filters, cursor or None)
    return render(request, "_timeline_rows.html", viewer, page=page, filters=filters, customer_id=customer_id,
                  more=True)


@router.get("/customers/{customer_id}/timeline.csv", name="console_timeline_csv")
async def timeline_csv(request: Request, viewer: ViewerDep, customer_id: str, channel: str = "",
                       department: str = "", since: str = "", until: str = "") -> Response:
    """The filtered timeline (at most EXPORT_ROWS entries) as CSV, labelled in the viewer's language, read and
    masked as the timeline page is."""
    require(viewer, Page.CUSTOMERS)
    filters, cursor = _filters(channel, department, since, until), None
    entries: list[customers_api.TimelineEntryOut] = []
    while len(entries) < EXPORT_ROWS:
        page = await _timeline(request, viewer, customer_id, filters, cursor, limit=500)
        entries.extend(page.entries)
        if (cursor := page.next_cursor) is None:
            break
    t, out = viewer.locale, io.StringIO()
    writer = csv.writer(out)
    writer.writerow([t.t(f"timeline.{name}") for name in CSV_COLUMNS])
    for e in entries[:EXPORT_ROWS]:
        summary = t.summary(e.event_type, e.summary)
        writer.writerow([t.iso(e.occurred_at), e.channel, e.department, e.event_type, _cell(summary),
                         e.case_id or ""])
    name = re.sub(r"[^A-Za-z0-9-]", "", customer_id)[:64]
    return Response("\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8",  # BOM: spreadsheets read UTF-8
                    headers={"Content-Disposition": f'attachment; filename="timeline-{name}.csv"',
                             "Cache-Control": "no-store"})


def _cell(text: str) -> str:
    """Free text that a spreadsheet would run as a formula starts with a quote instead."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _filters(channel: str, department: str, since: str, until: str) -> dict[str, str]:
    return {"channel": channel if channel in CHANNELS else "",
            "department": department if department in DEPARTMENTS else "",
            "since": since if _day(since) else "", "until": until if _day(until) else ""}


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _start_of(text: str, locale: Locale) -> datetime | None:
    """Midnight starting a day in the console's time zone (Asia/Shanghai)."""
    day = _day(text)
    return datetime.combine(day, time(0), tzinfo=locale.zone) if day else None


async def _timeline(request: Request, viewer: Viewer, customer_id: str, filters: dict[str, str],
                    cursor: str | None, limit: int = PAGE_SIZE) -> Any:
    """One page of the timeline as `GET /v1/customers/{id}/timeline` returns it (masked for department tokens);
    `until` is inclusive of its day here, hence the next midnight."""
    until = _start_of(filters["until"], viewer.locale)
    if until is not None:
        until += timedelta(days=1)
    try:
        return await customers_api.customer_timeline(
            viewer.principal, deps.customer_views(request), deps.timeline(request), customer_id,
            channel=filters["channel"] or None,
            department=filters["department"] or None, since=_start_of(filters["since"], viewer.locale),
            until=until, cursor=cursor, limit=limit)
    except Problem:
        return customers_api.TimelinePageOut(customer_id=customer_id, entries=[], next_cursor=None)


@router.get("/shared", name="console_shared")
async def shared_page(request: Request, viewer: ViewerDep) -> Response:
    """Identifiers seen on several people (switchboards, family e-mails), masked; role tokens only."""
    require(viewer, Page.SHARED)
    found = await identity_api.shared_identifiers(viewer.principal, deps.customer_views(request),
                                                  limit=200)
    return render(request, "shared.html", viewer, shared=found)
