"""Hostile requests through the real stack (API, recorder, projector on the real broker and Postgres): a forged
internal event (defect 1), an event-id conflict and an idempotent resend (defect 3), a non-JSON body, a
duplicate key and a flood (defect 5)."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest

from contracts import SlaAlertAcknowledged, SlaPolicyPublished
from tests.support.pipeline import (
    BEARER,
    Backbone,
    pipeline_settings,
    running_backbone,
    stored_ids,
    touchpoint,
    wait_for,
)

pytestmark = pytest.mark.e2e
JSON = {"Content-Type": "application/json"}
LIMIT = 12


@pytest.fixture
def stack(kafka_bootstrap: str, postgres_url: str, pg_schema: str, kafka_topic: str) -> Iterator[Backbone]:
    settings = pipeline_settings(kafka_bootstrap, postgres_url, pg_schema, kafka_topic,
                                 rate_limit=f"{LIMIT}/minute")
    with running_backbone(settings) as running:
        yield running


def test_hostile_requests_are_refused_and_honest_ones_recorded_once(stack: Backbone) -> None:
    client, store = stack.client, stack.api.event_store
    forged = [SlaAlertAcknowledged.example_data(), SlaPolicyPublished.example_data()]
    for data in forged:
        data["source"] = {"department": "hotline", "channel": "internal"}
        response = client.post("/v1/events", json=data, headers=BEARER["hotline"])
        assert response.status_code == 403, response.text
        assert response.json()["errors"][0]["loc"] == "event_type"

    original = touchpoint(1, "hotline")
    assert client.post("/v1/events", json=original, headers=BEARER["hotline"]).status_code == 202
    wait_for(lambda: len(stored_ids(store)) == 1, 20, "the original event recorded")
    resent = client.post("/v1/events", json=original, headers=BEARER["hotline"])
    assert resent.status_code == 202 and resent.json()["results"][0]["status"] == "accepted"
    conflict = client.post("/v1/events", json=original | {"occurred_at": "2026-11-02T10:00:00+00:00"},
                           headers=BEARER["hotline"])
    assert conflict.status_code == 409, conflict.text
    assert conflict.json()["conflicting_event_ids"] == [original["event_id"]]

    as_text = client.post("/v1/events", content=orjson.dumps(touchpoint(2, "web")),
                          headers=BEARER["web"] | {"Content-Type": "text/plain"})
    assert as_text.status_code == 415
    twice = orjson.dumps(touchpoint(3, "web")).replace(b'"channel":"web"', b'"channel":"web","channel":"phone"')
    duplicate = client.post("/v1/events", content=twice, headers=BEARER["web"] | JSON)
    assert duplicate.status_code == 400 and duplicate.json()["errors"][0]["loc"] == "body.source.channel"

    answers = [client.get("/v1/cases", headers=BEARER["ops"]).status_code for _ in range(LIMIT + 1)]
    assert answers == [200] * LIMIT + [429]
    assert int(client.get("/v1/cases", headers=BEARER["ops"]).headers["retry-after"]) >= 1

    wait_for(lambda: stack.api.timeline.position() >= 1, 20, "projected")
    assert [str(i) for i in stored_ids(store)] == [original["event_id"]]
