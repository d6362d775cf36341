"""The permission matrix as code: token names to principals, every route listed, docs/security.md in step."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi import APIRouter, FastAPI

from projections.sla.reducer import Alert
from services.adapters.settings import Settings
from services.application.sla.acks import may_acknowledge
from services.entrypoints.api.auth import Principal, PrincipalDep, authenticate, manager_of
from services.entrypoints.api.permissions import (
    BEGIN,
    END,
    MATRIX,
    Kind,
    UnlistedRoute,
    check_routes,
    render_markdown,
    route_key,
    shown,
    with_table,
)
from services.entrypoints.app import api_routes, build_app

pytestmark = pytest.mark.unit

DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"


def app() -> FastAPI:
    return build_app(SimpleNamespace(settings=Settings(env="test", bootstrap_tokens="")))


@pytest.mark.parametrize(("name", "kind", "department"), [
    ("hotline", Kind.DEPARTMENT, "hotline"), ("card_centre", Kind.DEPARTMENT, "card_centre"),
    ("hotline-manager", Kind.MANAGER, "hotline"), ("field-repair-manager", Kind.MANAGER, "field-repair"),
    ("customer-service", Kind.DEPARTMENT, "customer-service"),
    ("ops", Kind.OPS, None), ("auditor", Kind.AUDITOR, None), ("admin", Kind.ADMIN, None),
])
def test_a_token_name_says_its_kind_and_the_department_it_is_scoped_to(
    name: str, kind: Kind, department: str | None
) -> None:
    principal = Principal(name)
    assert (principal.kind, principal.department) == (kind, department)
    if kind is Kind.MANAGER:
        assert manager_of(department or "") == name


def test_every_route_of_the_app_is_in_the_matrix_and_nothing_else_is() -> None:
    assert sorted(route_key(r) for r in api_routes(app())) == sorted(MATRIX)


def test_docs_security_holds_the_matrix_as_the_code_declares_it() -> None:
    document = DOC.read_text(encoding="utf-8")
    assert BEGIN in document and END in document
    assert with_table(document, render_markdown(api_routes(app()))) == document, \
        "docs/security.md is out of date: run `make docs`"


def test_an_app_with_a_route_missing_from_the_matrix_is_refused() -> None:
    router = APIRouter()

    @router.get("/v1/new", operation_id="something_new")
    async def something_new(_: PrincipalDep) -> dict[str, str]:
        return {}

    extra = FastAPI()
    extra.include_router(router)
    with pytest.raises(UnlistedRoute, match="something_new"):
        check_routes(api_routes(extra), authenticate)


def test_a_public_entry_on_a_route_asking_for_a_token_is_refused_and_the_reverse() -> None:
    router = APIRouter()

    @router.get("/healthz", operation_id="healthz")  # public in the matrix
    async def guarded(_: PrincipalDep) -> dict[str, str]:
        return {}

    @router.get("/v1/cases", operation_id="case_board")  # token required in the matrix
    async def unguarded() -> dict[str, str]:
        return {}

    mislabelled = [r for r in api_routes(FastAPI(routes=router.routes)) if route_key(r) in {"healthz", "case_board"}]
    assert len(mislabelled) == 2
    for route in mislabelled:
        with pytest.raises(UnlistedRoute, match="disagrees"):
            check_routes([route], authenticate)


def test_another_departments_text_is_masked_for_department_tokens_only() -> None:
    assert shown("hotline", "hotline", "called back") == "called back"
    assert shown("hotline", "repair", "compressor replaced") == "[masked: repair note]"
    assert shown(None, "repair", "compressor replaced") == "compressor replaced"


def test_the_departments_manager_acknowledges_its_alerts_and_its_staff_does_not() -> None:
    at = datetime(2026, 11, 2, tzinfo=UTC)
    alert = Alert(alert_id="a-1", kind="warning", clock_id="k-1", metric="resolution", threshold=75, case_id="C-1",
                  department="card_centre", agent=None, policy_version=1, rule="default", occurred_at=at,
                  deadline_at=at, escalated_to=None, promise_id=None, position=1)  # a warning: escalated to nobody
    assert may_acknowledge("card_centre-manager", alert) and may_acknowledge("ops", alert)
    assert not may_acknowledge("card_centre", alert)
    assert not may_acknowledge("loan-manager", alert)
