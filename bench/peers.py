"""Peers, side by side in one run on the same generated events: what a plain application and eventsourcing's
default application do with them, next to touchline's live pipeline and its rebuild.

    make bench                                   # N=20000, SQLite, and Postgres if reachable
    python -m bench.peers --events 20000 --database-url postgresql://postgres@127.0.0.1:5432/test
    python -m bench.peers --client confluent

The N events (touchpoints of 2,000 customers, as bench/pipeline.py makes them) are published once to a topic of
6 partitions; each consumer below reads all of them from the beginning with the Kafka client library chosen by
`--client` (kafka-python by default, or confluent: librdkafka):

- raw consume: the client library alone (the ceiling of every consumer here);
- plain app: consume → pydantic (`contracts.parse`) → one row per event, the driver's executemany, one
  transaction per poll (no idempotence, no log, no sealing, one table);
- plain app, seven read models: the same, writing what any seven read models must at the least (`PlainModels`:
  the row per event, and six models folding each event into one row per key, upserted per poll): the floor under
  touchline's seven projections, with none of their rules;
- eventsourcing app: consume → pydantic → one aggregate per event saved by an eventsourcing `Application` with its
  default settings, i.e. one transaction per event (eventsourcing.sqlite / eventsourcing.postgres);
- touchline live: the same events drained from a backlog by the recorder and projector processes (consume →
  validate → seal → record → every projection), timed from the first to the last visible in the timeline;
- plain rebuild, seven read models: `PlainModels` from zero from the event store holding the same events (raw
  rows, orjson, no validation), next to a raw read of that store;
- touchline rebuild: every projection rebuilt from zero from that store.

Ratios: consumers to the raw consume, the rebuild to the raw read. The machine is shared: compare ratios.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any, cast

import orjson
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from sqlalchemy import Column, Connection, Engine, Integer, MetaData, String, Table, create_engine, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

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
from services.adapters.collector import fewer_collections
from services.adapters.databases import projection_stores
from services.adapters.kafka.backend import ensure_kafka_topics
from services.adapters.settings import KafkaClient, Settings
from services.adapters.store.eventstore import EventStore, environment_for
from services.application.replay import rebuild_target, replay
from tests.support.pipeline import touchpoint


def plain_app(bootstrap: str, topic: str, n: int, engine: Engine, client: KafkaClient, models: int = 1) -> float:
    """Seconds the plain application takes to consume, validate and write the `n` events into `models` read
    models (1: the timeline table alone; 7: PlainModels)."""
    plain = PlainModels(engine, models)
    started = time.perf_counter()
    for values in consumed(bootstrap, topic, n, client):
        rows = [_row(parse(value)) for value in values]
        with engine.begin() as conn:
            plain.upsert(conn, rows)
    elapsed = time.perf_counter() - started
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(plain.timeline)).scalar_one() == n
    return elapsed


class PlainModels:
    """The least any seven read models can do with an event, the floor under touchline's seven projections: a
    timeline row per event, and six models that each fold the event into one row per key (latest time and type,
    a count: cases, SLA, customers and contacts by customer, SERVQUAL by department, a scorecard by department
    and day), kept in dicts and written with the driver's executemany, one per model and batch. No identity, no
    rules, no checksums."""

    KEYED = {"cases": ("phone",), "sla": ("phone",), "customers": ("phone",), "contacts": ("phone",),
             "servqual": ("department",), "scorecard": ("department", "day")}

    def __init__(self, engine: Engine, models: int = 7) -> None:
        self.engine = engine
        self.metadata = MetaData()
        self.timeline = Table("plain_timeline", self.metadata, *_touchpoint_columns())
        self.keyed = {name: Table(f"plain_{name}", self.metadata, Column("k", String(80), primary_key=True),
                                  Column("at", String(40)), Column("event_type", String(64)), Column("n", Integer))
                      for name in list(self.KEYED)[:models - 1]}
        self.folds: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in self.keyed}
        self.metadata.create_all(engine)

    def fold(self, rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
        """Fold a batch of touchpoint rows into the keyed models; the rows each model changed."""
        changed: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in self.keyed}
        for row in rows if self.folds else ():
            row["day"] = row["occurred_at"][:10]
            for name, fold in self.folds.items():
                key = "/".join(str(row[part]) for part in self.KEYED[name])
                old = fold.get(key)
                fold[key] = changed[name][key] = {"k": key, "at": row["occurred_at"], "event_type": row["event_type"],
                                                  "n": old["n"] + 1 if old else 1}
            del row["day"]
        return {name: list(rows_of.values()) for name, rows_of in changed.items()}

    def upsert(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        """Live: the batch's timeline rows inserted, each changed keyed row upserted."""
        _executemany(conn, self.timeline.insert(), rows)
        insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        for name, changed in self.fold(rows).items():
            if changed:
                statement = insert(self.keyed[name])
                _executemany(conn, statement.on_conflict_do_update(
                    index_elements=["k"], set_={c: statement.excluded[c] for c in ("at", "event_type", "n")}),
                    changed)

    def rebuild(self, store: EventStore, batch: int = 10_000) -> int:
        """From zero: the store's raw rows decoded with orjson (trusted, no validation), the timeline written per
        batch, the keyed models once at the end, the garbage collector held back as touchline's rebuilds hold it
        (`fewer_collections`); the events rebuilt."""
        after = 0
        with fewer_collections(), self.engine.begin() as conn:
            while entries := store.read_raw(after, batch):
                after = entries[-1].position
                rows = [_wire_row(orjson.loads(entry.state)) for entry in entries]
                _executemany(conn, self.timeline.insert(), rows)
                self.fold(rows)
            for name, fold in self.folds.items():
                _executemany(conn, self.keyed[name].insert(), list(fold.values()))
            return conn.execute(select(func.count()).select_from(self.timeline)).scalar_one()


