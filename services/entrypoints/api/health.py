"""Liveness, readiness (the API's dependencies and, in `touchline run`, every loop of the process) and metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from services.entrypoints.api.deps import RootDep
from services.entrypoints.api.problems import Problem

router = APIRouter(tags=["health"])


@router.get("/healthz", operation_id="healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", operation_id="readyz", responses={503: {}})
async def readyz(root: RootDep) -> dict[str, str]:
    """The broker and the stores answer, no projection is stuck (parked events leave it ready: "degraded"); in
    `touchline run` also every supervised loop is running, not retrying, and the recorder owns its partitions (so an
    accepted event can be recorded). 503 names what is not ok."""
    checks: dict[str, str] = await run_in_threadpool(root.readiness)
    if any(state != "ok" and not state.startswith("degraded") for state in checks.values()):
        raise Problem(503, "Not ready", ", ".join(f"{k}: {v}" for k, v in checks.items()), checks=checks)
    return {"status": "ok"} | checks


@router.get("/metrics", operation_id="metrics", include_in_schema=False)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
