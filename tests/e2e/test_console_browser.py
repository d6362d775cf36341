"""The ops console in a real browser (Debian's Chromium, headless) over the real broker and Postgres: sign in, find
a customer by phone, card and timeline, a case, the SLA board (acknowledge; a breach arriving live), both languages,
what a department token sees, and never a national ID in clear. Each page is saved as a screenshot."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait

from contracts import Envelope
from domain.sla.policy import PolicyBook
from projections.sla.queries import AlertQuery
from projections.sla.reducer import AlertState, Severity
from services.application.demo import SHANGHAI, demo_events
from services.application.sla.policies import ensure_default_policy
from services.application.sla.ticker import SlaTicker
from tests.e2e.test_permissions_api import caught_up, checkpoint, fresh_topic_and_schema
from tests.support.browser import chromium, missing_browser, screenshot
from tests.support.builders import make_event
from tests.support.pipeline import Backbone, pipeline_settings, running_backbone, wait_for
from tests.support.services import give_up

pytestmark = pytest.mark.e2e

TOKENS = {"ops": "console-ops-token-00001", "hotline": "console-hotline-token-02",
          "card_centre-manager": "console-card-manager-003", "auditor": "console-auditor-token-04"}
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=SHANGHAI)
PHONE, NATIONAL_ID = "13800138000", "310104198806152426"  # the credit-card story's customer (seed 003)
CARD_CASE = "CASE-DEMO-003"
EXTRA_CALLS = 25  # more card-centre calls from the same customer, so the timeline has a second page


@dataclass
class Console:
    base: str
    stack: Backbone

    def url(self, path: str) -> str:
        return f"{self.base}/console{path}"


def card_calls() -> list[Envelope]:
    return [make_event("call.received", occurred_at=NOW - timedelta(days=40, minutes=i), department="card_centre",
                       channel="phone", customer={"phone": PHONE},
                       event_id=uuid.uuid5(uuid.NAMESPACE_URL, f"urn:test:console:call:{i}"))
            for i in range(EXTRA_CALLS)]


def open_case(case_id: str, department: str, phone: str, age: timedelta) -> Envelope:
    """A case still open at NOW, opened `age` before it (its clocks breached by then)."""
    return make_event("case.opened", occurred_at=NOW - age, department=department, channel="phone",
                      customer={"phone": phone}, case_id=case_id,
                      event_id=uuid.uuid5(uuid.NAMESPACE_URL, f"urn:test:console:{case_id}"))


def seed(stack: Backbone) -> None:
    """The demo stories, more calls and two open cases, projected, with the SLA alerts due at NOW raised."""
    api = stack.api
    assert api.sla is not None
    api.clock = lambda: NOW
    ensure_default_policy(api.event_store, api.sla.config, PolicyBook(), NOW - timedelta(days=90))
    events = [*demo_events(NOW), *card_calls(),
              open_case("CASE-CC-OPEN", "card_centre", "13700000002", timedelta(days=9)),
              open_case("CASE-HL-OPEN", "hotline", "13700000003", timedelta(days=8))]
    api.publisher.publish(events)
    wait_for(lambda: api.event_store.head() >= len(events) + 1, 30, "seed events recorded")
    wait_for(caught_up(stack), 30, "seed events projected")
    assert SlaTicker(api.event_store, api.sla.store, lambda: NOW, catch_up_s=0).tick() != []
    wait_for(caught_up(stack), 30, "alerts projected")
    open_alerts = api.sla.store.alerts(AlertQuery(state=AlertState.OPEN, limit=500))
    assert {a.department for a in open_alerts if a.severity is Severity.CRITICAL} >= {"card_centre", "hotline"}
    checkpoint(stack)  # chained and signed, for the auditor's page


@pytest.fixture(scope="module")
def console(kafka_bootstrap: str, postgres_url: str) -> Iterator[Console]:
    reason = missing_browser()
    if reason is not None:
        give_up(f"Chromium unavailable: {reason}", dict(os.environ))
    with fresh_topic_and_schema(kafka_bootstrap, postgres_url) as (topic, schema):
        tokens = ",".join(f"{name}={token}" for name, token in TOKENS.items())
        settings = pipeline_settings(kafka_bootstrap, postgres_url, schema, topic, bootstrap_tokens=tokens)
        with running_backbone(settings) as stack:
            seed(stack)
            yield Console(str(stack.client.base_url).rstrip("/"), stack)


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    with chromium() as driver:
        yield driver


def until(driver: WebDriver, condition: Callable[[WebDriver], object], timeout: float = 10) -> None:
    WebDriverWait(driver, timeout, poll_frequency=0.05).until(condition)


def look(driver: WebDriver, name: str) -> str:
    """Screenshot the page and check it holds no national ID in clear; returns the page's HTML."""
    screenshot(driver, name)
    html = driver.page_source
    assert NATIONAL_ID not in html and NATIONAL_ID not in driver.current_url
    return html


