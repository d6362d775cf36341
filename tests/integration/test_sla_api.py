"""Policy endpoints and the default policy at start-up, on a real (SQLite) store and SLA projection."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from projections.sla.sql import SqlSlaStore
from projections.sqlstore import make_engine
from services.adapters.store.eventstore import EventStore
from services.adapters.webhooks.deliveries import DeliveryStore
from services.application.projector.engine import ProjectionEngine
from services.application.sla.policies import ensure_default_policy
from services.application.sla.views import SlaViews
from services.entrypoints.app import build_app
from tests.support.sla import BEARER, CONFIG, HOUR, SlaComponents, at, policy_payload, rule

pytestmark = pytest.mark.integration

NOW = at("2026-11-25", "10:00")


@dataclass
class Api:
    client: TestClient
    store: EventStore
    engine: ProjectionEngine
    sla: SqlSlaStore


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    store, views = EventStore(f"sqlite:///{tmp_path / 'events.db'}"), make_engine(f"sqlite:///{tmp_path / 'v.db'}")
    sla = SqlSlaStore(views)
    sla.create()
    deliveries = DeliveryStore(views)
    deliveries.create()
    assert ensure_default_policy(store, CONFIG, sla.policies(), NOW) is not None
    engine = ProjectionEngine(store, [sla])
    engine.catch_up()
    yield Api(TestClient(build_app(SlaComponents(SlaViews(sla, CONFIG, deliveries, store), [NOW]))), store, engine,
              sla)
    store.close()
    views.dispose()


def draft(**extra: object) -> dict[str, object]:
    return {"rules": [rule("faster", resolution=8 * HOUR)], "description": "faster resolution"} | extra


def test_ops_publish_a_new_version_that_takes_effect_now_or_later(api: Api) -> None:
    later = NOW + timedelta(days=6)
    published = api.client.post("/v1/sla/policies", json=draft(effective_at=later.isoformat()), headers=BEARER["ops"])
    assert published.status_code == 201, published.text
    body = published.json()
    assert (body["version"], body["effective_at"], body["rules"][0]["name"]) == (2, later.isoformat(), "faster")
    assert {c["name"] for c in body["calendars"]} == {"default", "hotline-24x7"}  # the configuration in force
    api.engine.catch_up()
    listed = api.client.get("/v1/sla/policies", headers=BEARER["loan"]).json()
    assert [p["version"] for p in listed] == [1, 2]
    assert api.client.get("/v1/sla/policies/2", headers=BEARER["loan"]).json()["description"] == "faster resolution"
    assert api.client.get("/v1/sla/policies/9", headers=BEARER["loan"]).status_code == 404


def test_publishing_is_refused_to_departments_in_the_past_and_for_a_taken_version(api: Api) -> None:
    assert api.client.post("/v1/sla/policies", json=draft(), headers=BEARER["card_centre"]).status_code == 403
    past = api.client.post("/v1/sla/policies", json=draft(effective_at=(NOW - timedelta(hours=1)).isoformat()),
                           headers=BEARER["ops"])
    assert past.status_code == 422 and "past" in past.json()["detail"]
    unknown = api.client.post("/v1/sla/policies", json=draft(default_calendar="mars"), headers=BEARER["ops"])
    assert unknown.status_code == 422 and "mars" in unknown.json()["detail"]
    assert api.client.post("/v1/sla/policies", json=draft(version=1), headers=BEARER["ops"]).status_code == 422
    assert api.client.post("/v1/sla/policies", json=draft(), headers=BEARER["ops"]).status_code == 201
    # The projection has not applied version 2 yet, so the next publication also picks 2: the store refuses it.
    assert api.client.post("/v1/sla/policies", json=draft(), headers=BEARER["ops"]).status_code == 409
    assert api.client.post("/v1/sla/policies", json={"rules": []}, headers=BEARER["ops"]).status_code == 422


def test_the_config_policy_is_recorded_once_and_a_changed_file_needs_a_new_version(
        api: Api, caplog: pytest.LogCaptureFixture) -> None:
    head = api.store.head()
    assert ensure_default_policy(api.store, CONFIG, api.sla.policies(), NOW) is None and api.store.head() == head
    changed = type(CONFIG)(CONFIG.calendars, CONFIG.departments, policy_payload(1, rules=[rule("x", resolution=HOUR)]))
    with caplog.at_level(logging.WARNING):
        assert ensure_default_policy(api.store, changed, api.sla.policies(), NOW) is None
    assert "bump `version`" in caplog.text
    bumped = type(CONFIG)(CONFIG.calendars, CONFIG.departments,
                          policy_payload(2, NOW - timedelta(days=30), [rule("x", resolution=HOUR)]))
    event = ensure_default_policy(api.store, bumped, api.sla.policies(), NOW)
    assert event is not None and event.payload.effective_at == NOW  # type: ignore[attr-defined]
