"""Customer queries: find a customer by any identifier, and read one customer's timeline across channels."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import AwareDatetime, BaseModel

from domain.identity.identifiers import IdentifierKind, InvalidIdentifier, normalise
from projections.timeline.store import InvalidCursor
from services.api.auth import PrincipalDep
from services.api.problems import Problem

router = APIRouter(prefix="/v1/customers", tags=["customers"])


class CustomerMatchOut(BaseModel):
    customer_id: str
    events: int
    first_position: int
    last_position: int


class CustomerLookup(BaseModel):
    identifier: str
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


@router.get("", response_model=CustomerLookup, operation_id="find_customer", responses={404: {}, 422: {}})
async def find_customer(
    request: Request,
    _: PrincipalDep,
    identifier: Annotated[str, Query(description="KIND:VALUE, e.g. phone:13800138000 or email:li@example.cn")],
) -> CustomerLookup:
    """The customer id(s) known by an identifier (phone, e-mail, customer number, national ID, ...)."""
    components = request.app.state.components
    kind_text, sep, value = identifier.partition(":")
    try:
        kind = IdentifierKind(kind_text)
        if not sep:
            raise InvalidIdentifier("expected KIND:VALUE")
        normalised = normalise(kind, value, components.protector)
    except (ValueError, InvalidIdentifier) as exc:
        errors = [{"loc": "query.identifier", "message": str(exc), "type": "identifier_invalid"}]
        raise Problem(422, "Invalid identifier", f"kinds: {', '.join(k.value for k in IdentifierKind)}",
                      errors=errors) from exc
    matches = await run_in_threadpool(components.timeline.customers_for, normalised)
    if not matches:
        raise Problem(404, "Customer not found", "No event has been recorded with this identifier.")
    national = kind is IdentifierKind.NATIONAL_ID
    shown = f"{kind.value}:{components.protector.mask(value)}" if national else str(normalised)
    return CustomerLookup(identifier=shown, customers=[CustomerMatchOut(**vars_of(m)) for m in matches])


@router.get("/{customer_id}/timeline", response_model=TimelinePageOut, operation_id="customer_timeline",
            responses={404: {}, 422: {}})
async def customer_timeline(
    request: Request,
    _: PrincipalDep,
    customer_id: str,
    channel: str | None = None,
    department: str | None = None,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> TimelinePageOut:
    """Every event about the customer across channels and departments, oldest first (ties by log position)."""
    store = request.app.state.components.timeline
    try:
        page = await run_in_threadpool(
            lambda: store.page(customer_id, channel=channel, department=department, since=since, until=until,
                               cursor=cursor, limit=limit)
        )
    except InvalidCursor as exc:
        raise Problem(422, "Invalid cursor", str(exc),
                      errors=[{"loc": "query.cursor", "message": str(exc), "type": "cursor_invalid"}]) from exc
    unfiltered = not (channel or department or since or until or cursor)
    if unfiltered and not page.entries:
        raise Problem(404, "Customer not found", f"No timeline for customer {customer_id}.")
    entries = [TimelineEntryOut(**{f: getattr(e, f) for f in TimelineEntryOut.model_fields}) for e in page.entries]
    return TimelinePageOut(customer_id=customer_id, entries=entries, next_cursor=page.next_cursor)


def vars_of(match: Any) -> dict[str, Any]:
    return {f: getattr(match, f) for f in CustomerMatchOut.model_fields}
