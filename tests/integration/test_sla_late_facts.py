"""Late facts on the real stack (HTTP -> Kafka -> recorder -> Postgres -> projector -> ticker): a past case posted
as two requests raises no false breach, and a fact arriving after a breach retracts it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from contracts import SlaAlertRetracted
from projections.sla.sql import SqlSlaStore
from projections.sqlstore import make_engine
from services.adapters.databases import open_views
from services.adapters.kafka.backend import ensure_kafka_topics
from services.adapters.opening import open_event_store
from services.adapters.settings import Settings
from services.adapters.store.eventstore import EventStore
from services.application.projector.engine import ProjectionEngine
from services.application.sla.ticker import SlaTicker
from services.entrypoints.app import build_app
from services.entrypoints.bootstrap import build_api_components
from services.entrypoints.loops.pipeline import run_in_thread, start_pipeline
from services.entrypoints.loops.sla import build_sla_services
from tests.support.builders import make_event
from tests.support.pipeline import BEARER, pipeline_settings, serve, wait_for
from tests.support.sla import at, policy_event

pytestmark = pytest.mark.integration

LATENESS_S = 5.0  # TOUCHLINE_SLA_ALLOWED_LATENESS_S for these tests
OPENED = at("2026-11-23", "09:00")  # a Monday, days before any `now` of these tests: every threshold is past
ALERTS = ("sla.warning_raised", "sla.breached")


@dataclass
class Stack:
    client: httpx.Client
    store: EventStore
    settings: Settings


@pytest.fixture
def stack(kafka_bootstrap: str, postgres_url: str, pg_schema: str, kafka_topic: str) -> Iterator[Stack]:
    """API, recorder, projector, SLA ticker, dispatcher and webhook sender, as `touchline run` wires them."""
    settings = pipeline_settings(kafka_bootstrap, postgres_url, pg_schema, kafka_topic,
                                 alerts_topic=f"{kafka_topic}-alerts", sla_allowed_lateness_s=LATENESS_S)
    ensure_kafka_topics(settings)
    store, views = open_event_store(settings), open_views(settings)
    api = build_api_components(settings)
    sla = build_sla_services(settings, store, views)
    stop = threading.Event()
    recorder, threads = start_pipeline(settings, store, views, stop)
    threads += [run_in_thread(name, loop, stop) for name, loop in sla.loops(settings).items()]
    try:
        with serve(build_app(api)) as base, httpx.Client(base_url=base, timeout=30) as client:
            wait_for(lambda: client.get("/readyz").status_code == 200, 30, "stack not ready")
            wait_for(lambda: recorder.assigned, 30, "recorder joined its consumer group")
            yield Stack(client, store, settings)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        sla.close()
        api.close()
        store.close()
        views.dispose()


def wire(event_type: str, case_id: str, when: datetime, payload: dict[str, Any]) -> dict[str, Any]:
    event = make_event(event_type, occurred_at=when, department="web", channel="web", case_id=case_id,
                       customer={"phone": "13800138000"}, payload=payload)
    return event.model_dump(mode="json", exclude_none=True)


def post(stack: Stack, data: dict[str, Any]) -> None:
    response = stack.client.post("/v1/events", json=data, headers=BEARER["web"])
    assert response.status_code == 202, response.text


def opened(case_id: str) -> dict[str, Any]:
    return wire("case.opened", case_id, OPENED, {"case_type": "complaint", "priority": "normal"})


def resolved(case_id: str, when: datetime) -> dict[str, Any]:
    return wire("case.resolved", case_id, when, {"resolution": "refunded"})


def logged(store: EventStore, *event_types: str, case_id: str) -> list[Any]:
    return [r.event for r in store.read(0, 10_000) if r.event.event_type in event_types and r.event.case_id == case_id]


def alerts(stack: Stack, case_id: str, **params: str) -> list[dict[str, Any]]:
    body = stack.client.get("/v1/alerts", params={"case": case_id, "limit": 500, **params},
                            headers=BEARER["ops"]).json()
    return list(body["alerts"])


def test_a_past_case_posted_in_two_requests_raises_no_breach(stack: Stack) -> None:
    post(stack, opened("CASE-PAST-1"))
    wait_for(lambda: logged(stack.store, "case.opened", case_id="CASE-PAST-1"), 15, "the opening recorded")
    time.sleep(1.5)  # a tick or more sees the open clock alone, its thresholds days past
    post(stack, resolved("CASE-PAST-1", OPENED + timedelta(minutes=20)))
    wait_for(lambda: len(logged(stack.store, "case.opened", "case.resolved", case_id="CASE-PAST-1")) == 2, 15,
             "both facts recorded")
    time.sleep(LATENESS_S + 3)  # past the allowed lateness, several ticks
    assert logged(stack.store, *ALERTS, "sla.alert_retracted", case_id="CASE-PAST-1") == []
    explained = stack.client.get("/v1/cases/CASE-PAST-1/sla", headers=BEARER["ops"]).json()
    assert {c["state"] for c in explained["clocks"]} == {"met"}


def test_a_breach_that_a_later_fact_disproves_is_retracted(stack: Stack) -> None:
    post(stack, opened("CASE-PAST-2"))
    # Nothing resolves it within the allowed lateness: the ticker raises its (past) warnings and breaches.
    wait_for(lambda: len(logged(stack.store, "sla.breached", case_id="CASE-PAST-2")) >= 2, LATENESS_S + 15,
             "the breaches of the past case")
    assert all(a["state"] == "open" for a in alerts(stack, "CASE-PAST-2"))
    # Then its resolution arrives, 20 minutes after the opening: first response (1 h) and resolution (16 h)
    # were never breached.
    late = resolved("CASE-PAST-2", OPENED + timedelta(minutes=20))
    post(stack, late)
    wait_for(lambda: len(alerts(stack, "CASE-PAST-2", state="retracted")) >= 2, 15, "the breaches retracted")
    retractions = logged(stack.store, "sla.alert_retracted", case_id="CASE-PAST-2")
    assert retractions and all(isinstance(e, SlaAlertRetracted) for e in retractions)
    assert {str(e.payload.fact_event_id) for e in retractions} == {late["event_id"]}
    breaches = {str(e.event_id) for e in logged(stack.store, "sla.breached", case_id="CASE-PAST-2")}
    assert breaches <= {str(e.payload.alert_id) for e in retractions}
    listed = {a["alert_id"]: a for a in alerts(stack, "CASE-PAST-2")}
    assert all(listed[b]["state"] == "retracted" and listed[b]["retraction_reason"] for b in breaches)
    assert {a["state"] for a in listed.values()} == {"retracted"}  # every alert was before the resolution's time
    time.sleep(2)
    assert len(logged(stack.store, "sla.alert_retracted", case_id="CASE-PAST-2")) == len(retractions)  # once


def test_the_ticker_trusts_the_log_only_the_allowed_lateness_after_it_saw_it(tmp_path: Path) -> None:
    """The watermark bookkeeping with a simulated clock, on SQLite: a clock's alerts wait until the log head
    that holds its last fact was seen `lateness` ago; the tick's instant is also held back by it."""
    store, views = EventStore(f"sqlite:///{tmp_path / 'events.db'}"), make_engine(f"sqlite:///{tmp_path / 'v.db'}")
    sla, now = SqlSlaStore(views), [at("2026-11-30", "09:00")]
    sla.create()
    engine = ProjectionEngine(store, [sla])
    ticker = SlaTicker(store, sla, lambda: now[0], catch_up_s=0, allowed_lateness_s=60)
    store.append([policy_event()])
    store.append([make_event("case.opened", occurred_at=OPENED, department="web", channel="web", case_id="C-T",
                             customer={"phone": "13800138000"}, payload={"case_type": "complaint",
                                                                         "priority": "normal"})])
    engine.catch_up()
    assert ticker.tick() == []  # the open was first seen now
    now[0] += timedelta(seconds=59)
    assert ticker.tick() == []
    now[0] += timedelta(seconds=1)
    raised = ticker.tick()
    assert raised and {e.event_type for e in raised} == {"sla.warning_raised", "sla.breached"}
    store.close()
    views.dispose()
