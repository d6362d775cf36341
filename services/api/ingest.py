"""POST /v1/events: validate, authorise and publish touchpoint events; 202 only once the broker acknowledged."""

from __future__ import annotations

from typing import Any, Literal

import orjson
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from contracts import Envelope
from domain.intake import Rejected, admit
from services.api.auth import Principal, PrincipalDep
from services.api.problems import Problem
from services.kafka.records import PublishFailed
from services.metrics import INGEST_EVENTS

router = APIRouter(prefix="/v1", tags=["ingest"])


class ItemError(BaseModel):
    loc: str = Field(description="Dotted field path inside the event, e.g. payload.due_at")
    message: str
    type: str


class ItemResult(BaseModel):
    index: int
    status: Literal["accepted", "rejected"]
    event_id: str | None = None
    errors: list[ItemError] = Field(default_factory=list)


class IngestResult(BaseModel):
    accepted: int
    rejected: int
    results: list[ItemResult]


EVENTS_BODY = {
    "requestBody": {
        "required": True,
        "description": "One event (an object) or a batch (an array of at most TOUCHLINE_MAX_BATCH events). "
        "See docs/events.md for every event type.",
        "content": {"application/json": {"schema": {"oneOf": [{"type": "object"}, {"type": "array"}]}}},
    }
}


@router.post(
    "/events",
    status_code=202,
    response_model=IngestResult,
    operation_id="publish_events",
    openapi_extra=EVENTS_BODY,
    responses={401: {}, 403: {}, 413: {}, 422: {}, 503: {}},
)
async def publish_events(request: Request, principal: PrincipalDep) -> IngestResult:
    """Validate every event, publish the valid ones (acks=all), and report each item's outcome."""
    limit = request.app.state.components.settings.max_body_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise Problem(413, "Request too large", f"At most {limit} bytes per request.")
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > limit:
            raise Problem(413, "Request too large", f"At most {limit} bytes per request.")
    return await run_in_threadpool(_ingest, request.app.state.components, principal, bytes(raw))


def _ingest(components: Any, principal: Principal, raw: bytes) -> IngestResult:
    items = _items(raw, components.settings.max_batch)
    outcomes = [admit(item, components.protector) for item in items]
    accepted = [o for o in outcomes if isinstance(o, Envelope)]
    _authorise(principal.department, accepted)
    results = [_result(i, o) for i, o in enumerate(outcomes)]
    if not accepted:
        raise Problem(422, "No valid events", "Every item was rejected; see results.", results=_dump(results))
    try:
        components.publisher.publish(accepted)
    except PublishFailed as exc:
        raise Problem(503, "Broker unavailable", str(exc), headers={"Retry-After": "1"}) from exc
    INGEST_EVENTS.labels("accepted").inc(len(accepted))
    INGEST_EVENTS.labels("rejected").inc(len(outcomes) - len(accepted))
    return IngestResult(accepted=len(accepted), rejected=len(outcomes) - len(accepted), results=results)


def _items(raw: bytes, max_batch: int) -> list[Any]:
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise Problem(400, "Malformed JSON", str(exc)) from exc
    items = document if isinstance(document, list) else [document]
    if not items:
        raise Problem(422, "Empty batch", "Send one event object or a non-empty array of events.")
    if len(items) > max_batch:
        raise Problem(413, "Batch too large", f"At most {max_batch} events per request; got {len(items)}.")
    return items


def _authorise(department: str | None, events: list[Envelope]) -> None:
    if department is None:
        raise Problem(403, "Forbidden", "Only department tokens may publish events.")
    foreign = sorted({e.source.department for e in events if e.source.department != department})
    if foreign:
        raise Problem(
            403, "Forbidden", f"A '{department}' token may only publish events of source.department '{department}'.",
            foreign_departments=foreign,
        )


def _result(index: int, outcome: Envelope | Rejected) -> ItemResult:
    if isinstance(outcome, Rejected):
        errors = [ItemError(loc=e.loc, message=e.message, type=e.type) for e in outcome.errors]
        return ItemResult(index=index, status="rejected", errors=errors)
    return ItemResult(index=index, status="accepted", event_id=str(outcome.event_id))


def _dump(results: list[ItemResult]) -> list[dict[str, Any]]:
    return [r.model_dump(exclude_none=True) for r in results]
