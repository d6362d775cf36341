"""Service quality over HTTP: SERVQUAL gaps, the scorecard, first-contact resolution, proactive contact,
failure-prone touchpoints, segments and staff assessment (docs/quality.md), each as JSON or `?format=csv`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from domain.quality.periods import DEFAULT_ZONE, PeriodKind
from domain.quality.servqual import Grouping
from services.application.quality import Quality
from services.entrypoints.api.auth import PrincipalDep
from services.entrypoints.api.csvfile import CSV_RESPONSE, Format, csv_response
from services.entrypoints.api.deps import QualityStoresDep, RootDep
from services.entrypoints.api.params import Instant
from services.entrypoints.api.problems import Problem
from services.entrypoints.api.quality_schemas import (
    DueOut,
    FcrOut,
    ProactiveOut,
    ScorecardOut,
    ScorecardRowOut,
    SegmentOut,
    SegmentsOut,
    ServqualCellOut,
    ServqualOut,
    StaffOut,
    TouchpointOut,
    TouchpointsOut,
)
from services.entrypoints.bootstrap import Root

router = APIRouter(prefix="/v1/quality", tags=["quality"])

SinceDep = Annotated[Instant | None, Query(alias="from", description="Facts occurring at or after (inclusive).")]
UntilDep = Annotated[Instant | None, Query(alias="to", description="Facts occurring before (exclusive).")]
PeriodDep = Annotated[PeriodKind, Query(description="Months (`2026-11`) or quarters (`2026-Q4`).")]
ZoneDep = Annotated[str, Query(max_length=64, description="IANA time zone of the periods' local calendar.")]
NowParam = Annotated[Instant | None, Query(description="The instant (event time) the measures are computed as of; "
                                                       "default: now. Facts occurring later are not seen.")]
Limit = Annotated[int, Query(ge=1, le=10_000)]


def quality_for(principal: PrincipalDep, stores: QualityStoresDep, root: RootDep) -> Quality:
    """The quality views as `principal` may read them (a department token: its own department)."""
    if stores is None:
        raise Problem(503, "Quality views unavailable", "This API process has no quality read models wired.")
    return Quality(stores, root.cases, root.customers.directory, principal.department)


QualityDep = Annotated[Quality, Depends(quality_for)]


def _now(root: Root, now: datetime | None) -> datetime:
    given: datetime = now if now is not None else root.clock()
    return given


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        error = {"loc": "query.zone", "message": f"unknown time zone {name!r}", "type": "zone_unknown"}
        raise Problem(422, "Invalid request", "See errors.", errors=[error]) from exc


def _answer(body: Any, format_: str, name: str) -> Any:
    return csv_response(body.csv_rows(), f"{name}.csv") if format_ == "csv" else body


SERVED = {**CSV_RESPONSE, 503: {"description": "No quality read models are wired in this process."}}


@router.get("/servqual", response_model=ServqualOut, operation_id="quality_servqual", responses=SERVED)
async def servqual(quality: QualityDep, by: Annotated[Grouping, Query(description="The unit of a cell.")]
                   = Grouping.DEPARTMENT, period: PeriodDep = PeriodKind.MONTH, since: SinceDep = None,
                   until: UntilDep = None, zone: ZoneDep = DEFAULT_ZONE, format: Format = "json"
                   ) -> ServqualOut | Response:
    """SERVQUAL per unit and period: n (customers), surveys, the score (mean over customers of their mean item
    gap), the five dimension gaps and the importance-weighted score. Manager tokens: their department's surveys."""
    found = await run_in_threadpool(quality.servqual, by, period, since, until, _zone(zone))
    body = ServqualOut(by=by.value, period=period.value, zone=zone, cells=[ServqualCellOut.of(c) for c in found])
    return _answer(body, format, "servqual")


