"""The web application: the JSON API's routers and the ops console, over one composition root (no I/O at
import)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.routing import Mount

from services.entrypoints.api import (
    alerts,
    audit_replay,
    cases,
    customers,
    departments,
    handoffs,
    health,
    identity,
    ingest,
    problems,
    promises,
    quality,
    sla,
)
from services.entrypoints.api import audit as audit_api
from services.entrypoints.api import privacy as privacy_api
from services.entrypoints.api import projections as projections_api
from services.entrypoints.api.auth import TokenRegistry, authenticate
from services.entrypoints.api.jsonbody import JsonBodyMiddleware
from services.entrypoints.api.params import RefuseNulMiddleware
from services.entrypoints.api.permissions import check_routes
from services.entrypoints.api.ratelimit import RateLimiter, RateLimitMiddleware
from services.entrypoints.bootstrap import Root
from services.entrypoints.console import app as console

DESCRIPTION = """touchline records every customer touchpoint (front desk, hotline, web, repair, any department)
as an immutable event and serves one timeline per customer across channels.

Authenticate with `Authorization: Bearer <token>`; tokens come from `TOUCHLINE_BOOTSTRAP_TOKENS`. Who may call
what, and what department tokens see, is in docs/security.md.
Errors are RFC 9457 problem details (`application/problem+json`) with field paths. Each token may make
`TOUCHLINE_RATE_LIMIT` requests (default 100 per second); beyond that the answer is 429 with `Retry-After`."""


def build_app(root: Root | Any) -> FastAPI:
    """The API over the composition root (services.entrypoints.bootstrap.Root, everything it serves opened:
    `Root.open_api`), handed over once here; routes read it through the typed dependencies of
    services.entrypoints.api.deps.
    Tests hand a partial stand-in holding only what the routes under test read."""
    app = FastAPI(title="touchline", version="0.1.0", description=DESCRIPTION)
    app.state.components = root
    app.state.tokens = TokenRegistry.from_setting(root.settings.bootstrap_tokens.get_secret_value())
    problems.install(app)
    routers = (ingest, customers, identity, cases, departments, handoffs, sla, alerts, promises, quality, audit_api,
               audit_replay, privacy_api, projections_api, health)
    for module in routers:
        app.include_router(module.router)
    check_routes(api_routes(app), authenticate)
    problems.document_problems(app)
    console.install(app)  # the ops console's pages at /console (docs/console.md); `/` leads there
    # Added last = runs first: a caller over its limit is refused before its body is even read.
    app.add_middleware(JsonBodyMiddleware, max_bytes=root.settings.max_body_bytes,
                       per_item_paths=frozenset({"/v1/events"}), form_prefix=console.PREFIX + "/")
    app.add_middleware(RefuseNulMiddleware)
    app.add_middleware(RateLimitMiddleware, limiter=RateLimiter(root.settings.rate_limit))
    return app


def api_routes(app: FastAPI) -> list[Any]:
    """Every route the app serves (FastAPI's documentation routes included), in declaration order; not the
    console, a mounted application of its own (pages with session sign-in, reading through these routes)."""
    return [context.route for context in iter_route_contexts(app.routes) if not isinstance(context.route, Mount)]
