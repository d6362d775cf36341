"""Customer queries: find a customer by any identifier, and read one customer's timeline across channels."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from domain.identity.identifiers import IdentifierKind, IdentifierProtector, InvalidIdentifier, normalise
from projections.timeline.queries import InvalidCursor
from services.application.customers import CustomerViews
from services.entrypoints.api.auth import Principal, PrincipalDep
from services.entrypoints.api.deps import CustomerViewsDep, ProtectorDep, TimelineDep
from services.entrypoints.api.params import Instant
from services.entrypoints.api.permissions import shown
from services.entrypoints.api.problems import Problem

router = APIRouter(prefix="/v1/customers", tags=["customers"])


class CustomerMatchOut(BaseModel):
    customer_id: str
    identifiers: int
    shared: bool


class CustomerLookup(BaseModel):
    identifier: str
    customer_id: str
    customers: list[CustomerMatchOut]


class TimelineEntryOut(BaseModel):
    position: int
    event_id: str
    event_type: str
    occurred_at: datetime
    channel: str
    department: str
    site: str | None
    agent: str | None
    summary: str
    case_id: str | None


class TimelinePageOut(BaseModel):
    customer_id: str
    entries: list[TimelineEntryOut]
    next_cursor: str | None


class LookupIn(BaseModel):
    identifier: str = Field(description="KIND:VALUE, e.g. national_id:11010519491231002X")


@router.get("", response_model=CustomerLookup, operation_id="find_customer", responses={404: {}, 422: {}})
async def find_customer(
    principal: PrincipalDep,
    views: CustomerViewsDep,
    protector: ProtectorDep,
    identifier: Annotated[str, Query(description="KIND:VALUE, e.g. phone:13800138000 or email:li@example.cn")],
) -> CustomerLookup:
    """The customer known by an identifier (phone, e-mail, customer number, national ID, ...), resolved across
    every identifier linked to it. National IDs in a URL end up in access logs: prefer `POST /v1/customers/lookup`."""
    return await _lookup(views, protector, principal, identifier, "query.identifier")


@router.post("/lookup", response_model=CustomerLookup, operation_id="lookup_customer", responses={404: {}, 422: {}})
async def lookup_customer(principal: PrincipalDep, views: CustomerViewsDep, protector: ProtectorDep,
                          body: LookupIn) -> CustomerLookup:
    """The same lookup with the identifier in the body, so a national ID never appears in a URL or a log."""
    return await _lookup(views, protector, principal, body.identifier, "body.identifier")


async def _lookup(views: CustomerViews, protector: IdentifierProtector, principal: Principal, identifier: str,
                  loc: str) -> CustomerLookup:
    kind_text, sep, value = identifier.partition(":")
    try:
        kind = IdentifierKind(kind_text)
        if not sep:
            raise InvalidIdentifier("expected KIND:VALUE")
        normalised = normalise(kind, value, protector)
    except (ValueError, InvalidIdentifier) as exc:
        errors = [{"loc": loc, "message": str(exc) if kind_text != "national_id" else "not a national ID",
                   "type": "identifier_invalid"}]
        raise Problem(422, "Invalid identifier", f"kinds: {', '.join(k.value for k in IdentifierKind)}",
                      errors=errors) from exc
    resolved = await run_in_threadpool(views.resolve_identifier, normalised)
    if not await run_in_threadpool(views.visible_to, resolved, principal.department):
        raise Problem(404, "Customer not found", "No event has been recorded with this identifier.")
    national = kind is IdentifierKind.NATIONAL_ID
    shown = f"{kind.value}:{protector.mask(value)}" if national else str(normalised)
    assert resolved is not None  # visible_to
    match = CustomerMatchOut(customer_id=resolved.customer_id, identifiers=len(resolved.anchors),
                             shared=resolved.shared)
    return CustomerLookup(identifier=shown, customer_id=resolved.customer_id, customers=[match])


@router.get("/{customer_id}/timeline", response_model=TimelinePageOut, operation_id="customer_timeline",
            responses={404: {}, 422: {}})
async def customer_timeline(
    principal: PrincipalDep,
    views: CustomerViewsDep,
    store: TimelineDep,
    customer_id: str,
    channel: str | None = None,
    department: str | None = None,
    since: Instant | None = None,
    until: Instant | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> TimelinePageOut:
    """Every event about the customer across channels and departments, oldest first (ties by log position).

    A customer id merged into another since it was handed out is followed to the customer it belongs to now.
    Department tokens: 404 for a customer their department never dealt with; other departments' summaries masked."""
    resolved = await run_in_threadpool(views.resolve, customer_id)
    scope = principal.department
    if scope is not None and not await run_in_threadpool(views.visible_to, resolved, scope):
        raise Problem(404, "Customer not found", f"No timeline for customer {customer_id}.")
    anchors = resolved.anchors if resolved is not None else ()
    try:
        page = await run_in_threadpool(
            lambda: store.page(anchors, channel=channel, department=department, since=since, until=until,
                               cursor=cursor, limit=limit)
        )
    except InvalidCursor as exc:
        raise Problem(422, "Invalid cursor", str(exc),
                      errors=[{"loc": "query.cursor", "message": str(exc), "type": "cursor_invalid"}]) from exc
    unfiltered = not (channel or department or since or until or cursor)
    if unfiltered and not page.entries:
        raise Problem(404, "Customer not found", f"No timeline for customer {customer_id}.")
    entries = [TimelineEntryOut(**{f: getattr(e, f) for f in TimelineEntryOut.model_fields}
                                | {"summary": shown(scope, e.department, e.summary)}) for e in page.entries]
    now_id = resolved.customer_id if resolved is not None else customer_id
    return TimelinePageOut(customer_id=now_id, entries=entries, next_cursor=page.next_cursor)
