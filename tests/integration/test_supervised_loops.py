"""Supervised loops on the real broker and database: a failed dead-letter publish recreates the producer and
recording goes on; a loop that keeps failing is dead, and readiness says so (503)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from kafka import KafkaProducer
from prometheus_client import REGISTRY

from services.adapters.kafka import producer as kafka_producer
from services.adapters.kafka.backend import ensure_kafka_topics
from services.adapters.opening import open_event_store
from services.adapters.settings import Settings
from services.adapters.supervision import Backoff, Liveness
from services.entrypoints.app import build_app
from services.entrypoints.bootstrap import build_api_components
from services.entrypoints.loops.pipeline import build_recorder_loop
from tests.support.pipeline import pipeline_settings, read_topic, serve, stored_ids, touchpoint, wait_for

pytestmark = pytest.mark.integration
FAST = Backoff(initial_s=0.05, cap_s=0.2, max_failures=4)


def closing_producers(monkeypatch: pytest.MonkeyPatch, how_many: int | None) -> list[Any]:
    """The first `how_many` producers the recorder creates (all when None) are closed before use: every send
    fails as a wedged producer's does (IllegalStateError from kafka-python)."""
    made: list[Any] = []
    real = kafka_producer.make_producer

    def producer(bootstrap_servers: str, **overrides: Any) -> Any:
        created = real(bootstrap_servers, **overrides)
        if how_many is None or len(made) < how_many:
            created.close()
        made.append(created)
        return created

    monkeypatch.setattr(kafka_producer, "make_producer", producer)
    return made


def publish_raw(settings: Settings, values: list[bytes]) -> None:
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all")
    for value in values:
        producer.send(settings.events_topic, key=b"k", value=value)
    producer.flush()
    producer.close()


@pytest.fixture
def settings(kafka_bootstrap: str, postgres_url: str, pg_schema: str, kafka_topic: str) -> Iterator[Settings]:
    settings = pipeline_settings(kafka_bootstrap, postgres_url, pg_schema, kafka_topic)
    ensure_kafka_topics(settings)
    yield settings


def restarts(loop: str) -> float:
    return REGISTRY.get_sample_value("touchline_loop_restarts_total", {"loop": loop}) or 0.0


def test_a_failed_dead_letter_publish_recreates_the_producer_and_recording_goes_on(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    made = closing_producers(monkeypatch, how_many=1)
    store = open_event_store(settings)
    valid = [touchpoint(i, "web") for i in range(10)]
    publish_raw(settings, [orjson.dumps(e) for e in valid[:5]] + [b"not an event"] +
                [orjson.dumps(e) for e in valid[5:]])
    liveness, stop = Liveness(FAST), threading.Event()
    before = restarts("recorder")
    loop = build_recorder_loop(settings, store)
    thread = threading.Thread(target=loop.run, args=(stop, liveness))
    thread.start()
    try:
        wait_for(lambda: len(stored_ids(store)) == 10, 60, "recording went on after the failed dead letter")
    finally:
        stop.set()
        thread.join(timeout=30)
    assert sorted(stored_ids(store)) == sorted(uuid.UUID(e["event_id"]) for e in valid)
    assert [r.value for r in read_topic(settings.kafka_bootstrap_servers, settings.dlq_topic)] == [b"not an event"]
    assert len(made) >= 2, "a new dead-letter producer replaced the failed one"
    assert restarts("recorder") >= before + 1
    assert not liveness.dead()
    store.close()


def test_a_recorder_that_keeps_failing_is_dead_and_the_api_is_not_ready(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    api = build_api_components(settings)  # its own producer is made before the failing ones
    closing_producers(monkeypatch, how_many=None)
    store = open_event_store(settings)
    publish_raw(settings, [b"not an event"])
    liveness, stop = Liveness(FAST), threading.Event()
    api.liveness = liveness
    loop = build_recorder_loop(settings, store)
    liveness.register("recorder", ready=lambda: loop.assigned)
    thread = threading.Thread(target=loop.run, args=(stop, liveness))
    thread.start()
    try:
        assert liveness.died.wait(60), "the recorder died after max_failures failures in a row"
        thread.join(timeout=30)
        assert not thread.is_alive()
        with serve(build_app(api)) as base:
            response = httpx.get(f"{base}/readyz", timeout=30)
        assert response.status_code == 503
        assert response.json()["checks"]["recorder"].startswith("dead: PublishFailed")
    finally:
        stop.set()
        thread.join(timeout=30)
        api.close()
        store.close()


def test_the_chainer_recreates_a_failed_checkpoint_producer(
        settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    from services.entrypoints.loops.chainer import build_chainer

    made: list[Any] = []
    real = kafka_producer.make_producer

    def first_one_closed(bootstrap_servers: str, **overrides: Any) -> Any:
        created = real(bootstrap_servers, **overrides)
        if not made:
            created.close()
        made.append(created)
        return created

    monkeypatch.setattr(kafka_producer, "make_producer", first_one_closed)
    settings = settings.model_copy(update={"data_dir": tmp_path, "audit_topic": f"{settings.events_topic}-audit",
                                           "audit_checkpoint_events": 1})
    store = open_event_store(settings)
    store.append([bootstrap_event(i) for i in range(3)])
    process = build_chainer(settings, store)
    liveness, stop = Liveness(FAST), threading.Event()
    before = restarts("chainer")
    thread = threading.Thread(target=process.run, args=(stop, liveness))
    thread.start()
    try:
        wait_for(lambda: published(settings), 60, "a checkpoint published through a new producer")
    finally:
        stop.set()
        thread.join(timeout=30)
        process.close()
        store.close()
    assert len(made) >= 2 and restarts("chainer") >= before + 1
    assert not liveness.dead()


def bootstrap_event(i: int) -> Any:
    from contracts import parse

    return parse(orjson.dumps(touchpoint(i, "web")))


def published(settings: Settings) -> bool:
    try:
        return bool(read_topic(settings.kafka_bootstrap_servers, settings.audit_topic, idle_s=0.5))
    except ValueError:  # the topic has no partitions yet
        return False