def sign_in(driver: WebDriver, console: Console, role: str) -> None:
    driver.get(console.url("/login"))
    driver.find_element(By.ID, "token").send_keys(TOKENS[role])
    driver.find_element(By.ID, "signin").click()
    until(driver, lambda d: d.find_elements(By.ID, "logout"))


def texts(driver: WebDriver, selector: str) -> list[str]:
    return [element.text for element in driver.find_elements(By.CSS_SELECTOR, selector)]


def open_board(driver: WebDriver, console: Console) -> None:
    """The SLA board, once its live stream delivered its first drawing (it replaces the tables)."""
    driver.get(console.url("/alerts"))
    until(driver, lambda d: d.find_element(By.ID, "live").get_attribute("data-updated"))


FETCH_TEXT = "const done = arguments[arguments.length - 1]; fetch(arguments[0]).then(r => r.text()).then(done);"


def find_customer(driver: WebDriver, console: Console, kind: str, value: str) -> None:
    driver.get(console.url("/customers"))
    Select(driver.find_element(By.ID, "kind")).select_by_value(kind)
    driver.find_element(By.ID, "value").send_keys(value)
    driver.find_element(By.ID, "search").click()
    until(driver, lambda d: d.find_elements(By.ID, "card") or d.find_elements(By.ID, "search-error"))


def test_sign_in_find_by_phone_card_timeline_and_case(console: Console, browser: WebDriver) -> None:
    driver = browser
    driver.get(console.url("/customers"))
    assert driver.current_url.endswith("/console/login")  # no session: the sign-in page
    look(driver, "01-sign-in")
    sign_in(driver, console, "ops")
    find_customer(driver, console, "phone", PHONE)
    look(driver, "02-customer-card")
    identifiers = texts(driver, "#identifiers li")
    assert any(line.startswith("National ID") for line in identifiers), identifiers
    assert PHONE not in driver.find_element(By.ID, "identifiers").text  # masked, as on the API's card
    assert "broken" in driver.find_element(By.ID, "card").text  # her two callbacks never came

    rows = driver.find_elements(By.CSS_SELECTOR, "#timeline-rows tr.timeline-entry")
    assert len(rows) == 20
    driver.execute_script("arguments[0].scrollIntoView()", driver.find_element(By.ID, "load-more"))
    until(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "tr.timeline-entry")) > 20)
    look(driver, "03-timeline-more")

    csv = driver.execute_async_script(FETCH_TEXT, driver.find_element(By.ID, "export-csv").get_attribute("href"))
    lines = csv.lstrip("\ufeff").splitlines()
    assert lines[0] == "When,Channel,Department,Event,Summary,Case"
    customer_id = driver.find_element(By.ID, "customer-id").text
    api = console.stack.client.get(f"/v1/customers/{customer_id}/timeline", params={"limit": 500},
                                   headers={"Authorization": f"Bearer {TOKENS['ops']}"}).json()
    assert len(lines) - 1 == len(api["entries"]) > 20 and api["next_cursor"] is None
    assert NATIONAL_ID not in csv

    Select(driver.find_element(By.ID, "f-department")).select_by_value("loan")
    driver.find_element(By.ID, "filter").click()
    until(driver, lambda d: "department=loan" in d.current_url)
    departments = {row.get_attribute("data-department")
                   for row in driver.find_elements(By.CSS_SELECTOR, "tr.timeline-entry")}
    assert departments == {"loan"}

    driver.find_element(By.CSS_SELECTOR, f'#timeline-rows a[href$="/cases/{CARD_CASE}"]').click()
    until(driver, lambda d: d.find_elements(By.ID, "handoff-chain"))
    look(driver, "04-case")
    assert driver.find_element(By.ID, "case-path").text == "Loan → Card centre → Approval office"
    assert len(driver.find_elements(By.CSS_SELECTOR, "#handoff-chain tr.handoff")) == 2
    assert texts(driver, "#department-times tbody td:first-child") == ["Loan", "Card centre", "Approval office"]
    assert driver.find_elements(By.CSS_SELECTOR, "#sla-clocks tr.clock")


