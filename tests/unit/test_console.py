"""The console without a browser: catalogues in step, language choice, local formats, sessions, sign-in, CSRF."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from fastapi import Request
from fastapi.testclient import TestClient

from projections.sla.reducer import AlertState, Severity
from services.adapters.settings import Settings
from services.application.sla.acks import may_acknowledge
from services.entrypoints.api.auth import Principal
from services.entrypoints.api.sla_schemas import AlertOut
from services.entrypoints.app import build_app
from services.entrypoints.console.access import Page, pages_for
from services.entrypoints.console.alert_pages import _ackers, _events
from services.entrypoints.console.customer_pages import _cell
from services.entrypoints.console.i18n import LANGUAGES, Locale, catalogue, negotiate
from services.entrypoints.console.sessions import COOKIE, Session, SessionStore
from services.entrypoints.console.web import Viewer

pytestmark = pytest.mark.unit

TOKENS = "ops=console-ops-token-1,hotline=console-hotline-token-2"


@pytest.fixture
def client() -> Iterator[TestClient]:
    """The API app with the console, over no stores (sign-in and the language switch need none)."""
    app = build_app(SimpleNamespace(settings=Settings(env="test", bootstrap_tokens=TOKENS)))
    with TestClient(app, base_url="http://console.test") as test_client:
        yield test_client


def form_token(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def sign_in(client: TestClient, token: str) -> str:
    """Sign in; returns the session's form token (from the first page)."""
    page = client.get("/console/login")
    answer = client.post("/console/login", data={"csrf": form_token(page.text), "token": token},
                         follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return form_token(client.get("/console/customers").text)  # the sign-out form carries it on every page


def test_both_catalogues_have_the_same_labels() -> None:
    assert catalogue("en").keys() == catalogue("zh-CN").keys()
    assert all(catalogue(language)[key] for language in LANGUAGES for key in catalogue(language))


@pytest.mark.parametrize(("cookie", "header", "expected"), [
    (None, "en-US,en;q=0.9", "en"), (None, "zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"), (None, "fr;q=1,en;q=0.5", "en"),
    (None, "en;q=0.2,zh-TW;q=0.8", "zh-CN"), (None, None, "zh-CN"), ("en", "zh-CN", "en"), ("xx", "en", "en"),
])
def test_the_switch_wins_then_the_browser_then_chinese(cookie: str | None, header: str | None, expected: str) -> None:
    assert negotiate(cookie, header) == expected


def test_dates_numbers_and_durations_are_local_and_in_shanghai_time() -> None:
    at = datetime(2026, 11, 2, 1, 47, tzinfo=UTC)  # 09:47 in Shanghai
    en, zh = Locale("en"), Locale("zh-CN")
    assert (en.when(at), zh.when(at)) == ("2 Nov 2026, 09:47", "2026年11月2日 09:47")
    assert (en.number(1234567), en.number(2.5, 2), en.percent(87.4)) == ("1,234,567", "2.50", "87%")
    assert (en.duration(2 * 86400 + 3 * 3600 + 60), zh.duration(3 * 3600 + 20 * 60)) == ("2 d 3 h", "3小时20分钟")
    assert (en.duration(0), en.duration(None), zh.label("department", "hotline")) == ("0 min", "—", "客服热线")
    assert zh.t("card.due", at="x") == "截止 x" and en.label("channel", "unknown") == "unknown"


def test_pages_follow_the_permission_matrix() -> None:
    assert pages_for(Principal("ops")) == [Page.CUSTOMERS, Page.CASES, Page.HANDOFFS, Page.ALERTS, Page.SHARED,
                                           Page.QUALITY]
    assert pages_for(Principal("hotline")) == [Page.CUSTOMERS, Page.CASES, Page.HANDOFFS, Page.ALERTS, Page.INBOX]
    assert pages_for(Principal("hotline-manager")) == [*pages_for(Principal("hotline")), Page.QUALITY]
    assert pages_for(Principal("auditor"))[-3:] == [Page.SHARED, Page.QUALITY, Page.AUDIT]


@pytest.mark.parametrize("principal", ["ops", "admin", "auditor", "hotline", "card_centre", "card_centre-manager",
                                       "hotline-manager", "approval_office-manager"])
def test_the_board_offers_acknowledgement_exactly_as_the_rule_allows(principal: str) -> None:
    now = datetime(2026, 11, 2, tzinfo=UTC)
    alert = AlertOut(alert_id="a", kind="breach", severity=Severity.CRITICAL.value, state=AlertState.OPEN.value,
                     clock_id="c", metric="resolution", threshold_percent=100, case_id="CASE-1",
                     department="card_centre", agent=None, policy_version=1, rule="default", occurred_at=now,
                     deadline_at=now, escalated_to="approval_office-manager", promise_id=None, acknowledged_by=None,
                     acknowledged_at=None, note=None)
    assert (principal in _ackers(alert)) == may_acknowledge(principal, alert)  # type: ignore[arg-type]


def test_sessions_expire_and_close() -> None:
    store = SessionStore(idle_seconds=-1)
    session_id, _ = store.open(Principal("ops"))
    assert store.get(session_id) is None
    live = SessionStore()
    session_id, session = live.open(Principal("ops"))
    assert live.get(session_id) == session and live.get("forged") is None
    live.close(session_id)
    assert live.get(session_id) is None


def test_root_and_console_lead_to_sign_in(client: TestClient) -> None:
    assert client.get("/", follow_redirects=False).headers["location"] == "/console/"
    assert client.get("/console/", follow_redirects=False).headers["location"] == "/console/login"
    assert client.get("/console/alerts", follow_redirects=False).headers["location"] == "/console/login"


def test_sign_in_sets_a_strict_http_only_cookie_and_forgets_the_token(client: TestClient) -> None:
    page = client.get("/console/login")
    answer = client.post("/console/login", data={"csrf": form_token(page.text), "token": "console-ops-token-1"},
                         follow_redirects=False)
    cookie = answer.headers["set-cookie"]
    assert answer.status_code == 303 and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "console-ops-token-1" not in cookie
    assert client.get("/console/", follow_redirects=False).headers["location"] == "/console/customers"


def test_a_wrong_token_or_a_forged_sign_in_form_is_refused(client: TestClient) -> None:
    page = client.get("/console/login")
    wrong = client.post("/console/login", data={"csrf": form_token(page.text), "token": "nope"})
    assert wrong.status_code == 401 and COOKIE not in client.cookies
    forged = client.post("/console/login", data={"csrf": "guessed", "token": "console-ops-token-1"})
    assert forged.status_code == 403 and COOKIE not in client.cookies


def test_posts_need_the_form_token_and_the_same_origin(client: TestClient) -> None:
    csrf = sign_in(client, "console-ops-token-1")
    assert client.post("/console/logout", data={"csrf": "wrong"}).status_code == 403
    other = client.post("/console/logout", data={"csrf": csrf}, headers={"Origin": "http://evil.test"})
    assert other.status_code == 403
    out = client.post("/console/logout", data={"csrf": csrf}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/console/login"
    assert client.get("/console/customers", follow_redirects=False).headers["location"] == "/console/login"


def test_a_department_token_cannot_open_a_roles_page(client: TestClient) -> None:
    sign_in(client, "console-hotline-token-2")
    refused = client.get("/console/shared")
    assert refused.status_code == 403 and 'data-page="inbox"' in refused.text  # the menu stays
    assert client.get("/console/audit").status_code == 403
    unknown = client.get("/console/nowhere")
    assert unknown.status_code == 404 and unknown.headers["content-type"].startswith("text/html")
    for path in ("/console/quality", "/console/quality/servqual", "/console/quality/staff.csv"):
        refused = client.get(path)
        assert refused.status_code == 403 and 'data-page="quality"' not in refused.text


def test_quality_pages_without_quality_views_say_so(client: TestClient) -> None:
    sign_in(client, "console-ops-token-1")
    assert client.get("/console/quality", follow_redirects=False).headers["location"] == "/console/quality/servqual"
    page = client.get("/console/quality/fcr")
    assert page.status_code == 503 and 'data-page="quality"' in page.text
    assert client.get("/console/quality/staff.csv").status_code == 503
    assert client.get("/console/quality/elsewhere").status_code == 404


def test_the_language_switch_stays_on_the_console(client: TestClient) -> None:
    switched = client.get("/console/lang/en?next=https://evil.test/", follow_redirects=False)
    assert switched.headers["location"] == "/console/" and "touchline_lang=en" in switched.headers["set-cookie"]
    assert client.get("/console/lang/en?next=//evil.test", follow_redirects=False).headers["location"] == "/console/"
    assert 'lang="en"' in client.get("/console/login").text
    client.get("/console/lang/zh-CN?next=/console/login")
    assert "访问令牌" in client.get("/console/login").text


def test_form_bodies_reach_only_the_console(client: TestClient) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert client.post("/v1/customers/lookup", content=b"identifier=phone:1", headers=form).status_code == 415
    assert client.post("/console/login", content=b"token=x", headers=form).status_code == 403  # no form token
    csrf = sign_in(client, "console-ops-token-1")
    assert client.post("/console/logout", content=f"csrf={csrf}&x=%00".encode(), headers=form).status_code == 403


def test_the_live_board_sends_its_first_drawing_even_when_empty() -> None:
    async def first_two() -> list[str]:
        async def receive() -> dict[str, str]:
            await asyncio.sleep(10)
            return {"type": "http.disconnect"}

        no_sla = SimpleNamespace(state=SimpleNamespace(components=SimpleNamespace(sla=None)))
        request = Request({"type": "http", "app": no_sla, "headers": [], "method": "GET", "path": "/"}, receive)
        events = _events(request, Viewer(Session(Principal("ops"), "csrf", 0.0), Locale("en")))
        try:
            return [await anext(events), await anext(events)]
        finally:
            await events.aclose()

    retry, drawing = asyncio.run(first_two())
    assert retry == "retry: 500\n\n"
    assert drawing.startswith("event: alerts\ndata: ") and drawing.endswith("\n\n") and "None." in drawing


@pytest.mark.parametrize(("text", "cell"), [("=SUM(A1)", "'=SUM(A1)"), ("+86 call", "'+86 call"), ("plain", "plain"),
                                            ("", "")])
def test_csv_cells_never_run_as_formulas(text: str, cell: str) -> None:
    assert _cell(text) == cell
