"""Console sessions: a bearer token exchanged once for an opaque cookie, kept server-side with its CSRF token."""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass

from services.entrypoints.api.auth import Principal

COOKIE = "touchline_console"
LOGIN_COOKIE = "touchline_console_login"  # double-submit token of the sign-in form (no session yet)
LANG_COOKIE = "touchline_lang"
IDLE_SECONDS = 8 * 3600


@dataclass(frozen=True, slots=True)
class Session:
    """One signed-in browser: who it acts for and the token its forms must carry."""

    principal: Principal
    csrf: str
    expires: float


class SessionStore:
    """Sessions of this process by opaque id (the token itself is never kept: the registry knows its digest).

    Held in memory: the console runs in the one API process of `touchline run`; a restart signs everyone out."""

    def __init__(self, idle_seconds: float = IDLE_SECONDS) -> None:
        self._sessions: dict[str, Session] = {}
        self._idle = idle_seconds
        self._lock = threading.Lock()

    def open(self, principal: Principal) -> tuple[str, Session]:
        session_id = secrets.token_urlsafe(32)
        session = Session(principal, secrets.token_urlsafe(24), time.monotonic() + self._idle)
        with self._lock:
            self._drop_expired()
            self._sessions[session_id] = session
        return session_id, session

    def get(self, session_id: str | None) -> Session | None:
        if not session_id:
            return None
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None or session.expires < time.monotonic():
                self._sessions.pop(session_id, None)
                return None
            return session

    def close(self, session_id: str | None) -> None:
        with self._lock:
            self._sessions.pop(session_id or "", None)

    def _drop_expired(self) -> None:
        now = time.monotonic()
        for key in [k for k, s in self._sessions.items() if s.expires < now]:
            del self._sessions[key]


def same_token(expected: str, given: str | None) -> bool:
    """Constant-time comparison of a form's CSRF token with the expected one."""
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())
