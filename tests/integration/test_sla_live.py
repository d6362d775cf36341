"""The live SLA ticker on Postgres and the real broker with real time: detection within 5 s of the instant,
alerts on the alerts topic, a policy change that only affects later clocks, and an in-place rebuild that
reproduces the live alerts while the ticker keeps running and fires nothing twice (the projector stopped
meanwhile, as operations.md asks of an in-place rebuild)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from contracts import Envelope, SlaAlertPayload
from projections.sla.sql import SqlSlaStore
from services.adapters.databases import open_views
from services.adapters.kafka.backend import ensure_kafka_topics
from services.adapters.opening import open_event_store
from services.adapters.settings import Settings
from services.adapters.store.eventstore import EventStore
from services.application.projector.engine import rebuild
from services.entrypoints.app import build_app
from services.entrypoints.bootstrap import build_api_components
from services.entrypoints.loops.pipeline import build_projection_engine, run_in_thread
from services.entrypoints.loops.sla import build_sla_services
from tests.support.builders import make_event
from tests.support.pipeline import BEARER, pipeline_settings, read_topic, serve, wait_for

pytestmark = pytest.mark.integration

ALERT_TYPES = ("sla.warning_raised", "sla.breached")
TARGET_S = 4  # the test policy's resolution target, in calendar seconds: warnings at 2 s and 3 s


@dataclass
class Backbone:
    client: httpx.Client
    store: EventStore
    settings: Settings
    views: Any
    projector: Projector


@pytest.fixture
def backbone(kafka_bootstrap: str, postgres_url: str, pg_schema: str, kafka_topic: str) -> Iterator[Backbone]:
    """Recorder, projector, SLA ticker (1 s period) and alert dispatch, and the API: as `touchline run`."""
    settings = pipeline_settings(kafka_bootstrap, postgres_url, pg_schema, kafka_topic,
                                 alerts_topic=f"{kafka_topic}-alerts", sla_allowed_lateness_s=1.0)
    ensure_kafka_topics(settings)
    store, views = open_event_store(settings), open_views(settings)
    api = build_api_components(settings)
    sla = build_sla_services(settings, store, views)
    stop = threading.Event()
    threads = [run_in_thread(name, loop, stop) for name, loop in sla.loops(settings).items()]
    projector = Projector(build_projection_engine(settings, store, views).run)
    projector.start()
    with serve(build_app(api)) as base, httpx.Client(base_url=base, timeout=30) as client:
        yield Backbone(client, store, settings, views, projector)
    stop.set()
    projector.stop()
    for thread in threads:
        thread.join(timeout=30)
    sla.close()
    api.close()
    store.close()
    views.dispose()


class Projector:
    """The projector's loop in a thread of its own, which the test stops for an in-place rebuild and starts again."""

    def __init__(self, loop: Any) -> None:
        self._loop = loop
        self._running: tuple[threading.Event, threading.Thread] | None = None

    def start(self) -> None:
        stop = threading.Event()
        self._running = stop, run_in_thread("projector", self._loop, stop)

    def stop(self) -> None:
        if self._running is not None:
            stop, thread = self._running
            stop.set()
            thread.join(timeout=30)
            assert not thread.is_alive(), "the projector did not stop"
            self._running = None


def opened(case_id: str, when: datetime) -> Envelope:
    return make_event("case.opened", occurred_at=when, case_id=case_id, department="hotline", channel="web",
                      customer={"phone": "13800138000"}, payload={"case_type": "inquiry", "priority": "normal"})


def watch_alerts(store: EventStore, count: int, timeout_s: float, linger_s: float) -> dict[str, tuple[Envelope, float]]:
    """Alert events as they appear in the log with the wall time each was first seen (polled every 20 ms),
    until `count` were seen and `linger_s` more passed (to catch any that should not be there)."""
    seen: dict[str, tuple[Envelope, float]] = {}
    after, until = 0, time.time() + timeout_s
    while time.time() < until:
        for recorded in store.read(after, 1000):
            after = recorded.position
            if recorded.event.event_type in ALERT_TYPES:
                seen[str(recorded.event.event_id)] = (recorded.event, time.time())
        if len(seen) >= count:
            until = min(until, time.time() + linger_s)
        time.sleep(0.02)
    return seen


def test_live_detection_policy_versions_alerts_topic_and_rebuild(backbone: Backbone) -> None:
    client, store = backbone.client, backbone.store
    effective = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
    rule = {"name": "hotline-seconds", "match": {"departments": ["hotline"]},
            "targets": {"resolution": {"seconds": TARGET_S, "basis": "calendar"}}}
    published = client.post("/v1/sla/policies", headers=BEARER["ops"],
                            json={"effective_at": effective.isoformat(), "rules": [rule], "description": "test"})
    assert published.status_code == 201, published.text
    assert published.json()["version"] == 2
    # Recorded straight into the store, as the recorder would (the recorder's path has its own tests).
    store.append([opened("CASE-V1", effective - timedelta(seconds=1)), opened("CASE-V2", effective)])

    seen = watch_alerts(store, 3, timeout_s=TARGET_S + 10, linger_s=1.0)

    latencies = {event.payload.threshold_percent: seen_at - event.occurred_at.timestamp()  # type: ignore[attr-defined]
                 for event, seen_at in seen.values() if event.case_id == "CASE-V2"}
    print(f"\nSLA detection latency after the threshold instant (s): {latencies}")
    assert sorted(latencies) == [50, 75, 100]
    assert all(0 <= latency <= 5 for latency in latencies.values()), latencies
    breach = next(e for e, _ in seen.values() if e.case_id == "CASE-V2" and e.event_type == "sla.breached")
    assert breach.occurred_at == effective + timedelta(seconds=TARGET_S)
    assert isinstance(breach.payload, SlaAlertPayload) and breach.payload.policy_version == 2
    assert all(e.case_id == "CASE-V2" for e, _ in seen.values())  # CASE-V1 runs under v1: 40 business hours

    explained = {case: client.get(f"/v1/cases/{case}/sla", headers=BEARER["hotline"]).json()
                 for case in ("CASE-V1", "CASE-V2")}
    assert {c["policy_version"] for c in explained["CASE-V1"]["clocks"]} == {1}
    assert [(c["metric"], c["policy_version"], c["state"]) for c in explained["CASE-V2"]["clocks"]] == [
        ("resolution", 2, "breached")]

    on_topic = [r for r in read_topic(backbone.settings.kafka_bootstrap_servers, backbone.settings.alerts_topic)]
    assert {r.key.decode() for r in on_topic} == {"CASE-V2"} and len(on_topic) == 3

    def live_alerts() -> list[tuple[str, str, int]]:
        body = client.get("/v1/alerts", params={"limit": 500}, headers=BEARER["ops"]).json()
        return sorted((a["alert_id"], a["occurred_at"], a["policy_version"]) for a in body["alerts"])

    wait_for(lambda: len(live_alerts()) == 3, 10, "the view shows the three alerts")
    live, head = live_alerts(), store.head()
    backbone.projector.stop()  # an in-place rebuild refuses a projector writing meanwhile (RebuildChanged)
    rebuild(store, SqlSlaStore(backbone.views), batch_size=2)  # the ticker keeps running meanwhile
    backbone.projector.start()
    time.sleep(2.5)  # two more ticks
    assert live_alerts() == live
    alert_rows = [r for r in store.read_raw(0, 10_000) if "sla.warning_raised" in r.topic or "sla.breached" in r.topic]
    assert len(alert_rows) == 3 and store.head() == head
