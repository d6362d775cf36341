"""The console's quality pages in a real browser over the real broker and Postgres: the generated quality data sets
loaded, each page's figures equal to the answers their generators wrote down, both languages, the CSV downloads
(with their byte-order mark), and a department token kept out. Each page is saved as a screenshot."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from tests.e2e.test_console_browser import look, until
from tests.e2e.test_permissions_api import fresh_topic_and_schema
from tests.support import quality_contacts_data as contacts_data
from tests.support import quality_data
from tests.support.browser import chromium, missing_browser
from tests.support.pipeline import Backbone, pipeline_settings, running_backbone
from tests.support.quality_api import ALWAYS, BEARER, OFFICE, TOKENS, config_dir, feed
from tests.support.services import give_up

pytestmark = pytest.mark.e2e
DIMENSIONS = quality_data.DIMENSIONS
FETCH = """const done = arguments[arguments.length - 1];
fetch(arguments[0]).then(async r => { const bytes = new Uint8Array(await r.arrayBuffer());
  done({status: r.status, type: r.headers.get('content-type'), disposition: r.headers.get('content-disposition'),
        head: Array.from(bytes.slice(0, 3)), text: new TextDecoder('utf-8', {ignoreBOM: true}).decode(bytes)}); });"""


@dataclass
class Site:
    base: str
    stack: Backbone

    def url(self, path: str) -> str:
        return f"{self.base}/console{path}"


def _site(factory: pytest.TempPathFactory, calendar: str, kafka: str, postgres: str, events: Any,
          now: Any) -> Iterator[Site]:
    reason = missing_browser()
    if reason is not None:
        give_up(f"Chromium unavailable: {reason}", dict(os.environ))
    config: Path = config_dir(factory.mktemp("config"), calendar)
    with fresh_topic_and_schema(kafka, postgres) as (topic, schema):
        settings = pipeline_settings(kafka, postgres, schema, topic, bootstrap_tokens=TOKENS, config_dir=config)
        with running_backbone(settings) as stack:
            stack.api.clock = lambda: now
            feed(stack, events)
            yield Site(str(stack.client.base_url).rstrip("/"), stack)


@pytest.fixture(scope="module")
def scorecard_data() -> quality_data.QualityData:
    return quality_data.generate()


@pytest.fixture(scope="module")
def contacts() -> contacts_data.Dataset:
    return contacts_data.generate()


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory, kafka_bootstrap: str, postgres_url: str,
           scorecard_data: Any) -> Iterator[Site]:
    """The SERVQUAL and scorecard data set on Mon-Fri 09:00-18:00 calendars."""
    yield from _site(tmp_path_factory, OFFICE, kafka_bootstrap, postgres_url, scorecard_data.events,
                     quality_data.NOW)


@pytest.fixture(scope="module")
def always(tmp_path_factory: pytest.TempPathFactory, kafka_bootstrap: str, postgres_url: str,
           contacts: contacts_data.Dataset) -> Iterator[Site]:
    """The contact-quality data set (FCR, proactive, touchpoints, segments, staff) on 24x7 calendars."""
    yield from _site(tmp_path_factory, ALWAYS, kafka_bootstrap, postgres_url, contacts.events, contacts_data.NOW)


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    with chromium() as driver:
        yield driver


def sign_in(driver: WebDriver, site: Site, who: str) -> None:
    driver.get(site.url("/login"))
    driver.find_element(By.ID, "token").send_keys(BEARER[who]["Authorization"].removeprefix("Bearer "))
    driver.find_element(By.ID, "signin").click()
    until(driver, lambda d: d.find_elements(By.ID, "logout"))


def open_view(driver: WebDriver, view: str) -> None:
    driver.find_element(By.CSS_SELECTOR, f'.tabs a[data-view="{view}"]').click()
    until(driver, lambda d: d.current_url.split("?")[0].endswith(f"/quality/{view}"))


def field(driver: WebDriver, row: str, name: str) -> str:
    return str(driver.find_element(By.CSS_SELECTOR, f'{row} [data-field="{name}"]').text)


def two(value: Any) -> str:
    return f"{float(value):,.2f}"


def download(driver: WebDriver) -> tuple[dict[str, Any], list[list[str]]]:
    """The page's CSV link fetched by the browser (with its session cookie): the response and the table."""
    got: dict[str, Any] = driver.execute_async_script(FETCH, driver.find_element(By.ID, "quality-csv")
                                                      .get_attribute("href"))
    assert got["status"] == 200 and got["type"] == "text/csv; charset=utf-8"
    assert got["head"] == [0xEF, 0xBB, 0xBF] and got["disposition"].startswith("attachment;")
    return got, list(csv.reader(io.StringIO(got["text"].removeprefix("\ufeff"))))


