"""Service quality end to end on the real broker and Postgres: the generated data sets published over HTTP, recorded,
projected, and read back from /v1/quality/* equal to the answers their generators wrote down; CSV downloads; the
card at an instant; who may read what."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from tests.support import quality_contacts_data as contacts_data
from tests.support import quality_data
from tests.support.builders import make_event
from tests.support.pipeline import Backbone, pipeline_settings, running_backbone
from tests.support.quality_api import ALWAYS, BEARER, OFFICE, TOKENS, config_dir, feed

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("kafka_topic", [1], indirect=True)]
OPS = BEARER["ops"]
DIMENSIONS = quality_data.DIMENSIONS


def _stack(tmp_path: Path, calendar: str, kafka: str, postgres: str, schema: str, topic: str) -> Iterator[Backbone]:
    settings = pipeline_settings(kafka, postgres, schema, topic, bootstrap_tokens=TOKENS,
                                 config_dir=config_dir(tmp_path, calendar))
    with running_backbone(settings) as running:
        yield running


@pytest.fixture
def office(tmp_path: Path, kafka_bootstrap: str, postgres_url: str, pg_schema: str,
           kafka_topic: str) -> Iterator[Backbone]:
    """Every department on Mon-Fri 09:00-18:00 Shanghai (the scorecard data set's calendar)."""
    yield from _stack(tmp_path, OFFICE, kafka_bootstrap, postgres_url, pg_schema, kafka_topic)


@pytest.fixture
def always(tmp_path: Path, kafka_bootstrap: str, postgres_url: str, pg_schema: str,
           kafka_topic: str) -> Iterator[Backbone]:
    """Every department around the clock (the contact-quality data set's calendar)."""
    yield from _stack(tmp_path, ALWAYS, kafka_bootstrap, postgres_url, pg_schema, kafka_topic)


def get(stack: Backbone, path: str, headers: dict[str, str] = OPS, **params: Any) -> Any:
    response = stack.client.get(path, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {k: float(v) if isinstance(v, Fraction) else v for k, v in values.items()}


def test_servqual_and_the_scorecard_give_the_written_down_answers(office: Backbone) -> None:
    data = quality_data.generate()
    feed(office, data.events)
    for kind in ("month", "quarter"):
        rows = get(office, "/v1/quality/scorecard", period=kind, now=quality_data.NOW.isoformat())["rows"]
        found = {(r["department"], r["period"]): {"measures": r["measures"], "previous": r["previous"]}
                 for r in rows}
        expected = {key: {part: _plain(v) for part, v in answer.items()}
                    for key, answer in data.scorecard.expected(kind).items()}
        assert found == expected
        for row in rows:
            assert row["change"] == {k: None if v is None or row["previous"][k] is None else v - row["previous"][k]
                                     for k, v in row["measures"].items()}
        for by in ("department", "channel", "segment"):
            cells = get(office, "/v1/quality/servqual", by=by, period=kind)["cells"]
            assert {(c["group"], c["period"]): (c["customers"], c["surveys"], c["score"],
                                                {d: c[d] for d in DIMENSIONS}, c["weighted_customers"], c["weighted"])
                    for c in cells} == {
                key: (e.customers, e.surveys, float(e.score), {d: float(e.dimensions[d]) for d in DIMENSIONS},
                      e.weighted_customers, None if e.weighted is None else float(e.weighted))
                for key, e in quality_data.servqual_expected(data.surveys, by, kind).items()}


def test_contact_quality_gives_the_written_down_answers(always: Backbone) -> None:
    data = contacts_data.generate()
    feed(always, data.events)
    expected, now = data.expected, contacts_data.NOW.isoformat()
    fcr = get(always, "/v1/quality/fcr", now=now, cases="true")
    assert {c["case_id"]: (c["outcome"], c["reason"]) for c in fcr["cases"]} == expected.fcr
    for by in ("department", "channel", "agent"):
        assert {r["key"]: (r["fcr"], r["not_fcr"], r["pending"]) for r in fcr[f"by_{by}"]} == expected.rates(by)
    due = get(always, "/v1/quality/proactive", now=now)["items"]
    assert {d["customer_id"]: (datetime.fromisoformat(d["due_at"]), d["owner"],
                               tuple(t["event_id"] for t in d["last_contacts"])) for d in due} == expected.proactive
    assert not {d["customer_id"] for d in due} & (expected.not_due | expected.silent_regulars)
    segments = get(always, "/v1/quality/segments", now=now, limit=100_000)["segments"]
    assert {s["segment"]: set(s["customers"]) for s in segments} == dict(expected.segments)
    assert all(s["count"] == len(s["customers"]) for s in segments)
    ranked = get(always, "/v1/quality/touchpoints", now=now, limit=10_000)["items"]
    assert {(t["channel"], t["department"], t["step"]): (t["volume"], t["signals"]) for t in ranked} == {
        k: (v, dict(+s)) for k, (v, s) in expected.touchpoints.items()}
    assert [t["rate"] for t in ranked] == sorted((t["rate"] for t in ranked), reverse=True)
    staff = get(always, "/v1/quality/staff", now=now)
    for level, rows in (("agents", expected.agents), ("departments", expected.departments)):
        assert [{k: v for k, v in r.items() if k != "fcr_rate"} for r in staff[level]] == [
            s.row(k) for k, s in sorted(rows.items())]


def test_a_key_account_is_listed_on_the_day_its_silence_crosses_the_threshold(always: Backbone) -> None:
    data = contacts_data.generate()
    feed(always, data.events)
    due = get(always, "/v1/quality/proactive", now=contacts_data.NOW.isoformat())["items"]
    first = min(due, key=lambda d: d["due_at"])
    at = datetime.fromisoformat(first["due_at"])
    before = get(always, "/v1/quality/proactive", now=(at - timedelta(microseconds=1)).isoformat())["items"]
    on = get(always, "/v1/quality/proactive", now=at.isoformat())["items"]
    assert first["customer_id"] not in {d["customer_id"] for d in before}
    assert first["customer_id"] in {d["customer_id"] for d in on}


T0 = datetime.fromisoformat("2026-11-23T10:00:00+08:00")
PHONE = {"phone": "13900001111"}


def _survey(at: datetime, survey_id: str, gaps: dict[str, tuple[int, int]]) -> Any:
    items = [{"dimension": d, "item": f"{d[:3].upper()}-{i}", "expectation": e, "perception": p}
             for i, (d, pair) in enumerate(gaps.items()) for e, p in [pair]]
    return make_event("survey.servqual_answered", occurred_at=at, department="quality", channel="web",
                      customer=PHONE, payload={"survey_id": survey_id, "items": items})


def _small_story() -> list[Any]:
    """A hotline call taken by 王芳, a case opened by her, and two surveys a month apart."""
    first = {"reliability": (7, 5), "responsiveness": (6, 6), "assurance": (5, 6), "empathy": (7, 4),
             "tangibles": (4, 5)}
    second = {d: (5, 5) for d in DIMENSIONS}
    return [
        make_event("call.received", occurred_at=T0, department="hotline", channel="phone", customer=PHONE,
                   agent="王芳", payload={"direction": "inbound", "answered_by": "agent"}),
        make_event("case.opened", occurred_at=T0 + timedelta(minutes=1), department="hotline", channel="phone",
                   customer=PHONE, case_id="QAPI-1", agent="王芳", payload={"segment": "key_account"}),
        _survey(T0 + timedelta(days=1), "SV-1", first),
        make_event("frontdesk.visit_checked_in", occurred_at=T0 + timedelta(days=20), department="branch",
                   channel="front_desk", customer=PHONE),
        _survey(T0 + timedelta(days=30), "SV-2", second),
    ]


def test_csv_card_at_and_permissions(always: Backbone) -> None:
    feed(always, _small_story())
    now = (T0 + timedelta(days=40)).isoformat()
    response = always.client.get("/v1/quality/staff", params={"now": now, "format": "csv"}, headers=OPS)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="staff.csv"'
    assert response.content.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert table[0][:3] == ["level", "key", "contacts_handled"]
    assert table[1][:4] == ["agent", "王芳", "1", "1"]
    servqual = always.client.get("/v1/quality/servqual", params={"format": "csv", "by": "segment"}, headers=OPS)
    rows = list(csv.DictReader(io.StringIO(servqual.content.decode("utf-8-sig"))))
    assert [(r["segment"], r["period"], r["customers"], r["surveys"]) for r in rows] == [
        ("key_account", "2026-11", "1", "1"), ("key_account", "2026-12", "1", "1")]
    assert float(rows[0]["reliability"]) == -2.0 and float(rows[0]["empathy"]) == -3.0

    customer = get(always, "/v1/customers", identifier="phone:13900001111")["customer_id"]
    card_then = get(always, f"/v1/customers/{customer}/card", at=(T0 + timedelta(days=10)).isoformat())
    assert card_then["last_survey"]["dimensions"] == {"reliability": -2.0, "responsiveness": 0.0, "assurance": 1.0,
                                                      "empathy": -3.0, "tangibles": 1.0}
    assert card_then["last_survey"]["score"] == -0.6
    assert [i["event_type"] for i in card_then["recent_interactions"]] == [
        "survey.servqual_answered", "case.opened", "call.received"]
    assert card_then["recognition"]["visits"] == 0
    card_now = get(always, f"/v1/customers/{customer}/card")
    assert card_now["last_survey"]["dimensions"] == dict.fromkeys(DIMENSIONS, 0.0)
    assert card_now["recognition"]["visits"] == 1
    before_anything = get(always, f"/v1/customers/{customer}/card", at=(T0 - timedelta(days=1)).isoformat())
    assert before_anything["last_survey"] is None and before_anything["recent_interactions"] == []

    staff_token = always.client.get("/v1/quality/servqual", headers=BEARER["hotline"])
    assert staff_token.status_code == 403
    assert staff_token.headers["content-type"] == "application/problem+json"
    mine = get(always, "/v1/quality/staff", headers=BEARER["hotline-manager"], now=now)
    assert [r["key"] for r in mine["departments"]] == ["hotline"] and [r["key"] for r in mine["agents"]] == ["王芳"]
    theirs = get(always, "/v1/quality/staff", headers=BEARER["branch-manager"], now=now)
    assert [r["key"] for r in theirs["departments"]] == ["branch"] and theirs["agents"] == []
    assert get(always, "/v1/quality/fcr", headers=BEARER["branch-manager"], now=now)["by_department"] == []
    assert [s["segment"] for s in get(always, "/v1/quality/segments", headers=BEARER["auditor"])["segments"]] == [
        "key_account"]
    bad = always.client.get("/v1/quality/servqual", params={"zone": "Mars/Olympus"}, headers=OPS)
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == "query.zone"
