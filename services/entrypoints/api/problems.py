"""Errors as RFC 9457 problem details, mapped in one place, and documented on every operation in one place."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope, Send

PROBLEM_JSON = "application/problem+json"
JSON_BODY_ERRORS = (400, 413, 415, 422)
"""What any JSON request body may be refused with: malformed or duplicate keys, too large, not JSON, invalid."""
AUTHENTICATED_ERRORS = (401, 403)
"""What any operation behind a token may answer: no valid token, not allowed."""
PUBLIC_PATHS = frozenset({"/v1/audit/public-key"})


class Problem(Exception):
    """An HTTP error with a problem-details body; extensions become extra members."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str = "",
        *,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail or title)
        self.status, self.title, self.detail = status, title, detail
        self.headers = headers or {}
        self.extensions = extensions


class ProblemOut(BaseModel):
    """RFC 9457 problem details; operation-specific members (`errors`, `results`, ...) may follow."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None


def problem_response(request: Request, problem: Problem) -> JSONResponse:
    body = {"type": "about:blank", "title": problem.title, "status": problem.status}
    if problem.detail:
        body["detail"] = problem.detail
    body["instance"] = request.url.path
    body |= problem.extensions
    return JSONResponse(body, status_code=problem.status, headers=problem.headers, media_type=PROBLEM_JSON)


async def send_problem(scope: Scope, send: Send, status: int, title: str, detail: str, *,
                       headers: dict[str, str] | None = None, **extensions: Any) -> None:
    """A problem response written straight to ASGI, for middleware that answers before any route runs."""
    body = orjson.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail,
                         "instance": scope["path"], **extensions})
    fields = {"content-type": PROBLEM_JSON, "content-length": str(len(body)), **(headers or {})}
    await send({"type": "http.response.start", "status": status,
                "headers": [(k.lower().encode(), v.encode()) for k, v in fields.items()]})
    await send({"type": "http.response.body", "body": body})


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """('query', 'limit') → 'query.limit'; list indexes as [n]."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": field_path(e["loc"]), "message": e["msg"], "type": e["type"]} for e in exc.errors()]
        return problem_response(request, Problem(422, "Invalid request", "See errors.", errors=errors))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem_response(request, Problem(exc.status_code, str(exc.detail), headers=dict(exc.headers or {})))


def document_problems(app: FastAPI) -> None:
    """Declare on every operation the problem responses it may give, as `application/problem+json`.

    Each route names its own outcomes (`responses={404: {}}`); the ones every operation shares are added to
    the OpenAPI document here: 401/403 behind a token, 429 on /v1, 400/413/415/422 for a JSON body, 422 for
    parameters."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = build()
            for path, item in document.get("paths", {}).items():
                for operation in item.values():
                    _document_operation(path, operation)
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]


def _document_operation(path: str, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    codes = {int(code) for code in responses if code.isdigit() and int(code) >= 400}
    codes |= set(_shared_codes(path, operation))
    for code in sorted(codes):
        responses[str(code)] = _problem_doc(code, responses.get(str(code), {}))


def _shared_codes(path: str, operation: dict[str, Any]) -> tuple[int, ...]:
    codes: tuple[int, ...] = (422,) if operation.get("parameters") else ()
    if path.startswith("/v1/"):
        codes += (429,) if path in PUBLIC_PATHS else (*AUTHENTICATED_ERRORS, 429)
    if "requestBody" in operation:
        codes += JSON_BODY_ERRORS
    return codes


def _problem_doc(code: int, given: dict[str, Any]) -> dict[str, Any]:
    description = given.get("description") or HTTPStatus(code).phrase
    if description == "Validation Error":
        description = "Invalid request: see `errors` (field paths)."
    content = {PROBLEM_JSON: {"schema": ProblemOut.model_json_schema()}}
    doc: dict[str, Any] = {**given, "description": description, "content": content}
    if code == 429:
        doc["headers"] = {"Retry-After": {"description": "Seconds until the token may call again.",
                                          "schema": {"type": "integer"}}}
    return doc
