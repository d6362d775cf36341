"""SLA explanations and policies: every clock of a case computed live, policy versions, publishing one."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from contracts import SlaPolicyPublishedPayload
from domain.sla.policy import PolicyError
from services.application.sla.policies import PolicyVersionTaken, publish_policy
from services.entrypoints.api.auth import PrincipalDep
from services.entrypoints.api.cases import case_in_scope
from services.entrypoints.api.deps import NowDep, RootDep, SlaViewsDep
from services.entrypoints.api.params import Ordinal
from services.entrypoints.api.problems import Problem
from services.entrypoints.api.sla_schemas import CaseSlaOut, PolicyDraft
from services.entrypoints.bootstrap import Root

router = APIRouter(tags=["sla"])


@router.get("/v1/cases/{case_id}/sla", response_model=CaseSlaOut, operation_id="explain_case_sla",
            responses={404: {}})
async def explain_case_sla(principal: PrincipalDep, views: SlaViewsDep, root: RootDep, now: NowDep,
                           case_id: str) -> CaseSlaOut:
    """Each clock of the case: policy version and rule, start, pauses, business-time deadline, elapsed
    percentage computed for now (never stale), thresholds and state."""
    case = await run_in_threadpool(views.store.case, case_id)
    if case is None or not await _case_visible(root, case_id, principal.department):
        raise Problem(404, "Case not found", f"No SLA clocks for case {case_id}.")
    return CaseSlaOut.of(case, now)


async def _case_visible(root: Root, case_id: str, scope: str | None) -> bool:
    """Department tokens read the clocks of cases their department is involved in (as in the case views; read
    only for them: a process serving SLA views alone answers the roles)."""
    if scope is None:
        return True
    return case_in_scope(await run_in_threadpool(root.cases.store.case, case_id), scope)


@router.get("/v1/sla/policies", response_model=list[SlaPolicyPublishedPayload], operation_id="list_sla_policies")
async def list_policies(_: PrincipalDep, views: SlaViewsDep) -> list[SlaPolicyPublishedPayload]:
    """Every recorded policy version, oldest first."""
    book = await run_in_threadpool(views.store.policies)
    return [policy.payload for policy in book.policies]


@router.get("/v1/sla/policies/{version}", response_model=SlaPolicyPublishedPayload, operation_id="get_sla_policy",
            responses={404: {}})
async def get_policy(_: PrincipalDep, views: SlaViewsDep, version: Ordinal) -> SlaPolicyPublishedPayload:
    book = await run_in_threadpool(views.store.policies)
    policy = book.version(version)
    if policy is None:
        raise Problem(404, "Policy not found", f"No policy version {version} is recorded.")
    return policy.payload


@router.post("/v1/sla/policies", response_model=SlaPolicyPublishedPayload, status_code=201,
             operation_id="publish_sla_policy", responses={403: {}, 409: {}, 422: {}})
async def publish(principal: PrincipalDep, views: SlaViewsDep, now: NowDep,
                  draft: PolicyDraft) -> SlaPolicyPublishedPayload:
    """Publish a new policy version (ops and admin). It applies to clocks started at or after its
    `effective_at`; clocks already running keep their version."""
    def run() -> SlaPolicyPublishedPayload:
        book = views.store.policies()
        event = publish_policy(views.event_store, views.config, book, draft.model_dump(exclude_none=True),
                               now, principal.name)
        assert isinstance(event.payload, SlaPolicyPublishedPayload)
        return event.payload

    try:
        return await run_in_threadpool(run)
    except PolicyError as exc:
        raise Problem(422, "Invalid policy", str(exc)) from exc
    except PolicyVersionTaken as exc:
        raise Problem(409, "Version taken", str(exc)) from exc
