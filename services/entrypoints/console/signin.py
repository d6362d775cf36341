"""Signing in with a bearer token (exchanged for a session cookie), signing out, and the language switch."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.entrypoints.api.auth import TokenRegistry
from services.entrypoints.console.i18n import LANGUAGES
from services.entrypoints.console.sessions import COOKIE, LANG_COOKIE, LOGIN_COOKIE, same_token
from services.entrypoints.console.web import PREFIX, ViewerDep, checked_form, form_of, render, see_other, sessions_of

router = APIRouter()
YEAR = 365 * 24 * 3600


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


@router.get("/login", name="console_login")
async def login_page(request: Request) -> Response:
    return _login_form(request, error=None, status=200)


def _login_form(request: Request, error: str | None, status: int) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", None, status=status, login_csrf=token, error=error)
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", path=PREFIX, secure=_secure(request))
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    """The token is checked against the registry and forgotten: only the session id goes back, in a cookie that
    scripts cannot read (HttpOnly) and other sites cannot send (SameSite=Strict)."""
    form = await form_of(request)
    if not same_token(request.cookies.get(LOGIN_COOKIE, ""), form.get("csrf")):
        return _login_form(request, error="signin.expired", status=403)
    registry: TokenRegistry = request.app.state.tokens
    principal = registry.principal(form.get("token", "").strip())
    if principal is None:
        return _login_form(request, error="signin.invalid", status=401)
    session_id, _ = sessions_of(request).open(principal)
    response = see_other(f"{PREFIX}/")
    response.set_cookie(COOKIE, session_id, httponly=True, samesite="strict", path=PREFIX, secure=_secure(request))
    response.delete_cookie(LOGIN_COOKIE, path=PREFIX)
    return response


@router.post("/logout")
async def logout(request: Request, viewer: ViewerDep) -> Response:
    await checked_form(request, viewer)
    sessions_of(request).close(request.cookies.get(COOKIE))
    response = see_other(f"{PREFIX}/login")
    response.delete_cookie(COOKIE, path=PREFIX, httponly=True, samesite="strict")
    return response


@router.get("/lang/{language}", name="console_language")
async def switch_language(request: Request, language: str, next: str = f"{PREFIX}/") -> Response:
    """Remember the chosen language (a preference, no session needed) and go back to the page."""
    target = next if next.startswith(f"{PREFIX}/") and "//" not in next and "\\" not in next else f"{PREFIX}/"
    response = see_other(target)
    if language in LANGUAGES:
        response.set_cookie(LANG_COOKIE, language, max_age=YEAR, samesite="strict", path=PREFIX,
                            secure=_secure(request))
    return response
