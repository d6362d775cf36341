"""Hostile records on the real events topic: the recorder dead-letters touchline's own event types (defect 1),
implausible instants and integers (defect 2) and event-id conflicts (defect 3) onto the real DLQ, records the
rest, and keeps an identical resend idempotent."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import orjson
import pytest
from kafka import KafkaProducer

from contracts import CallbackPromised, SlaAlertAcknowledged, SlaPolicyPublished
from services.adapters.kafka.backend import ensure_kafka_topics
from services.adapters.opening import open_event_store
from services.entrypoints.loops.pipeline import build_recorder_loop
from tests.support.pipeline import BOTH_KAFKA_CLIENTS, pipeline_settings, read_topic, stored_ids, touchpoint, wait_for

pytestmark = pytest.mark.integration


def internal_forgeries() -> list[dict[str, Any]]:
    ack = SlaAlertAcknowledged.example_data() | {"event_id": str(uuid.uuid4())}
    policy = SlaPolicyPublished.example_data() | {"event_id": str(uuid.uuid4())}
    policy["payload"]["version"] = 900_000
    return [ack, policy]


def implausible() -> list[dict[str, Any]]:
    promise = CallbackPromised.example_data() | {"event_id": str(uuid.uuid4())}
    promise["payload"]["due_at"] = "9999-12-31T23:59-12:00"
    opened = touchpoint(1, "hotline") | {"occurred_at": "9999-12-31T23:59-12:00"}
    huge = touchpoint(2, "hotline")
    huge["payload"]["wait_seconds"] = 2**63
    return [promise, opened, huge]


@BOTH_KAFKA_CLIENTS
@pytest.mark.parametrize("kafka_topic", [1], indirect=True)
def test_forged_implausible_and_conflicting_records_are_dead_lettered(
        kafka_bootstrap: str, postgres_url: str, pg_schema: str, kafka_topic: str, kafka_client: str) -> None:
    settings = pipeline_settings(kafka_bootstrap, postgres_url, pg_schema, kafka_topic, kafka_client=kafka_client)
    ensure_kafka_topics(settings)
    original = touchpoint(10, "hotline")
    altered = original | {"occurred_at": "2026-11-02T10:00:00+00:00"}
    later = touchpoint(11, "hotline")
    first_batch = [*internal_forgeries(), *implausible(), original, dict(original), altered]
    second_batch = [dict(original), altered | {"source": {"department": "web", "channel": "web"}}, later]
    store = open_event_store(settings)  # sealing on, as in production: contents compare opened, not sealed
    loop, stop = build_recorder_loop(settings, store), threading.Event()
    thread = threading.Thread(target=loop.run, args=(stop,), daemon=True)
    thread.start()
    try:
        publish(kafka_bootstrap, kafka_topic, first_batch)
        wait_for(lambda: loop.totals.next_offsets.get((kafka_topic, 0), 0) >= len(first_batch), 30, "first batch")
        publish(kafka_bootstrap, kafka_topic, second_batch)
        wait_for(lambda: loop.totals.next_offsets.get((kafka_topic, 0), 0) >= 10, 30, "second batch")
    finally:
        stop.set()
        thread.join(timeout=30)
        store_ids = stored_ids(store)
        store.close()

    assert sorted(map(str, store_ids)) == sorted([original["event_id"], later["event_id"]])
    letters = {int(dict(r.headers)["source-offset"]): dict(r.headers)["dlq-reason"].decode()
               for r in read_topic(kafka_bootstrap, settings.dlq_topic)}
    assert letters[0] == letters[1] == "internal event type"
    assert letters[2].startswith("payload.due_at") and "1970-01-01T00:00Z" in letters[2]
    assert letters[3].startswith("occurred_at")
    assert letters[4].startswith("payload.wait_seconds")
    assert letters[7] == "event_id conflict"  # same id, different payload, in one batch
    assert letters[9] == "event_id conflict"  # same id, different payload, already recorded
    assert sorted(letters) == [0, 1, 2, 3, 4, 7, 9]  # identical resends (6, 8) are no letters


def publish(bootstrap: str, topic: str, events: list[dict[str, Any]]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    for event in events:
        producer.send(topic, orjson.dumps(event))
    producer.flush()
    producer.close()

