"""Acceptance: 10,000 events over HTTP and 10,000 straight onto Kafka plus 100 malformed records, a recorder
killed between its database commit and its offset commit, then 1,000 ids republished: exactly 20,000 events in
the store and the timelines, 100 dead letters with reasons, nothing lost."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid

import httpx
import orjson
import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from services.adapters.databases import open_views
from services.adapters.opening import open_event_store
from services.adapters.settings import Settings
from services.application.publish import TouchlinePublisher
from services.entrypoints.app import build_app
from services.entrypoints.bootstrap import build_api_components
from services.entrypoints.loops.pipeline import build_projection_engine, build_recorder_loop
from tests.support.crashing_recorder import CRASH_EXIT_CODE
from tests.support.pipeline import (
    BEARER,
    BOTH_KAFKA_CLIENTS,
    pipeline_settings,
    read_topic,
    serve,
    settings_env,
    stored_ids,
    touchpoint,
    wait_for,
)

pytestmark = pytest.mark.integration
N = 10_000


def malformed_records() -> list[bytes | None]:
    """100 records a direct publisher might get wrong, each for a different reason class."""
    good = touchpoint(0, "web")
    bad: list[bytes | None] = []
    for i in range(100):
        match i % 6:
            case 0:
                bad.append(b"{not json" + str(i).encode())
            case 1:
                sourceless = {k: v for k, v in good.items() if k != "source"}
                bad.append(orjson.dumps(sourceless | {"event_id": str(uuid.uuid4())}))
            case 2:
                bad.append(orjson.dumps(good | {"event_id": str(uuid.uuid4()), "occurred_at": "2026-11-02T09:00:00"}))
            case 3:
                bad.append(orjson.dumps(good | {"event_id": str(uuid.uuid4()), "event_type": "call.teleported"}))
            case 4:
                bad.append(orjson.dumps(good | {"event_id": f"not-a-uuid-{i}"}))
            case _:
                bad.append(None)
    return bad


def kafka_committed(settings: Settings, partitions: int) -> dict[int, int]:
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, group_id=settings.recorder_group,
                             enable_auto_commit=False)
    committed = {p: consumer.committed(TopicPartition(settings.events_topic, p)) or 0 for p in range(partitions)}
    consumer.close()
    return committed


@BOTH_KAFKA_CLIENTS
@pytest.mark.parametrize("kafka_topic", [6], indirect=True)
def test_nothing_lost_nothing_duplicated(kafka_bootstrap: str, postgres_url: str, pg_schema: str,
                                         kafka_topic: str, kafka_client: str) -> None:
    settings = pipeline_settings(kafka_bootstrap, postgres_url, pg_schema, kafka_topic, kafka_client=kafka_client)
    store = open_event_store(settings)  # sealing, as the API's and the crashing recorder's stores
    api = build_api_components(settings)
    http_events = [touchpoint(i, "hotline") for i in range(N)]
    kafka_events = [touchpoint(i, "web") for i in range(N)]

    with serve(build_app(api)) as base, httpx.Client(base_url=base, timeout=60) as client:
        # 1. the first half over HTTP, in batches of 1,000
        for start in range(0, N, 1000):
            response = client.post("/v1/events", json=http_events[start:start + 1000], headers=BEARER["hotline"])
            assert response.status_code == 202, response.text
            assert response.json()["accepted"] == 1000

        # 2. a recorder that dies after its third database commit, before committing Kafka offsets
        crashing = subprocess.Popen(
            [sys.executable, "-m", "tests.support.crashing_recorder", "3"],
            env=os.environ | settings_env(settings), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        # 3. meanwhile the other half straight onto Kafka, and 100 malformed records
        with TouchlinePublisher(kafka_bootstrap, kafka_topic, client=settings.kafka_client) as publisher:
            publisher.publish(kafka_events)
        raw = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
        for value in malformed_records():
            raw.send(kafka_topic, key=b"bad", value=value)
        raw.flush()
        raw.close()
        output, _ = crashing.communicate(timeout=120)
        assert crashing.returncode == CRASH_EXIT_CODE, output.decode()
        recorded_before_restart = len(stored_ids(store))
        assert 0 < recorded_before_restart < 2 * N
        tracked = {p: store.tracked(f"{kafka_topic}:{p}") for p in range(6)}
        committed = kafka_committed(settings, 6)
        behind = [p for p, t in tracked.items() if t is not None and committed[p] <= t]
        assert behind, f"the kill must leave Kafka offsets behind the store: tracked={tracked} committed={committed}"

        # 4. restart the recorder; republish 1,000 already-sent ids (500 over HTTP, 500 onto Kafka)
        stop = threading.Event()
        loop = build_recorder_loop(settings, store)
        thread = threading.Thread(target=loop.run, args=(stop,), daemon=True)
        thread.start()
        response = client.post("/v1/events", json=http_events[:500], headers=BEARER["hotline"])
        assert response.status_code == 202 and response.json()["accepted"] == 500
        with TouchlinePublisher(kafka_bootstrap, kafka_topic, client=settings.kafka_client) as publisher:
            publisher.publish(kafka_events[-500:])
        # The API accepts a resend of an already stored event without publishing it again, so at least the 500
        # republished onto Kafka reach the recorder as duplicates (plus any HTTP resend not yet stored then).
        wait_for(lambda: loop.totals.duplicates >= 500 and len(stored_ids(store)) >= 2 * N,
                 180, "recorder did not catch up")
        stop.set()
        thread.join(timeout=30)

    ids = stored_ids(store)
    sent = {uuid.UUID(e["event_id"]) for e in http_events + kafka_events}
    assert len(ids) == 2 * N, "exactly 20,000 events in the store"
    assert set(ids) == sent, "0 lost and no stranger"

    views = open_views(settings)
    engine = build_projection_engine(settings, store, views)
    engine.catch_up()
    timeline = engine.projections[0]
    assert timeline.count_entries() == 2 * N  # type: ignore[attr-defined]
    assert timeline.count_unattributed() == 0  # type: ignore[attr-defined]

    letters = read_topic(kafka_bootstrap, settings.dlq_topic)
    assert len(letters) == 100
    positions = {(dict(r.headers)["source-partition"], dict(r.headers)["source-offset"]) for r in letters}
    assert len(positions) == 100
    assert all(dict(r.headers)["dlq-reason"] for r in letters)
    reasons = b" ".join(dict(r.headers)["dlq-reason"] for r in letters)
    for expected in (b"source", b"occurred_at", b"event_type", b"event_id"):
        assert expected in reasons
    api.close()
    views.dispose()
    store.close()
