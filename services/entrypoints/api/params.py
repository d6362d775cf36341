"""Bounded query and path parameters shared by the routes, and the refusal of NUL characters in any of them.

Unbounded parameters reached arithmetic and SQL that cannot hold them: `older_than=P3000Y` overflowed
`now - age`, `after=2^63` overflowed a `bigint` bind. Every parameter is bounded where it is declared, with
the same windows as the event contracts (contracts.fields): instants 1970..2200 with offsets within ±14:00,
integers within the signed 64-bit range, ages within 200 years.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from urllib.parse import parse_qsl, unquote

from pydantic import Field
from starlette.types import ASGIApp, Receive, Scope, Send

from contracts.fields import INT64_MAX, Timestamp
from services.entrypoints.api.problems import send_problem

MAX_AGE = timedelta(days=200 * 365)

Instant = Timestamp
"""A query instant: ISO 8601 with a UTC offset, within the contracts' plausibility window."""

Age = Annotated[timedelta, Field(ge=timedelta(0), le=MAX_AGE)]
"""A non-negative ISO 8601 duration (`PT4H`, `P2D`) of at most 200 years."""

Position = Annotated[int, Field(ge=0, le=INT64_MAX)]
"""A log position or sequence number (0 = before the first)."""

Ordinal = Annotated[int, Field(ge=1, le=INT64_MAX)]
"""A sequence number counted from 1 (checkpoints, policy versions)."""


def nul_in_query(scope: Scope) -> str | None:
    """The path of the first query parameter (`query.to`) or of the path (`path`) holding a NUL character."""
    if "\x00" in scope.get("path", ""):
        return "path"
    raw = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(raw, keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            return f"query.{unquote(name).replace(chr(0), '')}"
    return None


class RefuseNulMiddleware:
    """422 for a NUL character in the path or query: no store can hold one, and none is ever meaningful."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        where = nul_in_query(scope) if scope["type"] == "http" else None
        if where is None:
            await self._app(scope, receive, send)
            return
        error = {"loc": where, "message": "String must not contain NUL characters", "type": "string_nul"}
        await send_problem(scope, send, 422, "Invalid request", "See errors.", errors=[error])
