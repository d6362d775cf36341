"""The ops console's composition: a sub-application mounted at /console in the API process, and `/` leading to it.

The pages call the JSON API's own route functions with the signed-in token's principal (no HTTP to itself), so
what a page shows is what the same token reads from the API: same permission matrix, scopes and masking."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from services.entrypoints.api.auth import TokenRegistry
from services.entrypoints.bootstrap import Root
from services.entrypoints.console import (
    alert_pages,
    audit_pages,
    case_pages,
    customer_pages,
    handoff_pages,
    quality_pages,
    signin,
)
from services.entrypoints.console.sessions import SessionStore
from services.entrypoints.console.web import (
    PREFIX,
    Forbidden,
    SignInRequired,
    Viewer,
    ViewerDep,
    current_viewer,
    is_htmx,
    render,
    see_other,
)

STATIC = Path(__file__).parent / "static"


def build_console(root: Root | Any, tokens: TokenRegistry, sessions: SessionStore | None = None) -> FastAPI:
    """The console over the API's composition root and token registry (its pages have no OpenAPI of their own;
    they read the root through services.entrypoints.api.deps, as the API's routes do)."""
    console = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    console.state.components = root
    console.state.tokens = tokens
    console.state.sessions = sessions or SessionStore()
    console.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (signin, customer_pages, case_pages, handoff_pages, alert_pages, quality_pages, audit_pages):
        console.include_router(module.router)
    console.add_api_route("/", home, methods=["GET"], name="console_home")
    console.add_exception_handler(SignInRequired, _sign_in)
    console.add_exception_handler(Forbidden, _forbidden)
    console.add_exception_handler(StarletteHTTPException, _http_error)
    return console


async def home(viewer: ViewerDep) -> Response:
    """The first page the token may see."""
    pages = viewer.pages
    return see_other(f"{PREFIX}/{pages[0].value}" if pages else f"{PREFIX}/login")


async def _sign_in(request: Request, _: Exception) -> Response:
    if is_htmx(request):
        return Response(status_code=401, headers={"HX-Redirect": f"{PREFIX}/login"})
    return see_other(f"{PREFIX}/login")


async def _forbidden(request: Request, _: Exception) -> Response:
    return render(request, "forbidden.html", _signed_in(request), status=403)


def _signed_in(request: Request) -> Viewer | None:
    """The viewer, for the menu of an error page (None when signed out)."""
    try:
        return current_viewer(request)
    except SignInRequired:
        return None


async def _http_error(request: Request, exc: Exception) -> Response:
    """Unknown pages (and wrong methods) answer with a page, not the API's JSON."""
    status = exc.status_code if isinstance(exc, StarletteHTTPException) else 500
    return render(request, "not_found.html", _signed_in(request), status=status, what="page")


class RootRedirect:
    """`GET /` answers 307 to the console (the API's own routes are untouched)."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/" and scope["method"] in ("GET", "HEAD"):
            await see_other(f"{PREFIX}/")(scope, receive, send)
            return
        await self._app(scope, receive, send)


def install(app: FastAPI) -> None:
    """Mount the console on the API app (after its routes are checked against the permission matrix)."""
    app.mount(PREFIX, build_console(app.state.components, app.state.tokens), name="console")
    app.add_middleware(RootRedirect)
