"""As-of for auditors: a customer's timeline, a case and its SLA clocks as they stood at a position or instant."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import AwareDatetime, BaseModel, Field

from domain.sla.handoffs import policy_handoff_target
from projections.cases.views import case_view
from projections.customers.store import anchors_of
from services.api.auth import AuditorDep
from services.api.case_schemas import CaseOut
from services.api.customers import TimelineEntryOut, TimelinePageOut
from services.api.problems import Problem
from services.api.sla_schemas import CaseSlaOut
from services.audit.asof import AsOfReplayer, NoTimeIndex, ReplayTooLong
from services.cases import CaseViews

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
    request: Request,
    _: AuditorDep,
    customer_id: str | None = None,
    case_id: str | None = None,
    position: Annotated[int | None, Query(ge=0, description="Fold events 1..position.")] = None,
    at: Annotated[AwareDatetime | None, Query(description="What had been recorded by this instant.")] = None,
    now: Annotated[AwareDatetime | None, Query(description="Instant for SLA and ages (default: `at`, or "
                                                "the latest occurred_at up to the position).")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> AsOfOut:
    """The customer's timeline, or the case and its SLA clocks, as operations saw them at a log position or an
    instant (replayed from the log; nothing is written). Auditor and admin tokens only."""
    components: Any = request.app.state.components
    replayer = AsOfReplayer(components.event_store, getattr(components, "position_at", None))
    try:
        return await run_in_threadpool(lambda: as_of(replayer, components.cases, customer_id=customer_id,
                                                     case_id=case_id, position=position, at=at, now=now,
                                                     limit=limit))
    except NoTimeIndex as exc:
        raise Problem(501, "As-of by instant unavailable", str(exc)) from exc
    except ReplayTooLong as exc:
        raise Problem(422, "Replay too long", str(exc)) from exc
    except ValueError as exc:
        raise Problem(422, "Invalid as-of question", str(exc)) from exc