def test_handoffs_heat_map_dropped_and_ping_pong(console: Console, browser: WebDriver) -> None:
    sign_in(browser, console, "ops")
    browser.find_element(By.CSS_SELECTOR, 'nav a[data-page="handoffs"]').click()
    until(browser, lambda d: d.find_elements(By.ID, "handoff-matrix"))
    look(browser, "15-handoffs")
    pair = '[data-from="card_centre"][data-to="approval_office"]'
    cell = browser.find_element(By.CSS_SELECTOR, f"#handoff-matrix td{pair}")
    assert int(cell.get_attribute("data-count") or 0) >= 1
    assert CARD_CASE in browser.find_element(By.ID, "dropped").text  # accepted days after its target
    browser.find_element(By.CSS_SELECTOR, f'#dropped a[href$="/cases/{CARD_CASE}"]').click()
    until(browser, lambda d: d.find_elements(By.ID, "handoff-chain"))
    browser.find_element(By.CSS_SELECTOR, 'nav a[data-page="cases"]').click()
    until(browser, lambda d: d.find_elements(By.ID, "case-board"))
    assert "CASE-CC-OPEN" in texts(browser, "#case-board .case-link")  # open cases by default
    Select(browser.find_element(By.ID, "f-status")).select_by_value("all")
    Select(browser.find_element(By.ID, "f-holder")).select_by_value("approval_office")
    browser.find_element(By.ID, "case-filter").click()
    until(browser, lambda d: "holder=approval_office" in d.current_url)
    look(browser, "16-case-board")
    assert texts(browser, "#case-board .case-link") == [CARD_CASE]


def test_a_national_id_search_keeps_it_out_of_the_url_and_page(console: Console, browser: WebDriver) -> None:
    sign_in(browser, console, "ops")
    find_customer(browser, console, "national_id", NATIONAL_ID)
    html = look(browser, "05-national-id-search")
    assert browser.find_elements(By.ID, "card") and "/console/customers/" in browser.current_url
    assert NATIONAL_ID[-4:] not in browser.find_element(By.ID, "identifiers").text or "*" in html


def test_acknowledge_an_alert_from_the_board(console: Console, browser: WebDriver) -> None:
    sign_in(browser, console, "ops")
    open_board(browser, console)
    look(browser, "06-sla-board")
    row = browser.find_element(By.CSS_SELECTOR, "#alerts-critical tr.alert")
    alert_id = row.get_attribute("data-alert")
    row.find_element(By.NAME, "acknowledged_by").send_keys("值班经理 Wang")
    row.find_element(By.NAME, "note").send_keys("calling the customer back")
    row.find_element(By.CSS_SELECTOR, "button.ack-button").click()
    acked = f'#alerts-acknowledged tr[data-alert="{alert_id}"]'
    critical = f'#alerts-critical tr[data-alert="{alert_id}"]'
    # the stream redraws once the acknowledgement is projected: the alert moves from one table to the other
    until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, acked) and not d.find_elements(By.CSS_SELECTOR,
                                                                                             critical))
    look(browser, "07-acknowledged")
    assert "值班经理 Wang" in browser.find_element(By.CSS_SELECTOR, acked).text
    assert not browser.find_elements(By.CSS_SELECTOR, critical)
    assert console.stack.api.sla is not None
    stored = console.stack.api.sla.store.alert(str(alert_id))
    assert stored is not None and stored.acknowledged_by == "值班经理 Wang"


def test_a_new_breach_appears_live_within_two_seconds(console: Console, browser: WebDriver) -> None:
    api = console.stack.api
    sla = api.sla
    assert sla is not None
    sign_in(browser, console, "ops")
    open_board(browser, console)
    case_id = f"CASE-LIVE-{uuid.uuid4().hex[:6]}"
    opened = make_event("case.opened", occurred_at=NOW - timedelta(days=30), department="card_centre",
                        channel="phone", customer={"phone": "13700000001"}, case_id=case_id)
    api.publisher.publish([opened])
    wait_for(lambda: api.cases.store.case(case_id) is not None and caught_up(console.stack)(), 30, "case projected")
    raised = SlaTicker(api.event_store, sla.store, lambda: NOW, catch_up_s=0).tick()
    assert any(e.case_id == case_id for e in raised)
    wait_for(lambda: sla.store.alerts(AlertQuery(case_id=case_id, limit=5)) != [], 30, "breach projected")
    projected = time.monotonic()
    until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f'#alerts-critical tr[data-case="{case_id}"]'),
          timeout=2.0)
    assert time.monotonic() - projected < 2.0
    look(browser, "08-breach-live")


