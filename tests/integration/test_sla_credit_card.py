"""Seed 003, the credit-card story, replayed day by day through store, SLA projection, ticker and HTTP API.

The customer is promised two callbacks that never come; the ticker raises warnings and breaches at the
business-time instants of the office calendar and escalates breaches to the managers; her third call turns
the inquiry into a complaint; the promise ledger shows both promises broken. The wall clock is simulated:
the ticker ticks at every event's time, so alerts are recorded as the story unfolds.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from contracts import Envelope
from projections.sla.queries import AlertQuery
from projections.sla.sql import SqlSlaStore
from projections.sqlstore import make_engine
from services.adapters.store.eventstore import EventStore
from services.adapters.webhooks.deliveries import DeliveryStore
from services.application.demo import demo_stories
from services.application.projector.engine import ProjectionEngine, rebuild
from services.application.sla.policies import ensure_default_policy
from services.application.sla.ticker import SlaTicker
from services.application.sla.views import SlaViews
from services.entrypoints.app import build_app
from tests.support.sla import BEARER, CONFIG, SlaComponents, at

pytestmark = pytest.mark.integration

NOW = at("2026-11-25", "12:00")
CASE = "CASE-DEMO-003"


@dataclass
class Story:
    client: TestClient
    raised: list[Envelope]  # every alert event the ticker recorded, in order
    store: EventStore
    sla: SqlSlaStore
    ticker: SlaTicker


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Story]:
    """The story recorded with a simulated clock (the ticker ticks at each event's time, then at NOW)."""
    root: Path = tmp_path_factory.mktemp("credit-card")
    store, views = EventStore(f"sqlite:///{root / 'events.db'}"), make_engine(f"sqlite:///{root / 'views.db'}")
    sla, now = SqlSlaStore(views), [datetime(2026, 1, 1, tzinfo=NOW.tzinfo)]
    sla.create()
    engine, ticker = ProjectionEngine(store, [sla]), SlaTicker(store, sla, lambda: now[0], catch_up_s=0)
    ensure_default_policy(store, CONFIG, sla.policies(), now[0])
    raised: list[Envelope] = []
    for event in demo_stories(NOW)["credit-card"]:
        now[0] = event.occurred_at
        engine.catch_up()
        raised += ticker.tick()
        store.append([event])
    now[0] = NOW
    engine.catch_up()
    raised += ticker.tick()
    engine.catch_up()
    deliveries = DeliveryStore(views)
    deliveries.create()
    components = SlaComponents(SlaViews(sla, CONFIG, deliveries, store), now)
    yield Story(TestClient(build_app(components)), raised, store, sla, ticker)
    store.close()


def alerts_of(client: TestClient, **query: str) -> list[dict[str, Any]]:
    response = client.get("/v1/alerts", params={"case": CASE, "limit": "500", **query}, headers=BEARER["ops"])
    assert response.status_code == 200
    return list(response.json()["alerts"])


def test_broken_callbacks_warn_then_breach_at_business_time_instants(story: Story) -> None:
    client = story.client
    callbacks = sorted((a["promise_id"], a["threshold_percent"], datetime.fromisoformat(a["occurred_at"]),
                         a["agent"], a["escalated_to"]) for a in alerts_of(client) if a["metric"] == "callback_promise")
    # P-003-1: promised Thu 5 Nov 10:03 for Sun 8 Nov 18:00 -> 14h57m of office time before the due time.
    # P-003-2: promised Wed 11 Nov 14:33 "to call back at once", due 17:30 -> 2h57m of office time.
    assert callbacks == [
        ("P-003-1", 50, at("2026-11-06", "09:31:30"), "card-0117", None),
        ("P-003-1", 75, at("2026-11-06", "14:15:45"), "card-0117", None),
        ("P-003-1", 100, at("2026-11-08", "18:00"), "card-0117", "card_centre-manager"),
        ("P-003-2", 50, at("2026-11-11", "16:01:30"), "card-0342", None),
        ("P-003-2", 75, at("2026-11-11", "16:45:45"), "card-0342", None),
        ("P-003-2", 100, at("2026-11-11", "17:30"), "card-0342", "card_centre-manager"),
    ]


def test_every_breach_is_escalated_to_the_manager_of_the_department_holding_the_clock(
        story: Story) -> None:
    client, raised = story.client, story.raised
    breaches = {(a["metric"], a["department"], a["escalated_to"], a["occurred_at"])
                for a in alerts_of(client, severity="critical")}
    assert breaches == {
        ("handoff_acceptance", "approval_office", "approval_office-manager", "2026-11-05T13:01:00+08:00"),
        ("customer_update", "card_centre", "card_centre-manager", "2026-11-09T09:44:00+08:00"),
        ("resolution", "card_centre", "card_centre-manager", "2026-11-12T09:44:00+08:00"),
        ("customer_update", "card_centre", "card_centre-manager", "2026-11-13T14:20:00+08:00"),
        ("customer_update", "approval_office", "approval_office-manager", "2026-11-16T18:00:00+08:00"),
        ("resolution", "approval_office", "approval_office-manager", "2026-11-17T18:00:00+08:00"),
        ("callback_promise", "card_centre", "card_centre-manager", "2026-11-08T18:00:00+08:00"),
        ("callback_promise", "card_centre", "card_centre-manager", "2026-11-11T17:30:00+08:00"),
    }
    assert len(raised) == len(alerts_of(client)) == 24  # warnings at 50% and 75% before each breach
    assert all(a["policy_version"] == 1 for a in alerts_of(client))


def test_the_inquiry_escalates_to_a_complaint_with_its_own_resolution_clock(story: Story) -> None:
    client = story.client
    explained = client.get(f"/v1/cases/{CASE}/sla", headers=BEARER["ops"]).json()
    assert (explained["case_type"], explained["status"], explained["department"]) == (
        "complaint", "resolved", "approval_office")
    resolution = [c for c in explained["clocks"] if c["metric"] == "resolution"]
    assert [(c["rule"], c["state"], c["stop_reason"]) for c in resolution] == [
        ("default", "missed", "escalated to complaint"), ("complaints", "missed", "case resolved")]
    complaint = resolution[1]
    assert complaint["started_at"] == "2026-11-14T10:18:00+08:00"  # a Saturday: counting starts Monday 09:00
    assert complaint["deadline_at"] == "2026-11-17T18:00:00+08:00"
    assert complaint["target_seconds"] == 16 * 3600 and complaint["policy_version"] == 1


def test_the_promise_ledger_shows_the_broken_promises(story: Story) -> None:
    client = story.client
    listed = client.get("/v1/promises", params={"case": CASE}, headers=BEARER["ops"]).json()
    assert [(p["promise_id"], p["status"], p["agent"]) for p in listed["promises"]] == [
        ("P-003-2", "broken", "card-0342"), ("P-003-1", "broken", "card-0117")]
    assert listed["counts"]["broken"] == 2 and sum(listed["counts"].values()) == 2
    ledger = client.get("/v1/promises/ledger", params={"by": "agent"}, headers=BEARER["ops"]).json()
    assert {(line["key"], line["counts"]["broken"], line["total"]) for line in ledger["lines"]} == {
        ("card-0117", 1, 1), ("card-0342", 1, 1)}
    broken = client.get("/v1/promises", params={"status": "broken", "department": "card_centre"},
                        headers=BEARER["ops"]).json()
    assert len(broken["promises"]) == 2


def test_explain_computes_elapsed_percent_for_now(story: Story) -> None:
    client = story.client
    clocks = client.get(f"/v1/cases/{CASE}/sla", headers=BEARER["ops"]).json()["clocks"]
    callback = next(c for c in clocks if c["promise_id"] == "P-003-2")
    assert callback["state"] == "missed" and callback["stop_reason"] == "case resolved"
    assert callback["deadline_at"] == "2026-11-11T17:30:00+08:00"
    assert callback["elapsed_percent"] > 100  # stopped at resolution, long after the due time
    assert [t["raised"] for t in callback["thresholds"]] == [True, True, True]
    assert client.get("/v1/cases/CASE-NOPE/sla", headers=BEARER["ops"]).status_code == 404


def test_a_breach_is_acknowledged_once_by_its_departments_manager(story: Story) -> None:
    client = story.client
    breach = next(a for a in alerts_of(client, severity="critical") if a["promise_id"] == "P-003-1")
    url = f"/v1/alerts/{breach['alert_id']}/ack"
    body = {"acknowledged_by": "王经理", "note": "今天亲自回电客户"}
    assert client.post(url, json=body, headers=BEARER["loan"]).status_code == 403
    assert client.post(url, json=body, headers=BEARER["card_centre"]).status_code == 403  # staff: managers ack
    acked = client.post(url, json=body, headers=BEARER["card_centre-manager"])
    assert acked.status_code == 201 and acked.json()["acknowledged_by"] == "王经理"
    assert client.post(url, json=body, headers=BEARER["ops"]).status_code == 409
    assert client.post("/v1/alerts/00000000-0000-0000-0000-000000000000/ack", json=body,
                       headers=BEARER["ops"]).status_code == 404
    detail = client.get(f"/v1/alerts/{breach['alert_id']}", headers=BEARER["ops"]).json()
    assert detail["escalated_to"] == "card_centre-manager" and detail["deliveries"] == []


def test_rebuilding_the_projection_from_zero_reproduces_the_live_alerts_and_fires_nothing(story: Story) -> None:
    def snapshot() -> list[tuple[str, str, int, str | None]]:
        found = story.sla.alerts(AlertQuery(limit=500))
        return sorted((a.alert_id, a.occurred_at.isoformat(), a.policy_version, a.acknowledged_by) for a in found)

    ProjectionEngine(story.store, [story.sla]).catch_up()  # e.g. an acknowledgement recorded by another test
    live = snapshot()
    assert {alert_id for alert_id, *_ in live} == {str(e.event_id) for e in story.raised}
    head = story.store.head()
    rebuild(story.store, story.sla, batch_size=7)  # small batches: many transactions, same result
    assert story.sla.position() == head
    assert snapshot() == live
    assert story.ticker.tick() == [] and story.store.head() == head
