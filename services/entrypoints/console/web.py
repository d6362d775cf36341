"""What every console page shares: the signed-in viewer, rendering in the viewer's language, form bodies, CSRF."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from services.entrypoints.api.auth import Principal
from services.entrypoints.console.access import Page, pages_for
from services.entrypoints.console.i18n import Locale, negotiate
from services.entrypoints.console.sessions import COOKIE, LANG_COOKIE, Session, SessionStore, same_token

PREFIX = "/console"
MAX_FORM_BYTES = 16 * 1024
TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")


class SignInRequired(Exception):
    """No valid session cookie: the page answers with the sign-in page (or tells htmx to go there)."""


class Forbidden(Exception):
    """A form without its CSRF token, from another origin, or a page the token's kind may not see."""


def locale_of(request: Request) -> Locale:
    return Locale(negotiate(request.cookies.get(LANG_COOKIE), request.headers.get("accept-language")))


@dataclass(frozen=True, slots=True)
class Viewer:
    """The signed-in person's token principal, session and language."""

    session: Session
    locale: Locale

    @property
    def principal(self) -> Principal:
        return self.session.principal

    @property
    def pages(self) -> list[Page]:
        return pages_for(self.principal)


def sessions_of(request: Request) -> SessionStore:
    store: SessionStore = request.app.state.sessions
    return store


def current_viewer(request: Request) -> Viewer:
    session = sessions_of(request).get(request.cookies.get(COOKIE))
    if session is None:
        raise SignInRequired
    return Viewer(session, locale_of(request))


ViewerDep = Annotated[Viewer, Depends(current_viewer)]


def require(viewer: Viewer, page: Page) -> None:
    if page not in viewer.pages:
        raise Forbidden(page.value)


async def form_of(request: Request) -> dict[str, str]:
    """An urlencoded form body (at most MAX_FORM_BYTES), first value of each field; refused from another origin or
    holding NUL characters."""
    origin = request.headers.get("origin")
    if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
        raise Forbidden("origin")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise Forbidden("form too large")
    fields = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    form = {name: values[0] for name, values in fields.items()}
    if any("\x00" in text for pair in form.items() for text in pair):  # no store can hold it (as for JSON bodies)
        raise Forbidden("NUL in form")
    return form


async def checked_form(request: Request, viewer: Viewer) -> dict[str, str]:
    """The form, if it carries the session's CSRF token."""
    form = await form_of(request)
    if not same_token(viewer.session.csrf, form.get("csrf")):
        raise Forbidden("csrf")
    return form


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def render(request: Request, template: str, viewer: Viewer | None, status: int = 200, **context: Any) -> HTMLResponse:
    locale = viewer.locale if viewer is not None else locale_of(request)
    values = {"t": locale, "viewer": viewer, "prefix": PREFIX, "path": request.url.path, **context}
    response = TEMPLATES.TemplateResponse(request, template, values, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def see_other(path: str) -> Response:
    return RedirectResponse(path, status_code=303)
