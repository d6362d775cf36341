"""Replay for auditors over HTTP: as-of (a customer's timeline, a case and its SLA clocks as they stood at a
position or instant) and rebuild-and-compare runs (`/v1/audit/replays`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from domain.sla.handoffs import policy_handoff_target
from projections.cases.views import case_view
from projections.customers.queries import anchors_of
from services.application.asof import AsOfReplayer, NoTimeIndex, ReplayTooLong
from services.application.cases import CaseViews
from services.application.replays import ReplayBusy, ReplayJob, ReplaysClosed
from services.entrypoints.api.auth import AuditorDep
from services.entrypoints.api.case_schemas import CaseOut
from services.entrypoints.api.customers import TimelineEntryOut, TimelinePageOut
from services.entrypoints.api.deps import CaseViewsDep, EventStoreDep, PositionAtDep, ReplaysDep
from services.entrypoints.api.params import Instant, Position
from services.entrypoints.api.problems import Problem
from services.entrypoints.api.sla_schemas import CaseSlaOut

router = APIRouter(prefix="/v1/audit", tags=["audit"])


class AsOfOut(BaseModel):
    position: int = Field(description="The log position the state was folded to (events 1..position).")
    at: datetime | None = Field(description="The instant asked for, resolved to `position` by recording time.")
    now: datetime | None = Field(description="The instant time-dependent views (SLA, ages) were computed for.")
    timeline: TimelinePageOut | None = None
    case: CaseOut | None = None
    sla: CaseSlaOut | None = None


def as_of(replayer: AsOfReplayer, views: CaseViews, *, customer_id: str | None = None, case_id: str | None = None,
          position: int | None = None, at: datetime | None = None, now: datetime | None = None,
          limit: int = 50) -> AsOfOut:
    """The as-of answer (API and CLI). Raises NoTimeIndex, ReplayTooLong, ValueError for a malformed question."""
    if (customer_id is None) == (case_id is None) or (position is None) == (at is None):
        raise ValueError("give exactly one of customer_id and case_id, and exactly one of position and at")
    state = replayer.state(replayer.resolve(position, at), customer=customer_id is not None,
                           case=case_id is not None, now=now or at)
    out = AsOfOut(position=state.position, at=at, now=state.now)
    if state.timeline is not None and customer_id is not None:
        anchors = anchors_of(state.customers, customer_id) if state.customers is not None else [customer_id]
        page = state.timeline.page(anchors, limit=limit)
        entries = [TimelineEntryOut(**{f: getattr(e, f) for f in TimelineEntryOut.model_fields})
                   for e in page.entries]
        out.timeline = TimelinePageOut(customer_id=customer_id, entries=entries, next_cursor=page.next_cursor)
    if state.cases is not None and state.sla is not None and case_id is not None and state.now is not None:
        found, clocks = state.cases.case(case_id), state.sla.case(case_id)
        target = policy_handoff_target(state.sla.policies(), views.default_target)
        out.case = CaseOut.of_view(case_view(found, state.now, views.calendar_for, target)) if found else None
        out.sla = CaseSlaOut.of(clocks, state.now) if clocks is not None else None
    return out


@router.get("/as-of", response_model=AsOfOut, operation_id="audit_as_of", responses={403: {}, 422: {}, 501: {}})
async def audit_as_of(
    _: AuditorDep,
    event_store: EventStoreDep,
    views: CaseViewsDep,
    position_at: PositionAtDep,
    customer_id: str | None = None,
    case_id: str | None = None,
    position: Annotated[Position | None, Query(description="Fold events 1..position.")] = None,
    at: Annotated[Instant | None, Query(description="What had been recorded by this instant.")] = None,
    now: Annotated[Instant | None, Query(description="Instant for SLA and ages (default: `at`, or "
                                                "the latest occurred_at up to the position).")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> AsOfOut:
    """The customer's timeline, or the case and its SLA clocks, as operations saw them at a log position or an
    instant (replayed from the log; nothing is written). Auditor and admin tokens only."""
    replayer = AsOfReplayer(event_store, position_at)
    try:
        return await run_in_threadpool(lambda: as_of(replayer, views, customer_id=customer_id,
                                                     case_id=case_id, position=position, at=at, now=now,
                                                     limit=limit))
    except NoTimeIndex as exc:
        raise Problem(501, "As-of by instant unavailable", str(exc)) from exc
    except ReplayTooLong as exc:
        raise Problem(422, "Replay too long", str(exc)) from exc
    except ValueError as exc:
        raise Problem(422, "Invalid as-of question", str(exc)) from exc


class ReplayedOut(BaseModel):
    name: str = Field(description="Projection.")
    live_position: int = Field(description="Log position of the live read model when its checksum was noted.")
    live_checksum: str
    rebuilt_position: int = Field(description="Log position the rebuild from zero reached (the same when all is well).")
    rebuilt_checksum: str
    equal: bool = Field(description="Same position and checksum.")


class ReplayOut(BaseModel):
    replay_id: str
    requested_by: str = Field(description="The token's department or role that asked for it.")
    status: str = Field(description="running, then equal (every projection), different or failed.")
    started_at: datetime
    finished_at: datetime | None
    position: int = Field(description="Log position the rebuild has reached.")
    last: int = Field(description="Log position it rebuilds to (the live positions noted at its start).")
    projections: list[ReplayedOut] = Field(description="Live and rebuilt checksums, once finished.")
    differing: list[str] = Field(description="Projections whose live and rebuilt checksums differ.")
    error: str | None = Field(description="Why it failed.")

    @classmethod
    def of(cls, job: ReplayJob) -> ReplayOut:
        projections: list[ReplayedOut] = []
        differing: list[str] = []
        if job.comparison is not None:
            differing = job.comparison.differing
            for name, (position, digest) in sorted(job.comparison.live.items()):
                rebuilt = job.comparison.rebuilt[name]
                projections.append(ReplayedOut(name=name, live_position=position, live_checksum=digest,
                                               rebuilt_position=rebuilt.position, rebuilt_checksum=rebuilt.checksum,
                                               equal=name not in differing))
        return cls(replay_id=job.replay_id, requested_by=job.requested_by, status=job.status,
                   started_at=job.started_at, finished_at=job.finished_at, position=job.position, last=job.last,
                   projections=projections, differing=differing, error=job.error)


@router.post("/replays", response_model=ReplayOut, status_code=202, operation_id="start_audit_replay",
             responses={403: {}, 409: {}, 503: {}})
async def start_replay(response: Response, principal: AuditorDep, jobs: ReplaysDep) -> ReplayOut:
    """Rebuild every projection from zero into a temporary place and compare it with the live read model at the
    same log position (`touchline audit compare`), in the background: answers 202 at once with the replay's id;
    poll `GET /v1/audit/replays/{replay_id}`. Writes nothing the live system reads, sends nothing. One replay at a
    time (409 while one runs). Auditor and admin tokens only."""
    try:
        job = jobs.start(principal.name)
    except ReplayBusy as exc:
        raise Problem(409, "Replay running", f"replay {exc} is still running; poll it or try again later") from exc
    except ReplaysClosed as exc:
        raise Problem(503, "Replay unavailable", f"{exc}; try again once it is back") from exc
    response.headers["Location"] = f"/v1/audit/replays/{job.replay_id}"
    return ReplayOut.of(job)


@router.get("/replays", response_model=list[ReplayOut], operation_id="list_audit_replays", responses={403: {}})
async def list_replays(_: AuditorDep, jobs: ReplaysDep) -> list[ReplayOut]:
    """The replays this API process has run or runs (the latest 20), newest first."""
    return [ReplayOut.of(job) for job in jobs.recent()]


@router.get("/replays/{replay_id}", response_model=ReplayOut, operation_id="get_audit_replay",
            responses={403: {}, 404: {}})
async def get_replay(replay_id: str, _: AuditorDep, jobs: ReplaysDep) -> ReplayOut:
    """A replay's progress, then its outcome: every projection's live and rebuilt checksums."""
    job = jobs.get(replay_id)
    if job is None:
        raise Problem(404, "Not Found", f"no replay {replay_id} in this API process (they are kept in memory)")
    return ReplayOut.of(job)
