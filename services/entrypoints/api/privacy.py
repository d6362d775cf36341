"""Erasure over HTTP: an admin erases a customer's personal data (docs/audit.md, "Erasure")."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field, StringConstraints, ValidationError

from services.application.erasure import NothingToErase, rebuild_note
from services.entrypoints.api.auth import AdminDep
from services.entrypoints.api.deps import ErasureDep
from services.entrypoints.api.problems import Problem

router = APIRouter(prefix="/v1/privacy", tags=["privacy"])


class ErasureRequest(BaseModel):
    """Whose personal data to erase, and why (the reason is recorded in the log: no identifiers in it)."""

    customer_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] = Field(
        description="The customer id, as in `/v1/customers/{customer_id}`.")
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)] = Field(
        description="Why, e.g. the request's ticket number. Recorded in the log: must not contain identifiers.")


class ErasureAnswer(BaseModel):
    erasure_id: str = Field(description="Random id of the erasure.")
    pseudonym: str = Field(description="What the customer's personal values now read as.")
    keys_destroyed: int = Field(description="Data keys destroyed.")
    position: int | None = Field(description="Log position of the `privacy.subject_erased` event.")
    read_models: str = Field(description="When the read models no longer hold the customer's personal values.")


@router.post("/erasures", operation_id="erase_customer", status_code=201, response_model=ErasureAnswer,
             responses={403: {}, 404: {}, 422: {}})
async def erase(body: ErasureRequest, principal: AdminDep, service: ErasureDep) -> ErasureAnswer:
    """Destroy the customer's data keys: their personal values become unreadable in the store at once, and in the
    read models once the projector has rebuilt them after the recorded `privacy.subject_erased` event.
    The audit chain keeps verifying (nothing stored is changed). 404: no personal data held for this customer."""
    try:
        done = await run_in_threadpool(service.erase, body.customer_id, body.reason, principal.name)
    except NothingToErase as exc:
        raise Problem(404, "Not Found", str(exc)) from exc
    except ValidationError as exc:  # the recorded event's contract refuses the reason (nothing was erased)
        raise Problem(422, "Unprocessable Content", "the reason cannot be recorded: "
                      + "; ".join(str(error["msg"]) for error in exc.errors())) from exc
    return ErasureAnswer(erasure_id=done.erasure_id, pseudonym=done.pseudonym, keys_destroyed=len(done.key_ids),
                         position=done.position, read_models=rebuild_note(done.position))