def apply(driver: WebDriver, **choices: str) -> None:
    for name, value in choices.items():
        Select(driver.find_element(By.ID, f"q-{name}")).select_by_value(value)
    driver.find_element(By.ID, "q-apply").click()
    until(driver, lambda d: all(f"{k}={v}" in d.current_url for k, v in choices.items()))


def check_servqual(driver: WebDriver, data: Any, by: str, kind: str) -> None:
    expected = quality_data.servqual_expected(data.surveys, by, kind)
    rows = driver.find_elements(By.CSS_SELECTOR, "#servqual tr.servqual-cell")
    assert len(rows) == len(expected) > 0
    for (group, period), e in expected.items():
        row = f'tr[data-group="{group}"][data-period="{period}"]'
        assert field(driver, row, "customers") == str(e.customers)
        assert field(driver, row, "surveys") == str(e.surveys)
        assert field(driver, row, "score") == two(e.score)
        for d in DIMENSIONS:
            assert field(driver, row, d).startswith(two(e.dimensions[d]))


def test_servqual_and_the_scorecard_show_the_written_down_answers(office: Site, scorecard_data: Any,
                                                                  browser: WebDriver) -> None:
    driver = browser
    sign_in(driver, office, "ops")
    driver.find_element(By.CSS_SELECTOR, 'nav a[data-page="quality"]').click()
    until(driver, lambda d: d.find_elements(By.ID, "servqual"))
    look(driver, "20-quality-servqual")
    check_servqual(driver, scorecard_data, "department", "month")
    apply(driver, by="segment", period="quarter")
    look(driver, "21-quality-servqual-segment-quarter")
    check_servqual(driver, scorecard_data, "segment", "quarter")
    got, table = download(driver)
    assert got["disposition"] == 'attachment; filename="servqual.csv"'
    assert table[0][:3] == ["segment", "period", "customers"]
    assert len(table) - 1 == len(quality_data.servqual_expected(scorecard_data.surveys, "segment", "quarter"))

    open_view(driver, "scorecard")
    look(driver, "22-quality-scorecard")
    expected = scorecard_data.scorecard.expected("month")
    for (department, period), answer in expected.items():
        for name in ("written_complaints", "compliments", "first_response_p50", "promises_kept_rate"):
            cell = driver.find_element(By.CSS_SELECTOR, f'table[data-department="{department}"] '
                                                        f'tr[data-measure="{name}"] td[data-period="{period}"]')
            value = answer["measures"][name]
            shown = cell.get_attribute("data-value")
            assert (shown == "") if value is None else (float(shown or "nan") == float(value)), (department, name)
    latest = max(p for _, p in expected)
    for (department, period), answer in expected.items():
        now, before = answer["measures"]["written_complaints"], answer["previous"]["written_complaints"]
        if period != latest or now is None or before is None:
            continue
        change = driver.find_element(By.CSS_SELECTOR, f'table[data-department="{department}"] '
                                                      'tr[data-measure="written_complaints"] td.change')
        assert float(change.get_attribute("data-change") or "nan") == now - before
        assert ("▲" in change.text) == (now > before) and ("▼" in change.text) == (now < before)
    assert driver.find_elements(By.CSS_SELECTOR, "table.scorecard svg.spark")
    _, table = download(driver)
    assert table[0][:4] == ["department", "period", "written_complaints", "written_complaints_previous"]

    driver.find_element(By.ID, "lang-zh").click()
    until(driver, lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-CN")
    look(driver, "23-quality-scorecard-zh-CN")
    assert driver.find_element(By.TAG_NAME, "h1").text == "服务质量：服务记分卡"
    assert "书面投诉" in driver.find_element(By.CSS_SELECTOR, "table.scorecard").text
    open_view(driver, "servqual")
    assert [th.text for th in driver.find_elements(By.CSS_SELECTOR, "#servqual thead th")][5:10] == [
        "可靠性", "响应性", "保证性", "移情性", "有形性"]
    look(driver, "24-quality-servqual-zh-CN")


def test_contact_quality_pages_show_the_written_down_answers(always: Site, contacts: Any,
                                                             browser: WebDriver) -> None:
    driver, expected = browser, contacts.expected
    sign_in(driver, always, "ops")
    driver.get(always.url("/quality/fcr"))
    look(driver, "25-quality-fcr")
    for by in ("department", "channel", "agent"):
        rates = expected.rates(by)
        assert len(driver.find_elements(By.CSS_SELECTOR, f"#fcr-{by} tr.rate-row")) == len(rates)
        for key, (yes, no, pending) in rates.items():
            row = f'#fcr-{by} tr[data-key="{key}"]'
            assert [field(driver, row, n) for n in ("fcr", "not_fcr", "pending")] == [str(yes), str(no),
                                                                                      str(pending)]
    _, table = download(driver)
    assert table[0] == ["by", "key", "fcr", "not_fcr", "pending", "rate"]

    open_view(driver, "proactive")
    look(driver, "26-quality-proactive")
    shown = {row.get_attribute("data-customer") for row in driver.find_elements(By.CSS_SELECTOR, "tr.due")}
    assert shown == set(expected.proactive)

    open_view(driver, "touchpoints")
    look(driver, "27-quality-touchpoints")
    rows = driver.find_elements(By.CSS_SELECTOR, "#touchpoints tr.touchpoint")
    found = {(r.get_attribute("data-channel"), r.get_attribute("data-department"), r.get_attribute("data-step")):
             r.find_element(By.CSS_SELECTOR, '[data-field="volume"]').text for r in rows}
    assert found == {k: str(v) for k, (v, _) in expected.touchpoints.items()}
    example = driver.find_element(By.CSS_SELECTOR, "#touchpoints a.example")
    case_id = example.text
    example.click()
    until(driver, lambda d: d.find_elements(By.ID, "handoff-chain"))
    assert driver.current_url.endswith(f"/cases/{case_id}")
    driver.back()

    driver.get(always.url("/quality/segments"))
    look(driver, "28-quality-segments")
    for segment, members in expected.segments.items():
        assert field(driver, f'tr[data-segment="{segment}"]', "count") == str(len(members))

    open_view(driver, "staff")
    look(driver, "29-quality-staff")
    for level, rows_expected in (("agent", expected.agents), ("department", expected.departments)):
        for key, staff in rows_expected.items():
            row = f'#staff-{level} tr[data-key="{key}"]'
            assert field(driver, row, "contacts_handled") == f"{staff.row(key)['contacts_handled']:,}"
            assert field(driver, row, "complaints") == str(staff.row(key)["complaints"])
    _, table = download(driver)
    assert table[0][:3] == ["level", "key", "contacts_handled"]


def test_a_department_token_sees_no_quality_page_and_a_manager_its_own(always: Site, browser: WebDriver) -> None:
    driver = browser
    sign_in(driver, always, "hotline")
    assert "quality" not in [a.get_attribute("data-page") for a in driver.find_elements(By.CSS_SELECTOR, "nav a")]
    driver.get(always.url("/quality/fcr"))
    assert driver.find_element(By.TAG_NAME, "h1").text == "Not allowed"
    look(driver, "30-quality-department-forbidden")
    got = driver.execute_async_script(FETCH, always.url("/quality/staff.csv"))
    assert got["status"] == 403 and "text/csv" not in (got["type"] or "")
    driver.find_element(By.ID, "logout").click()
    until(driver, lambda d: d.current_url.endswith("/console/login"))

    sign_in(driver, always, "hotline-manager")
    driver.find_element(By.CSS_SELECTOR, 'nav a[data-page="quality"]').click()
    open_view(driver, "fcr")
    look(driver, "31-quality-manager-fcr")
    assert [r.get_attribute("data-key") for r in driver.find_elements(By.CSS_SELECTOR, "#fcr-department tr.rate-row")
            ] == ["hotline"]
