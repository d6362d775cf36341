"""Parked projection failures over HTTP: the events a projection could not apply (skipped, listed) and retries."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from projections.cursor import InvalidCursor
from projections.failures import failures, request_retry
from projections.protocol import Failure
from services.entrypoints.api.auth import PrincipalDep
from services.entrypoints.api.deps import NowDep, ReadModelsDep
from services.entrypoints.api.problems import Problem

MAX_POSITION = 2**63 - 1  # log positions are 64-bit
router = APIRouter(prefix="/v1/projections", tags=["projections"])


class FailureOut(BaseModel):
    projection: str
    position: int = Field(description="Log position of the event the projection parked (skipped).")
    event_id: str
    event_type: str
    error_type: str = Field(description="The exception's class, qualified.")
    error_message: str
    first_failed_at: datetime
    last_failed_at: datetime
    attempts: int = Field(description="Times the event was parked: live, then by each rebuild or retry.")
    resolved_at: datetime | None = Field(description="When a rebuild applied it (retry after a fix).")

    @classmethod
    def of(cls, failure: Failure) -> FailureOut:
        return cls(projection=failure.projection, position=failure.position, event_id=failure.event_id,
                   event_type=failure.event_type, error_type=failure.error_type,
                   error_message=failure.error_message, first_failed_at=failure.first_failed_at or failure.failed_at,
                   last_failed_at=failure.failed_at, attempts=failure.attempts, resolved_at=failure.resolved_at)


class FailuresOut(BaseModel):
    failures: list[FailureOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last.")


class RetryOut(BaseModel):
    projection: str
    position: int
    requested: int = Field(description="Unresolved parked events the retry was asked for (0: none such).")
    note: str


@router.get("/failures", response_model=FailuresOut, operation_id="list_projection_failures",
            responses={403: {}, 422: {}})
async def list_failures(
    _: PrincipalDep,
    views: ReadModelsDep,
    projection: Annotated[str | None, Query(max_length=100)] = None,
    resolved: Annotated[bool, Query(description="Include the resolved ones.")] = False,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> FailuresOut:
    """The events projections parked: recorded facts a projection could not apply, skipped by it while it and
    the others went on (docs/operations.md, "Parked events"). Ordered by projection, then log position."""
    try:
        page, after = await run_in_threadpool(lambda: failures(views, projection=projection, resolved=resolved,
                                                               cursor=cursor, limit=limit))
    except InvalidCursor as exc:
        raise Problem(422, "Invalid cursor", str(exc),
                      errors=[{"loc": "query.cursor", "message": str(exc), "type": "cursor_invalid"}]) from exc
    return FailuresOut(failures=[FailureOut.of(f) for f in page], next_cursor=after)


@router.post("/failures/{projection}/{position}/retry", response_model=RetryOut, status_code=202,
             operation_id="retry_projection_failure", responses={403: {}, 404: {}})
async def retry_failure(projection: Annotated[str, Path(max_length=100)],
                        position: Annotated[int, Path(ge=1, le=MAX_POSITION)],
                        _: PrincipalDep, views: ReadModelsDep, now: NowDep) -> RetryOut:
    """Ask the projector to retry a parked event (after a fix is deployed): it rebuilds the projection from zero
    in place, which applies every parked event of it again; those that now apply are resolved, the others stay
    parked with one more attempt. Answers 202 at once; watch the failure's `resolved_at`."""
    count = await run_in_threadpool(request_retry, views, now, projection, position)
    if count == 0:
        raise Problem(404, "Not Found", f"no unresolved parked event of {projection} at position {position}")
    return RetryOut(projection=projection, position=position, requested=count,
                    note=f"the projector will rebuild {projection} from zero and retry its parked events")
