"""Tamper-evident history over HTTP: public key, signed checkpoints, inclusion and consistency proofs, verify,
a customer's history exported with proofs."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from services.application.audit.service import (
    AuditService,
    BadRequest,
    Inconsistent,
    NotCovered,
    NotFound,
    checkpoint_json,
)
from services.entrypoints.api.auth import AuditorDep
from services.entrypoints.api.deps import AuditDep, ExporterDep
from services.entrypoints.api.params import Ordinal, Position
from services.entrypoints.api.problems import Problem

router = APIRouter(prefix="/v1/audit", tags=["audit"])
AUDIT_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "The parameters contradict each other (e.g. `from` after `to`)"},
    404: {"description": "No such event or checkpoint (yet)"},
    503: {"description": "This process runs without the audit service"},
}


async def _call(service: AuditService, method: str, *args: Any) -> Any:
    try:
        return await run_in_threadpool(getattr(service, method), *args)
    except NotFound as exc:
        raise Problem(404, "Not Found", str(exc)) from exc
    except BadRequest as exc:
        raise Problem(400, "Bad Request", str(exc)) from exc


@router.get("/public-key", operation_id="audit_public_key", responses={503: {}})
async def public_key(service: AuditDep) -> dict[str, Any]:
    """The Ed25519 key checkpoints are signed with (base64 raw 32 bytes) and the key ids still trusted.
    Public: anyone holding a published checkpoint may verify it."""
    return await _call(service, "public_key")


@router.get("/checkpoints", operation_id="list_audit_checkpoints", responses=AUDIT_ERRORS)
async def checkpoints(_: AuditorDep, service: AuditDep, after: Annotated[Position, Query()] = 0,
                      limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
    """Signed checkpoints with seq > `after`, oldest first."""
    found = await _call(service, "checkpoints", after, limit)
    return {"checkpoints": [checkpoint_json(c) for c in found]}


@router.get("/proofs/inclusion", operation_id="audit_inclusion_proof", responses=AUDIT_ERRORS)
async def inclusion(_: AuditorDep, service: AuditDep, event_id: UUID,
                    checkpoint: Annotated[Ordinal | None, Query()] = None) -> dict[str, Any]:
    """The stored record of an event and a Merkle proof of its inclusion in a checkpoint (default: the latest)."""
    result: dict[str, Any] = await _call(service, "inclusion", event_id, checkpoint)
    return result


@router.get("/proofs/consistency", operation_id="audit_consistency_proof", responses=AUDIT_ERRORS)
async def consistency(_: AuditorDep, service: AuditDep, from_seq: Annotated[Ordinal, Query(alias="from")],
                      to_seq: Annotated[Ordinal, Query(alias="to")]) -> dict[str, Any]:
    """A Merkle proof that checkpoint `to`'s tree extends checkpoint `from`'s (append-only history)."""
    result: dict[str, Any] = await _call(service, "consistency", from_seq, to_seq)
    return result


@router.get("/verify", operation_id="audit_verify", responses=AUDIT_ERRORS)
async def verify(_: AuditorDep, service: AuditDep,
                 limit: Annotated[int, Query(ge=1, le=1_000_000)] = 100_000) -> dict[str, Any]:
    """Recompute the log's hashes from its start (up to `limit` events) against the chain and signed checkpoints;
    `ok` false names the first bad position and why."""
    verdict = await _call(service, "verify", limit)
    finding = verdict.finding
    return {"ok": verdict.ok, "complete": verdict.complete, "checked": verdict.checked,
            "last_position": verdict.last_position, "checkpoints_verified": verdict.checkpoints_verified,
            "unchained": verdict.unchained,
            "finding": None if finding is None else {"position": finding.position, "reason": str(finding.reason),
                                                     "detail": finding.detail, "checkpoint": finding.checkpoint}}


NDJSON = "application/x-ndjson"


@router.get("/customers/{customer_id}/export", operation_id="audit_export_customer", response_class=StreamingResponse,
            responses={200: {"content": {NDJSON: {}}, "description": "JSON Lines: header, events, trailer."},
                       403: {}, 404: {}, 409: {}})
async def export_customer(_: AuditorDep, exporter: ExporterDep, customer_id: str) -> StreamingResponse:
    """The customer's every event as stored, each with a Merkle proof of its inclusion in the latest signed
    checkpoint, streamed as JSON Lines (format in docs/audit.md; check with `touchline audit verify-export`).
    404: no events for this customer; 409: its newest events are not covered by a checkpoint yet (retry later)."""
    try:
        lines = await run_in_threadpool(exporter.export, customer_id)
    except NotFound as exc:
        raise Problem(404, "Not Found", str(exc)) from exc
    except NotCovered as exc:
        raise Problem(409, "Not yet checkpointed", str(exc)) from exc
    except Inconsistent as exc:
        raise Problem(500, "Audit inconsistency", str(exc)) from exc
    return StreamingResponse(lines, media_type=NDJSON,
                             headers={"Content-Disposition": 'attachment; filename="touchline-export.jsonl"'})
