"""Peers, side by side in one run on the same generated events: what a plain application and eventsourcing's
default application do with them, next to touchline's live pipeline and its rebuild.

    make bench                                   # N=20000, SQLite, and Postgres if reachable
    python -m bench.peers --events 20000 --database-url postgresql://postgres@127.0.0.1:5432/test
    python -m bench.peers --client confluent

The N events (touchpoints of 2,000 customers, as bench/pipeline.py makes them) are published once to a topic of
6 partitions; each consumer below reads all of them from the beginning with the Kafka client library chosen by
`--client` (kafka-python by default, or confluent: librdkafka):

- raw consume: the client library alone (the ceiling of every consumer here);
- plain app: consume → pydantic (`contracts.parse`) → one row per event, SQLAlchemy Core executemany, one
  transaction per poll (no idempotence, no log, no sealing, one table);
- eventsourcing app: consume → pydantic → one aggregate per event saved by an eventsourcing `Application` with its
  default settings, i.e. one transaction per event (eventsourcing.sqlite / eventsourcing.postgres);
- touchline live: the same events drained from a backlog by the recorder and projector processes (consume →
  validate → seal → record → every projection), timed from the first to the last visible in the timeline;
- touchline rebuild: every projection rebuilt from zero from the event store holding the same events, next to a
  raw read of that store.

Ratios: consumers to the raw consume, the rebuild to the raw read. The machine is shared: compare ratios.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from sqlalchemy import Column, Engine, MetaData, String, Table, create_engine, text

from bench.pipeline import (
    PARTITIONS,
    _schema,
    bench_settings,
    broker,
    consumed,
    options,
    pipeline,
    publish,
    raw_consume,
)
from bench.rebuild import timed_read
from contracts import Envelope, parse
from services.adapters.databases import projection_stores
from services.adapters.kafka.backend import ensure_kafka_topics
from services.adapters.settings import KafkaClient, Settings
from services.adapters.store.eventstore import EventStore, environment_for
from services.application.replay import rebuild_target, replay
from tests.support.pipeline import touchpoint

METADATA = MetaData()
TOUCHPOINTS = Table("plain_touchpoints", METADATA,
                    Column("event_id", String(36), primary_key=True), Column("event_type", String(64)),
                    Column("occurred_at", String(40)), Column("department", String(64)), Column("channel", String(16)),
                    Column("phone", String(64)), Column("summary", String(400)))


def plain_app(bootstrap: str, topic: str, n: int, engine: Engine, client: KafkaClient) -> float:
    """Seconds the plain application takes to consume, validate and insert the `n` events."""
    METADATA.create_all(engine)
    started = time.perf_counter()
    for values in consumed(bootstrap, topic, n, client):
        rows = [_row(parse(value)) for value in values]
        with engine.begin() as conn:
            conn.execute(TOUCHPOINTS.insert(), rows)
    elapsed = time.perf_counter() - started
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from plain_touchpoints")).scalar_one() == n
    return elapsed


def _row(e: Envelope) -> dict[str, Any]:
    return {"event_id": str(e.event_id), "event_type": e.event_type, "occurred_at": e.occurred_at.isoformat(),
            "department": e.source.department, "channel": e.source.channel.value, "phone": e.customer.phone,
            "summary": e.summary()}


class Touchpoint(Aggregate):
    """One touchpoint as an eventsourcing aggregate (created, never changed)."""

    @event("Recorded")
    def __init__(self, event_type: str, occurred_at: str, department: str, channel: str, phone: str | None,
                 summary: str) -> None:
        self.event_type, self.occurred_at, self.department = event_type, occurred_at, department
        self.channel, self.phone, self.summary = channel, phone, summary


class Touchpoints(Application):
    """eventsourcing's default application: `save` per command, one transaction each."""

    def record(self, e: Envelope) -> None:
        row = _row(e)
        del row["event_id"]
        self.save(Touchpoint(**row))


def eventsourcing_app(bootstrap: str, topic: str, n: int, env: dict[str, str], client: KafkaClient) -> float:
    """Seconds eventsourcing's default application takes to consume, validate and save the `n` events."""
    app = Touchpoints(env=env)
    started = time.perf_counter()
    for values in consumed(bootstrap, topic, n, client):
        for value in values:
            app.record(parse(value))
    elapsed = time.perf_counter() - started
    assert app.recorder.max_notification_id() == n
    app.close()
    return elapsed


