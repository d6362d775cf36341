"""POST /v1/events: validate, authorise and publish touchpoint events; 202 only once the broker acknowledged.

An event id names one fact: resending the same event is harmless (202, stored once), but reusing an id for
different content is a conflict (409, or the item's `conflict` result in a batch), checked against the store
and within the request. Two copies sent at the same moment both pass this check; the recorder, which sees
every event in order, dead-letters the later one (`event_id conflict`).
"""

from __future__ import annotations

from typing import Any, Literal

import orjson
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from contracts import Envelope
from domain.intake import Rejected, admit, conflict_error, same_content, split_resends
from services.adapters.kafka.records import PublishFailed
from services.adapters.metrics import INGEST_EVENTS
from services.entrypoints.api.auth import Principal, PrincipalDep
from services.entrypoints.api.deps import RootDep
from services.entrypoints.api.problems import Problem
from services.entrypoints.bootstrap import Root

router = APIRouter(prefix="/v1", tags=["ingest"])


class ItemError(BaseModel):
    loc: str = Field(description="Dotted field path inside the event, e.g. payload.due_at")
    message: str
    type: str


class ItemResult(BaseModel):
    index: int
    status: Literal["accepted", "rejected", "conflict"]
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
    responses={401: {}, 403: {"description": "Not this token's department, or one of touchline's own event "
                                             "types (sla.*, privacy.*), which only touchline records"},
               409: {"description": "Every valid event reuses an event id with different content"},
               413: {}, 422: {}, 503: {}},
)
async def publish_events(request: Request, principal: PrincipalDep, root: RootDep) -> IngestResult:
    """Validate every event, publish the valid ones (acks=all), and report each item's outcome."""
    limit = root.settings.max_body_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise Problem(413, "Request too large", f"At most {limit} bytes per request.")
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > limit:
            raise Problem(413, "Request too large", f"At most {limit} bytes per request.")
    return await run_in_threadpool(_ingest, root, principal, bytes(raw))


def _ingest(root: Root, principal: Principal, raw: bytes) -> IngestResult:
    items, batch = _items(raw, root.settings.max_batch)
    outcomes: list[Envelope | Rejected] = [admit(item, root.protector) for item in items]
    _refuse_internal(outcomes, batch)
    valid = [(i, o) for i, o in enumerate(outcomes) if isinstance(o, Envelope)]
    _authorise(principal.department, [event for _, event in valid])
    fresh, conflicts = _resends(root.event_store, valid)
    results = [_result(i, o, i in conflicts) for i, o in enumerate(outcomes)]
    accepted = len(valid) - len(conflicts)
    if not accepted:
        _refuse_all(results, conflicts)
    try:
        root.publisher.publish(fresh)
    except PublishFailed as exc:
        raise Problem(503, "Broker unavailable", str(exc), headers={"Retry-After": "1"}) from exc
    INGEST_EVENTS.labels("accepted").inc(accepted)
    INGEST_EVENTS.labels("rejected").inc(len(outcomes) - accepted)
    return IngestResult(accepted=accepted, rejected=len(outcomes) - accepted, results=results)


def _refuse_internal(outcomes: list[Envelope | Rejected], batch: bool) -> None:
    internal = [i for i, o in enumerate(outcomes) if isinstance(o, Rejected) and o.internal]
    if internal:
        errors = [{"loc": _loc(i, "event_type", batch), "message": "internal event type: recorded only by touchline "
                   "itself", "type": "internal_event_type"} for i in internal]
        raise Problem(403, "Forbidden", "sla.* and privacy.* events are recorded only by touchline itself.",
                      errors=errors)


def _resends(store: Any, valid: list[tuple[int, Envelope]]) -> tuple[list[Envelope], dict[int, Envelope]]:
    """The events to publish (first of each id, not already stored), and the conflicting items by index.
    An identical resend of a stored event is accepted without publishing it again."""
    resends = split_resends(valid)
    stored = store.recorded(event.event_id for event in resends.first.values())
    conflicts = dict(resends.conflicting)
    fresh = []
    for index, event in resends.first.items():
        known = stored.get(event.event_id)
        if known is None:
            fresh.append(event)
        elif not same_content(known, event):
            conflicts[index] = event
    return fresh, conflicts


def _refuse_all(results: list[ItemResult], conflicts: dict[int, Envelope]) -> None:
    if conflicts:
        ids = sorted({str(event.event_id) for event in conflicts.values()})
        raise Problem(409, "Event id conflict", "An event with this id and different content is already recorded.",
                      conflicting_event_ids=ids, results=_dump(results))
    raise Problem(422, "No valid events", "Every item was rejected; see results.", results=_dump(results))


def _items(raw: bytes, max_batch: int) -> tuple[list[Any], bool]:
    """The items of the body and whether it was a batch (an array)."""
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise Problem(400, "Malformed JSON", str(exc)) from exc
    batch = isinstance(document, list)
    items = document if batch else [document]
    if not items:
        raise Problem(422, "Empty batch", "Send one event object or a non-empty array of events.")
    if len(items) > max_batch:
        raise Problem(413, "Batch too large", f"At most {max_batch} events per request; got {len(items)}.")
    return items, batch


def _authorise(department: str | None, events: list[Envelope]) -> None:
    if department is None:
        raise Problem(403, "Forbidden", "Only department tokens may publish events.")
    foreign = sorted({e.source.department for e in events if e.source.department != department})
    if foreign:
        raise Problem(
            403, "Forbidden", f"A '{department}' token may only publish events of source.department '{department}'.",
            foreign_departments=foreign,
        )


def _result(index: int, outcome: Envelope | Rejected, conflict: bool) -> ItemResult:
    """An item's outcome; its errors' paths are inside the item (the item is `index`)."""
    if isinstance(outcome, Rejected):
        errors = [ItemError(loc=e.loc, message=e.message, type=e.type) for e in outcome.errors]
        return ItemResult(index=index, status="rejected", errors=errors)
    if conflict:
        error = conflict_error(outcome.event_id)
        return ItemResult(index=index, status="conflict", event_id=str(outcome.event_id),
                          errors=[ItemError(loc=error.loc, message=error.message, type=error.type)])
    return ItemResult(index=index, status="accepted", event_id=str(outcome.event_id))


def _loc(index: int, field: str, batch: bool) -> str:
    """A field's path in the request body: `[2].event_type` in a batch, `event_type` for a single event."""
    return f"[{index}].{field}" if batch else field


def _dump(results: list[ItemResult]) -> list[dict[str, Any]]:
    return [r.model_dump(exclude_none=True) for r in results]
