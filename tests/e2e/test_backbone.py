"""The whole backbone over HTTP on the real broker and Postgres: publish from three channels, read one timeline."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from tests.support.pipeline import (
    BASE_TIME,
    BEARER,
    BOTH_KAFKA_CLIENTS,
    pipeline_settings,
    running_backbone,
    touchpoint,
    wait_for,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
def backbone(kafka_bootstrap: str, postgres_url: str, pg_schema: str, kafka_topic: str,
             kafka_client: str) -> Iterator[httpx.Client]:
    """API + recorder + projector, as `touchline run` wires them, on this test's schema and topics."""
    settings = pipeline_settings(kafka_bootstrap, postgres_url, pg_schema, kafka_topic, kafka_client=kafka_client)
    with running_backbone(settings) as running:
        yield running.client


@BOTH_KAFKA_CLIENTS
def test_three_channels_one_timeline_within_two_seconds(backbone: httpx.Client) -> None:
    phone = "138 0013 8000"
    events = [
        (touchpoint(0, "hotline", phone=phone), "hotline"),
        (touchpoint(60, "web", phone="+86 13800138000"), "web"),
        (touchpoint(120, "frontdesk", phone="13800138000"), "frontdesk"),
    ]
    # occurred_at order differs from publishing order: the timeline must follow occurred_at
    events[0][0]["occurred_at"] = (BASE_TIME + timedelta(minutes=30)).isoformat()
    started = time.monotonic()
    for data, department in events:
        response = backbone.post("/v1/events", json=data, headers=BEARER[department])
        assert response.status_code == 202, response.text

    def timeline() -> list[dict[str, object]]:
        found = backbone.get("/v1/customers", params={"identifier": "phone:13800138000"}, headers=BEARER["ops"])
        if found.status_code != 200:
            return []
        customer_id = found.json()["customers"][0]["customer_id"]
        page = backbone.get(f"/v1/customers/{customer_id}/timeline", headers=BEARER["ops"])
        return list(page.json()["entries"]) if page.status_code == 200 else []

    wait_for(lambda: len(timeline()) == 3, 2.0, "all three events visible within 2 seconds", 0.02)
    elapsed = time.monotonic() - started
    entries = timeline()
    assert [e["channel"] for e in entries] == ["web", "front_desk", "phone"]
    assert [e["department"] for e in entries] == ["web", "frontdesk", "hotline"]
    assert entries == sorted(entries, key=lambda e: (e["occurred_at"], e["position"]))
    assert elapsed < 2.0


def test_tokens_guard_publishing(backbone: httpx.Client) -> None:
    data = touchpoint(1, "web")
    assert backbone.post("/v1/events", json=data).status_code == 401
    assert backbone.post("/v1/events", json=data, headers={"Authorization": "Bearer nope"}).status_code == 401
    forbidden = backbone.post("/v1/events", json=data, headers=BEARER["hotline"])
    assert forbidden.status_code == 403
    assert forbidden.headers["content-type"].startswith("application/problem+json")
    assert forbidden.json()["foreign_departments"] == ["web"]
    assert backbone.post("/v1/events", json=data, headers=BEARER["ops"]).status_code == 403
    assert backbone.post("/v1/events", json=data, headers=BEARER["web"]).status_code == 202


def test_invalid_items_get_field_paths(backbone: httpx.Client) -> None:
    good = touchpoint(2, "web")
    bad = touchpoint(3, "web") | {"occurred_at": "2026-11-02T09:00:00"}
    response = backbone.post("/v1/events", json=[good, bad], headers=BEARER["web"])
    assert response.status_code == 202
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (1, 1)
    assert body["results"][1]["errors"][0]["loc"] == "occurred_at"
    all_bad = backbone.post("/v1/events", json=[bad], headers=BEARER["web"])
    assert all_bad.status_code == 422
    assert all_bad.json()["results"][0]["status"] == "rejected"
    json_type = {"Content-Type": "application/json"}
    malformed = backbone.post("/v1/events", content=b"{oops", headers=BEARER["web"] | json_type)
    assert malformed.status_code == 400
    too_many = [touchpoint(i, "web") for i in range(1001)]
    assert backbone.post("/v1/events", json=too_many, headers=BEARER["web"]).status_code == 413


def test_lookup_errors_are_problem_details(backbone: httpx.Client) -> None:
    missing = backbone.get("/v1/customers", params={"identifier": "phone:13900000000"}, headers=BEARER["ops"])
    assert missing.status_code == 404
    invalid = backbone.get("/v1/customers", params={"identifier": "shoe-size:42"}, headers=BEARER["ops"])
    assert invalid.status_code == 422
    assert invalid.json()["errors"][0]["loc"] == "query.identifier"
    bad_limit = backbone.get("/v1/customers/x/timeline", params={"limit": 0}, headers=BEARER["ops"])
    assert bad_limit.status_code == 422
    assert bad_limit.json()["errors"][0]["loc"] == "query.limit"
    assert backbone.get("/healthz").json() == {"status": "ok"}
