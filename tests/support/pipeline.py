"""Helpers for tests that run the real pipeline: settings per test, an HTTP server thread, log readers."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from kafka import KafkaConsumer, TopicPartition

from contracts import CallReceived, FrontdeskVisitCheckedIn, WebRequestSubmitted
from services.adapters.databases import open_views
from services.adapters.kafka.backend import ensure_kafka_topics
from services.adapters.opening import open_event_store
from services.adapters.settings import Settings
from services.adapters.store.eventstore import EventStore
from services.entrypoints.app import build_app
from services.entrypoints.bootstrap import ApiComponents, build_api_components
from services.entrypoints.loops.pipeline import start_pipeline

TOKENS = ("hotline=hotline-test-token-0001,web=web-test-token-00002,frontdesk=frontdesk-token-0003,"
          "ops=ops-token-000004,auditor=auditor-token-000005")
BEARER = {name: {"Authorization": f"Bearer {token}"} for name, token in
          (item.split("=") for item in TOKENS.split(","))}
BASE_TIME = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
TEMPLATES = {"hotline": (CallReceived, "phone"), "web": (WebRequestSubmitted, "web"),
             "frontdesk": (FrontdeskVisitCheckedIn, "front_desk")}


BOTH_KAFKA_CLIENTS = pytest.mark.parametrize("kafka_client", ["kafka-python", "confluent"])
"""Run a test once per Kafka client library (the `kafka_client` fixture; pass it on to `pipeline_settings`)."""


def pipeline_settings(kafka: str, database_url: str, schema: str, topic: str, **extra: Any) -> Settings:
    """Settings isolating one test: its own schema, topics and consumer group."""
    values: dict[str, Any] = {
        "env": "test", "database_url": database_url, "db_schema": schema, "kafka_bootstrap_servers": kafka,
        "events_topic": topic, "dlq_topic": f"{topic}-dlq", "recorder_group": f"{topic}-recorder",
        "kafka_session_timeout_ms": 6000, "bootstrap_tokens": TOKENS, "recorder_max_poll_records": 500,
    }
    return Settings(**(values | extra))


def settings_env(settings: Settings) -> dict[str, str]:
    """The same settings as environment variables, for a child process."""
    return {
        "TOUCHLINE_ENV": settings.env, "DATABASE_URL": settings.database_url,
        "TOUCHLINE_DB_SCHEMA": settings.db_schema, "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "TOUCHLINE_EVENTS_TOPIC": settings.events_topic, "TOUCHLINE_DLQ_TOPIC": settings.dlq_topic,
        "TOUCHLINE_RECORDER_GROUP": settings.recorder_group,
        "TOUCHLINE_KAFKA_SESSION_TIMEOUT_MS": str(settings.kafka_session_timeout_ms),
        "TOUCHLINE_RECORDER_MAX_POLL_RECORDS": str(settings.recorder_max_poll_records),
        "TOUCHLINE_KAFKA_CLIENT": settings.kafka_client,
    }


def touchpoint(i: int, department: str, *, customers: int = 1000, phone: str | None = None) -> dict[str, Any]:
    """Wire data of the i-th generated event of a department (valid, distinct id, one of `customers`)."""
    model, channel = TEMPLATES[department]
    data = model.example_data()
    data["event_id"] = str(uuid.uuid4())
    data["occurred_at"] = (BASE_TIME + timedelta(seconds=i)).isoformat()
    data["source"] = {"department": department, "channel": channel, "agent": f"agent-{i % 17}"}
    data["customer"] = {"phone": phone or f"1380013{i % customers:04d}"}
    return data


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Serve `app` with uvicorn on a free loopback port in a thread; yields the base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, 15, "uvicorn did not start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def wait_for(condition: Callable[[], object], timeout_s: float, message: str, interval_s: float = 0.05) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s: {message}")
        time.sleep(interval_s)


def stored_ids(store: EventStore) -> list[uuid.UUID]:
    """Every event id in the store's log, in log order (duplicates would show twice)."""
    ids: list[uuid.UUID] = []
    after = 0
    while rows := store.read_raw(after, 5000):
        ids.extend(r.event_id for r in rows)
        after = rows[-1].position
    return ids


def read_topic(bootstrap: str, topic: str, idle_s: float = 2.0) -> list[Any]:
    """Every record of a topic from the beginning (assign + seek, no group), until idle."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                             consumer_timeout_ms=int(idle_s * 1000))
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        consumer.assign([TopicPartition(topic, p) for p in partitions])  # ValueError: no partitions (yet)
        consumer.seek_to_beginning()
        return list(consumer)
    finally:
        consumer.close()


@dataclass
class Backbone:
    """A running API + recorder + projector for one test (see `running_backbone`)."""

    client: httpx.Client
    api: ApiComponents


@contextmanager
def running_backbone(settings: Settings) -> Iterator[Backbone]:
    """API, recorder and projector wired as `touchline run` wires them, on this test's schema and topics;
    yields once the API is ready and the recorder owns its partitions."""
    ensure_kafka_topics(settings)
    store, views = open_event_store(settings), open_views(settings)
    api = build_api_components(settings)
    stop = threading.Event()
    recorder, threads = start_pipeline(settings, store, views, stop)
    try:
        with serve(build_app(api)) as base, httpx.Client(base_url=base, timeout=30) as client:
            wait_for(lambda: client.get("/readyz").status_code == 200, 30, "backbone not ready")
            wait_for(lambda: recorder.assigned, 30, "recorder joined its consumer group")
            yield Backbone(client, api)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        api.close()
        store.close()
        views.dispose()