@router.get("/scorecard", response_model=ScorecardOut, operation_id="quality_scorecard", responses=SERVED)
async def scorecard(root: RootDep, quality: QualityDep, period: PeriodDep = PeriodKind.MONTH,
                    since: SinceDep = None, until: UntilDep = None, zone: ZoneDep = DEFAULT_ZONE,
                    department: Annotated[str | None, Query(max_length=100)] = None, now: NowParam = None,
                    format: Format = "json") -> ScorecardOut | Response:
    """Per department and period with a fact in [from, to): complaints, compliments, referrals, repeat business,
    first response and turnaround (business time, p50/p90), rework, promises kept; the previous period's values
    and the change. Manager tokens: their department's rows."""
    _zone(zone)
    at = _now(root, now)
    found = await run_in_threadpool(quality.scorecard, period, since, until, zone, at, department)
    body = ScorecardOut(period=period.value, zone=zone, as_of=at, rows=[ScorecardRowOut.of(r) for r in found])
    return _answer(body, format, "scorecard")


@router.get("/fcr", response_model=FcrOut, operation_id="quality_fcr", responses=SERVED)
async def fcr(root: RootDep, quality: QualityDep, now: NowParam = None,
              cases: Annotated[bool, Query(description="Also list every case's outcome.")] = False,
              format: Format = "json") -> FcrOut | Response:
    """First-contact resolution computed from the log, per department, channel and agent of the case's opening:
    resolved soon enough, with no handoff, reopen or repeat contact of the resolved customer in the window.
    Manager tokens: cases their department opened."""
    report = await run_in_threadpool(quality.fcr, _now(root, now), cases)
    config = quality.stores.fcr
    body = FcrOut.of(report, config.window_days, config.resolve_within_hours, cases)
    return _answer(body, format, "fcr")


@router.get("/proactive", response_model=ProactiveOut, operation_id="quality_proactive", responses=SERVED)
async def proactive(root: RootDep, quality: QualityDep, now: NowParam = None, limit: Limit = 500,
                    format: Format = "json") -> ProactiveOut | Response:
    """Customers of watched segments whose silence reached their own contact rhythm (`now` is event time), longest
    overdue first, with their owner and last touches. Manager tokens: customers their department dealt with."""
    at = _now(root, now)
    found = await run_in_threadpool(quality.proactive, at)
    body = ProactiveOut(as_of=at, total=len(found), items=[DueOut.of(d) for d in found[:limit]])
    return _answer(body, format, "proactive")


@router.get("/touchpoints", response_model=TouchpointsOut, operation_id="quality_touchpoints", responses=SERVED)
async def touchpoints(root: RootDep, quality: QualityDep, now: NowParam = None, limit: Limit = 100,
                      examples: Annotated[int, Query(ge=0, le=50, description="Example case ids per touchpoint.")]
                      = 3, format: Format = "json") -> TouchpointsOut | Response:
    """Touchpoints (channel × department × step) ranked by failure signals per volume: breaches, dropped handoffs,
    ping-pong, repeat contacts, complaints, reopens; with example case ids. Manager tokens: their department's."""
    at = _now(root, now)
    found = await run_in_threadpool(quality.touchpoints, at, examples)
    body = TouchpointsOut(as_of=at, total=len(found), items=[TouchpointOut.of(t) for t in found[:limit]])
    return _answer(body, format, "touchpoints")


@router.get("/segments", response_model=SegmentsOut, operation_id="quality_segments", responses=SERVED)
async def segments(root: RootDep, quality: QualityDep, now: NowParam = None,
                   limit: Annotated[int, Query(ge=1, le=100_000, description="Customers listed per segment.")]
                   = 1000, format: Format = "json") -> SegmentsOut | Response:
    """Customers per segment (the context card's segment rules, at `now`) with their counts. Manager tokens: the
    customers their department dealt with."""
    at = _now(root, now)
    found = await run_in_threadpool(quality.segments, at)
    body = SegmentsOut(as_of=at, segments=[SegmentOut.of(s, limit) for s in found])
    return _answer(body, format, "segments")


@router.get("/staff", response_model=StaffOut, operation_id="quality_staff", responses=SERVED)
async def staff(root: RootDep, quality: QualityDep, now: NowParam = None,
                format: Format = "json") -> StaffOut | Response:
    """Per agent and per department: contacts handled, cases, FCR, promises kept/broken/pending, response times,
    survey gaps and complaints of the cases they opened. Manager tokens: their department and its agents."""
    report = await run_in_threadpool(quality.staff, _now(root, now))
    return _answer(StaffOut.of(report), format, "staff")