def touchline_live(bootstrap: str, url: str, schema: str, tmp: Path, events: list[dict[str, Any]],
                   client: KafkaClient, projectors: int = 1) -> float:
    """Events per second touchline's recorder and projector(s) drain a backlog of `events` at, until every
    projection applied the last (bench/pipeline.py)."""
    topic = f"peers-{uuid.uuid4().hex[:8]}"
    settings = bench_settings(bootstrap, url, schema, tmp, topic, client)
    ensure_kafka_topics(settings)
    drained, _, everywhere = pipeline(settings, [dict(e) for e in events], backlog=True, projectors=projectors)
    return drained / everywhere


def touchline_rebuild(store_url: str, schema: str | None, into: str, into_schema: str | None,
                      events: list[dict[str, Any]]) -> tuple[float, float]:
    """(raw read, rebuild of every projection) in events per second over a store holding `events`."""
    store = EventStore(store_url, schema=schema)
    parsed = [parse(e) for e in events]
    for start in range(0, len(parsed), 1000):
        store.append(parsed[start:start + 1000])
    seen, raw_s = timed_read(store, 10_000, decode=False)
    views = rebuild_target(into, into_schema)
    targets = projection_stores(views)
    started = time.perf_counter()
    replay(store, targets)  # type: ignore[arg-type]  # every projection store has a checksum
    rebuild_s = time.perf_counter() - started
    views.dispose()
    store.close()
    return seen / raw_s, len(events) / rebuild_s


def compare(bootstrap: str, url: str, n: int, client: KafkaClient, projectors: int = 1) -> None:
    events = [touchpoint(i, "hotline", customers=2000) for i in range(n)]
    sqlite = url.startswith("sqlite")
    name = "sqlite" if sqlite else "postgres"
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        schemas = [f"bench_peers_{uuid.uuid4().hex[:8]}" for _ in range(4)] if not sqlite else [""] * 4
        for schema in schemas:
            stack.enter_context(_schema(url, schema))
        topic = f"peers-{uuid.uuid4().hex[:8]}"
        ensure_kafka_topics(Settings(env="test", kafka_bootstrap_servers=bootstrap, events_topic=topic,
                                     dlq_topic=f"{topic}-dlq", events_topic_partitions=PARTITIONS))
        publish(Settings(env="test", kafka_bootstrap_servers=bootstrap, events_topic=topic, kafka_client=client),
                events)
        raw = n / raw_consume(bootstrap, topic, n, client)
        plain_engine = create_engine(f"sqlite:///{tmp}/plain.db") if sqlite else rebuild_target(url, schemas[0])
        plain = n / plain_app(bootstrap, topic, n, plain_engine, client)
        plain_engine.dispose()
        es_env = environment_for(f"sqlite:///{tmp}/es.db" if sqlite else url, schemas[1] or None)
        es = n / eventsourcing_app(bootstrap, topic, n, es_env, client)
        live = touchline_live(bootstrap, url.replace("TMP", tmp), schemas[2], Path(tmp), events, client, projectors)
        store_url = f"sqlite:///{tmp}/store.db" if sqlite else url
        into = f"sqlite:///{tmp}/views.db" if sqlite else url
        raw_read, rebuilt = touchline_rebuild(store_url, schemas[3] or None, into, schemas[3] or None, events)
    print(f"[{name}] {n} events, {PARTITIONS} partitions, client {client}")
    print(f"[{name}] {'raw ' + client + ' consume':<33}{raw:>9,.0f} events/s  1.00")
    for label, rate in (("plain app (pydantic, executemany)", plain), ("eventsourcing app, 1 tx/event", es),
                        ("touchline live (all projections)", live)):
        print(f"[{name}] {label:<33}{rate:>9,.0f} events/s  {rate / raw:.2f} of raw consume")
    print(f"[{name}] raw read of touchline's store   {raw_read:>9,.0f} events/s  1.00")
    print(f"[{name}] touchline rebuild, all projections{rebuilt:>7,.0f} events/s  {rebuilt / raw_read:.3f} of raw "
          "read")


def main() -> None:
    events, urls, client, projectors = options(__doc__)
    with broker() as bootstrap:
        for url in urls:
            compare(bootstrap, url, events, client, projectors)


if __name__ == "__main__":
    main()