def test_switch_language_to_chinese(console: Console, browser: WebDriver) -> None:
    sign_in(browser, console, "ops")
    browser.get(console.url(f"/cases/{CARD_CASE}"))
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    assert "Handoff chain" in browser.find_element(By.ID, "chain-h").text
    browser.find_element(By.ID, "lang-zh").click()
    until(browser, lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-CN")
    look(browser, "09-case-zh-CN")
    assert browser.find_element(By.ID, "chain-h").text == "转交链"
    assert texts(browser, "nav a")[:4] == ["客户查询", "案件看板", "转交分析", "SLA 看板"]
    assert browser.find_element(By.ID, "case-path").text == "信贷部 → 信用卡中心 → 审批办公室"
    assert "2026年11月5日 09:47" in browser.find_element(By.ID, "handoff-chain").text  # Shanghai wall clock
    assert browser.current_url.endswith(f"/console/cases/{CARD_CASE}")  # back on the same page
    find_customer(browser, console, "phone", PHONE)
    browser.get(browser.current_url + "?department=loan")
    handoff = browser.find_element(By.CSS_SELECTOR, 'tr[data-event="case.handed_off"] td.summary').text
    assert handoff.startswith("由信贷部转交至信用卡中心："), handoff  # the event summary in Chinese
    open_board(browser, console)
    look(browser, "10-sla-board-zh-CN")
    assert browser.find_element(By.ID, "sev-critical").text.startswith("严重")


def test_a_department_token_sees_only_what_its_role_may(console: Console, browser: WebDriver) -> None:
    sign_in(browser, console, "hotline")
    nav = [a.get_attribute("data-page") for a in browser.find_elements(By.CSS_SELECTOR, "nav a")]
    assert nav == ["customers", "cases", "handoffs", "alerts", "inbox"]  # no shared identifiers (roles only)
    browser.get(console.url("/shared"))
    assert browser.find_element(By.TAG_NAME, "h1").text == "Not allowed"
    look(browser, "11-department-forbidden")
    find_customer(browser, console, "phone", PHONE)  # the hotline never dealt with her
    assert browser.find_elements(By.ID, "search-error")
    look(browser, "12-department-search")
    browser.get(console.url(f"/cases/{CARD_CASE}"))
    assert browser.find_elements(By.ID, "not-found")
    open_board(browser, console)
    look(browser, "13-department-alerts")
    assert not browser.find_elements(By.CSS_SELECTOR, "button.ack-button")  # staff do not acknowledge
    assert not browser.find_elements(By.CSS_SELECTOR, 'tr.alert[data-case="CASE-DEMO-003"]')
    browser.get(console.url("/handoffs"))
    assert not browser.find_elements(By.CSS_SELECTOR, '#handoff-matrix td[data-from="card_centre"]')  # not its own
    assert CARD_CASE not in browser.page_source
    browser.get(console.url("/inbox"))
    look(browser, "14-department-inbox")
    assert "Hotline" in browser.find_element(By.TAG_NAME, "h1").text


def test_a_manager_acknowledges_only_its_department_and_signs_out(console: Console, browser: WebDriver) -> None:
    sign_in(browser, console, "card_centre-manager")
    open_board(browser, console)
    departments = {cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "tr.alert td:nth-child(4)")}
    assert departments == {"Card centre"}
    assert browser.find_elements(By.CSS_SELECTOR, "button.ack-button")
    browser.find_element(By.ID, "logout").click()
    until(browser, lambda d: d.current_url.endswith("/console/login"))
    browser.get(console.url("/alerts"))
    assert browser.current_url.endswith("/console/login")  # the session is gone


def test_the_auditor_verifies_the_log_and_runs_a_replay(console: Console, browser: WebDriver) -> None:
    sign_in(browser, console, "auditor")
    browser.find_element(By.CSS_SELECTOR, 'nav a[data-page="audit"]').click()
    until(browser, lambda d: d.find_elements(By.ID, "checkpoints"))
    assert browser.find_elements(By.CSS_SELECTOR, "#checkpoints tr.checkpoint")
    browser.find_element(By.ID, "verify").click()
    until(browser, lambda d: d.find_elements(By.ID, "verdict"), timeout=30)
    assert browser.find_element(By.ID, "verdict").get_attribute("data-ok") == "true"
    browser.find_element(By.ID, "start-replay").click()
    until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#replays tr.replay"))
    look(browser, "17-audit")
    status = browser.find_element(By.CSS_SELECTOR, "#replays tr.replay").get_attribute("data-status")
    assert status in ("running", "equal")
    jobs = console.stack.api.replays
    assert jobs is not None
    wait_for(lambda: all(job.status != "running" for job in jobs.recent()), 60, "replay finished")
    browser.refresh()
    assert browser.find_element(By.CSS_SELECTOR, "#replays tr.replay").get_attribute("data-status") == "equal"
    look(browser, "18-audit-replayed")
