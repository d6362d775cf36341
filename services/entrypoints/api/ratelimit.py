"""Per-token rate limits: a moving window per bearer token (per client address without one); 429 beyond it.

The limit (`TOUCHLINE_RATE_LIMIT`, e.g. "100/second") is counted in this process's memory: with several API
processes behind a balancer each enforces it on its own share. Requests without a token are limited by client
address, so guessing tokens is throttled too. Health and metrics endpoints are never limited (probes must
always answer).
"""

from __future__ import annotations

import hashlib
import math
import time

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.types import ASGIApp, Receive, Scope, Send

from services.entrypoints.api.problems import send_problem

UNLIMITED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class RateLimiter:
    """Counts hits per caller in a moving window; `retry_after` says how long a refused caller should wait."""

    def __init__(self, limit: str) -> None:
        self._item: RateLimitItem = parse(limit)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def hit(self, caller: str) -> bool:
        return self._limiter.hit(self._item, caller)

    def retry_after(self, caller: str) -> int:
        reset = self._limiter.get_window_stats(self._item, caller).reset_time
        return max(1, math.ceil(reset - time.time()))

    @property
    def description(self) -> str:
        return str(self._item)


def caller_of(scope: Scope) -> str:
    """A digest of the bearer token, else the client address (tokens are never kept in clear)."""
    for name, value in scope.get("headers", ()):
        if name == b"authorization" and value[:7].lower() == b"bearer ":
            return "token:" + hashlib.sha256(value[7:].strip()).hexdigest()
    client = scope.get("client")
    return f"address:{client[0] if client else 'unknown'}"


class RateLimitMiddleware:
    """ASGI middleware answering 429 problem+json with Retry-After once a caller exceeds the limit."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self._app = app
        self._limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNLIMITED_PATHS:
            await self._app(scope, receive, send)
            return
        caller = caller_of(scope)
        if self._limiter.hit(caller):
            await self._app(scope, receive, send)
            return
        await self._refuse(scope, send, self._limiter.retry_after(caller))

    async def _refuse(self, scope: Scope, send: Send, retry_after: int) -> None:
        detail = f"At most {self._limiter.description} per token; retry after {retry_after} s."
        await send_problem(scope, send, 429, "Too Many Requests", detail, headers={"Retry-After": str(retry_after)})