def _executemany(conn: Connection, statement: ClauseElement, rows: list[dict[str, Any]]) -> None:
    """The database driver's own executemany of `statement` compiled once (SQLAlchemy's per-row work skipped)."""
    compiled = cast(SQLCompiler, statement.compile(dialect=conn.dialect))
    if compiled.positiontup is None:
        conn.exec_driver_sql(str(compiled), rows)  # a list of mappings: executemany
        return
    names = compiled.positiontup
    conn.exec_driver_sql(str(compiled), [tuple(row[name] for name in names) for row in rows])


def _touchpoint_columns() -> list[Column[Any]]:
    return [Column("event_id", String(36), primary_key=True), Column("event_type", String(64)),
            Column("occurred_at", String(40)), Column("department", String(64)), Column("channel", String(16)),
            Column("phone", String(64)), Column("summary", String(400))]


def _wire_row(data: dict[str, Any]) -> dict[str, Any]:
    """A touchpoint row from the stored wire data, with the event type as its summary (no contract model to
    summarise with)."""
    source = data["source"]
    return {"event_id": data["event_id"], "event_type": data["event_type"], "occurred_at": data["occurred_at"],
            "department": source["department"], "channel": source["channel"],
            "phone": (data.get("customer") or {}).get("phone"), "summary": data["event_type"]}


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
                      events: list[dict[str, Any]], plain_into: Engine) -> tuple[float, float, float]:
    """(raw read, PlainModels' rebuild into `plain_into`, rebuild of every projection) in events per second over
    a store holding `events`."""
    store = EventStore(store_url, schema=schema)
    parsed = [parse(e) for e in events]
    for start in range(0, len(parsed), 1000):
        store.append(parsed[start:start + 1000])
    timed_read(store, 10_000, decode=False)  # the first read also warms the database's cache
    seen, raw_s = timed_read(store, 10_000, decode=False)
    plain = PlainModels(plain_into)
    started = time.perf_counter()
    assert plain.rebuild(store) == len(events)
    plain_s = time.perf_counter() - started
    views = rebuild_target(into, into_schema)
    targets = projection_stores(views)
    started = time.perf_counter()
    replay(store, targets)  # type: ignore[arg-type]  # every projection store has a checksum
    rebuild_s = time.perf_counter() - started
    views.dispose()
    store.close()
    return seen / raw_s, len(events) / plain_s, len(events) / rebuild_s


def compare(bootstrap: str, url: str, n: int, client: KafkaClient, projectors: int = 1) -> None:
    events = [touchpoint(i, "hotline", customers=2000) for i in range(n)]
    sqlite = url.startswith("sqlite")
    name = "sqlite" if sqlite else "postgres"
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        schemas = [f"bench_peers_{uuid.uuid4().hex[:8]}" for _ in range(6)] if not sqlite else [""] * 6
        for schema in schemas:
            stack.enter_context(_schema(url, schema))

        def engine(file: str, schema: str) -> Engine:
            made = create_engine(f"sqlite:///{tmp}/{file}") if sqlite else rebuild_target(url, schema)
            stack.callback(made.dispose)
            return made

        topic = f"peers-{uuid.uuid4().hex[:8]}"
        ensure_kafka_topics(Settings(env="test", kafka_bootstrap_servers=bootstrap, events_topic=topic,
                                     dlq_topic=f"{topic}-dlq", events_topic_partitions=PARTITIONS))
        publish(Settings(env="test", kafka_bootstrap_servers=bootstrap, events_topic=topic, kafka_client=client),
                events)
        raw = n / raw_consume(bootstrap, topic, n, client)
        plain = n / plain_app(bootstrap, topic, n, engine("plain.db", schemas[0]), client)
        plain7 = n / plain_app(bootstrap, topic, n, engine("plain7.db", schemas[4]), client, models=7)
        es_env = environment_for(f"sqlite:///{tmp}/es.db" if sqlite else url, schemas[1] or None)
        es = n / eventsourcing_app(bootstrap, topic, n, es_env, client)
        live = touchline_live(bootstrap, url.replace("TMP", tmp), schemas[2], Path(tmp), events, client, projectors)
        store_url = f"sqlite:///{tmp}/store.db" if sqlite else url
        into = f"sqlite:///{tmp}/views.db" if sqlite else url
        raw_read, plain_rebuilt, rebuilt = touchline_rebuild(store_url, schemas[3] or None, into, schemas[3] or None,
                                                             events, engine("plain_views.db", schemas[5]))
    print(f"[{name}] {n} events, {PARTITIONS} partitions, client {client}")
    print(f"[{name}] {'raw ' + client + ' consume':<36}{raw:>9,.0f} events/s  1.00")
    for label, rate in (("plain app (pydantic, executemany)", plain), ("plain app, seven read models", plain7),
                        ("eventsourcing app, 1 tx/event", es), ("touchline live (all projections)", live)):
        print(f"[{name}] {label:<36}{rate:>9,.0f} events/s  {rate / raw:.2f} of raw consume")
    print(f"[{name}] {'raw read of touchline' + chr(39) + 's store':<36}{raw_read:>9,.0f} events/s  1.00")
    for label, rate in (("plain rebuild, seven read models", plain_rebuilt),
                        ("touchline rebuild, all projections", rebuilt)):
        print(f"[{name}] {label:<36}{rate:>9,.0f} events/s  {rate / raw_read:.3f} of raw read")


def main() -> None:
    events, urls, client, projectors = options(__doc__)
    with broker() as bootstrap:
        for url in urls:
            compare(bootstrap, url, events, client, projectors)


if __name__ == "__main__":
    main()
