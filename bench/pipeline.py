"""Pipeline throughput, measured in one run on one broker: raw consume of N events with the Kafka client library
versus touchline's publish → recorded (event store) → visible in the customer timeline.

    make bench                      # N=20000, SQLite store (embedded default) and Postgres if reachable
    python -m bench.pipeline --events 50000 --database-url postgresql://postgres@127.0.0.1:5432/test
    python -m bench.pipeline --client confluent     # every client librdkafka (TOUCHLINE_KAFKA_CLIENT=confluent)
    python -m bench.pipeline --projectors 2         # the projections shared by two projector processes

The recorder and the projector run as separate `touchline` processes, as in production; with `--projectors N`,
N projector processes share the projections (TOUCHLINE_PROJECTIONS, split by `rebuild_cost` as rebuilds split
them). Two figures each: until the last event is visible in the customer timeline, and until every projection
has applied it.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager
from pathlib import Path
from typing import get_args

import psycopg
from kafka import KafkaConsumer, TopicPartition
from psycopg import sql
from sqlalchemy import Engine, create_engine, select

from projections.registry import NAMES, sql_stores
from projections.sqlstore import projection_positions
from services.adapters.databases import open_views
from services.adapters.kafka.backend import ensure_kafka_topics
from services.adapters.opening import open_event_store
from services.adapters.settings import KafkaClient, Settings
from services.application.publish import TouchlinePublisher
from services.application.replay import costs_of, shares
from tests.support.pipeline import settings_env, touchpoint

PARTITIONS = 6
confluent_log = logging.getLogger("librdkafka")


def consumed(bootstrap: str, topic: str, expected: int, client: KafkaClient) -> Iterator[list[bytes]]:
    """The values of `topic`'s first `expected` records, batch by batch, read from the beginning (no group)."""
    if client == "confluent":
        yield from _consumed_confluent(bootstrap, topic, expected)
        return
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, max_poll_records=2000)
    consumer.assign([TopicPartition(topic, p) for p in range(PARTITIONS)])
    consumer.seek_to_beginning()
    seen = 0
    try:
        while seen < expected:
            values = [r.value for batch in consumer.poll(timeout_ms=1000).values() for r in batch]
            seen += len(values)
            if values:
                yield values
    finally:
        consumer.close()


def _consumed_confluent(bootstrap: str, topic: str, expected: int) -> Iterator[list[bytes]]:
    import confluent_kafka

    consumer = confluent_kafka.Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4().hex[:8]}",
                                         "enable.auto.commit": False, "logger": confluent_log})
    consumer.assign([confluent_kafka.TopicPartition(topic, p, confluent_kafka.OFFSET_BEGINNING)
                     for p in range(PARTITIONS)])
    seen = 0
    try:
        while seen < expected:
            first = consumer.poll(1.0)  # consume(n, timeout) alone would wait out the timeout for a short batch
            batch = [first, *consumer.consume(1999, 0)] if first is not None else []
            values = [m.value() or b"" for m in batch if m.error() is None]
            seen += len(values)
            if values:
                yield values
    finally:
        consumer.close()


def raw_consume(bootstrap: str, topic: str, expected: int, client: KafkaClient) -> float:
    """Seconds the client library takes to consume `expected` records of `topic` from the beginning."""
    started = time.perf_counter()
    for _ in consumed(bootstrap, topic, expected, client):
        pass
    return time.perf_counter() - started


def publish(settings: Settings, events: list[dict[str, object]]) -> float:
    started = time.perf_counter()
    with TouchlinePublisher(settings.kafka_bootstrap_servers, settings.events_topic,
                            client=settings.kafka_client) as publisher:
        for i in range(0, len(events), 1000):
            publisher.publish(events[i:i + 1000])
    return time.perf_counter() - started


def pipeline(settings: Settings, events: list[dict[str, object]], backlog: bool, projectors: int = 1
             ) -> tuple[float, float, float]:
    """Live (backlog=False): once a first event reached every projection, (seconds to publish, seconds from the
    first publish until all are in the timeline, and until every projection applied all). Backlog: events
    published before the processes start; (events drained, seconds from the first becoming visible in the
    timeline to the last, and to the last applied by every projection) — the recorder + projector rate alone."""
    views = open_views(settings)
    from projections.timeline.sql import SqlTimelineStore

    timeline = SqlTimelineStore(views)
    timeline.create()
    store = open_event_store(settings)
    if backlog:
        publish(settings, events)
    with closing(store), processes(settings, projectors) as procs:
        if backlog:
            while (first := timeline.count_entries()) == 0:
                check_alive(procs, settings)
                time.sleep(0.005)
            started, published = time.perf_counter(), float(len(events) - first)
        else:  # one event first, seen by every projection: the recorder owns its partitions, the projectors run
            publish(settings, [touchpoint(len(events), "hotline", customers=2000)])
            while lowest_position(views) < 1:
                check_alive(procs, settings)
                time.sleep(0.02)
            started = time.perf_counter()
            published = publish(settings, events)
        while timeline.count_entries() < len(events) + (not backlog):
            check_alive(procs, settings)
            time.sleep(0.02)
        visible = time.perf_counter() - started
        head = store.head()  # every event is recorded by now
        while lowest_position(views) < head:
            check_alive(procs, settings)
            time.sleep(0.02)
        everywhere = time.perf_counter() - started
    views.dispose()
    return published, visible, everywhere


def lowest_position(views: Engine) -> int:
    """The position every projection has reached (0 before all have written one)."""
    with views.connect() as conn:
        rows = conn.execute(select(projection_positions.c.position)).scalars().all()
    return min(rows) if len(rows) == len(NAMES) else 0


def projector_groups(projectors: int) -> list[str]:
    """The projections of each of `projectors` processes (TOUCHLINE_PROJECTIONS values), shared as rebuilds share
    them over processes (by `rebuild_cost`)."""
    costs = costs_of(sql_stores(create_engine("sqlite://")))
    return [",".join(group) for group in shares(list(NAMES), projectors, costs)]


@contextmanager
def processes(settings: Settings, projectors: int = 1) -> Iterator[list[subprocess.Popen[bytes]]]:
    """The recorder and `projectors` projector processes (sharing the projections) as separate `touchline`
    processes on `settings` (logs in its data dir), terminated on exit."""
    env = os.environ | settings_env(settings) | {"TOUCHLINE_ID_HASH_KEY": "bench-key",
                                                 "TOUCHLINE_METRICS_PORT": "0"}  # several processes: no probe port
    if settings.database_url.startswith("sqlite"):
        env |= {"TOUCHLINE_DATA_DIR": str(settings.data_dir)}
    groups = projector_groups(projectors) if projectors > 1 else [""]
    with ExitStack() as stack:
        procs = []
        for label, command, extra in [("recorder", "recorder", {}), *(
                (f"projector{i or ''}", "projector", {"TOUCHLINE_PROJECTIONS": group})
                for i, group in enumerate(groups))]:
            log = stack.enter_context((settings.data_dir / f"{label}.log").open("wb"))
            proc = subprocess.Popen([sys.executable, "-m", "services.entrypoints.cli", command], env=env | extra,
                                    stdout=log, stderr=subprocess.STDOUT)
            stack.callback(proc.wait, 30)
            stack.callback(proc.terminate)
            procs.append(proc)
        yield procs


def check_alive(procs: list[subprocess.Popen[bytes]], settings: Settings) -> None:
    """RuntimeError with the tail of every process's log when the recorder or a projector has exited."""
    if any(p.poll() is not None for p in procs):
        logs = [path.read_text()[-2000:] for path in sorted(settings.data_dir.glob("*.log"))]
        raise RuntimeError("a pipeline process died:\n" + "\n".join(logs))


def run(bootstrap: str, database_urls: list[str], n: int, client: KafkaClient, projectors: int = 1) -> None:
    events = [touchpoint(i, "hotline", customers=2000) for i in range(n)]
    print(f"touchline pipeline benchmark: {n} events, {PARTITIONS} partitions, broker {bootstrap}, client {client}, "
          f"{projectors} projector process(es): {' | '.join(projector_groups(projectors))}")
    for url in database_urls:
        for backlog in (False, True):
            measure(bootstrap, url, events, backlog, client, projectors)


def measure(bootstrap: str, url: str, events: list[dict[str, object]], backlog: bool, client: KafkaClient,
            projectors: int = 1) -> None:
    """One measurement on a fresh topic (and schema), then raw consumption of the same records."""
    n, topic = len(events), f"bench-{uuid.uuid4().hex[:8]}"
    schema = "" if url.startswith("sqlite") else f"bench_{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp, _schema(url, schema):
        settings = bench_settings(bootstrap, url.replace("TMP", tmp), schema, Path(tmp), topic, client)
        ensure_kafka_topics(settings)
        published, visible, everywhere = pipeline(settings, [dict(e) for e in events], backlog, projectors)
        raw = raw_consume(bootstrap, topic, n, client)
    store = "sqlite" if url.startswith("sqlite") else "postgres"
    raw_rate = n / raw
    print(f"[{store}] raw {client} consume of the same {n} records: {raw_rate:,.0f} events/s ({raw:.2f} s)")
    if backlog:
        ours, all_rate = published / visible, published / everywhere
        print(f"[{store}] backlog drained (consume → validate → record → timeline): {ours:,.0f} events/s "
              f"({int(published)} events in {visible:.2f} s); ratio to raw consume: {ours / raw_rate:.2f}")
    else:
        ours, all_rate = n / visible, n / everywhere
        print(f"[{store}] live publish: {n / published:,.0f} events/s; publish → recorded → timeline: "
              f"{ours:,.0f} events/s ({visible:.2f} s); ratio to raw consume: {ours / raw_rate:.2f}")
    print(f"[{store}]   ... → every projection: {all_rate:,.0f} events/s ({everywhere:.2f} s); ratio to raw "
          f"consume: {all_rate / raw_rate:.2f}")


def bench_settings(bootstrap: str, url: str, schema: str, data_dir: Path, topic: str,
                   client: KafkaClient = "kafka-python") -> Settings:
    """Settings of one measurement: its own topic (6 partitions), dead-letter topic, consumer group and
    (on Postgres) schema, on the given Kafka client library."""
    return Settings(env="test", database_url=url, db_schema=schema, data_dir=data_dir,
                    kafka_bootstrap_servers=bootstrap, events_topic=topic, dlq_topic=f"{topic}-dlq",
                    recorder_group=f"{topic}-recorder", events_topic_partitions=PARTITIONS,
                    kafka_session_timeout_ms=6000, kafka_client=client)


@contextmanager
def _schema(url: str, schema: str) -> Iterator[None]:
    """A throwaway Postgres schema (nothing for SQLite)."""
    if not schema:
        yield
        return
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("create schema {}").format(sql.Identifier(schema)))
        try:
            yield
        finally:
            conn.execute(sql.SQL("drop schema {} cascade").format(sql.Identifier(schema)))


def options(doc: str | None) -> tuple[int, list[str], KafkaClient, int]:
    """--events, the event stores to measure (--database-url, repeatable; default SQLite plus a reachable
    Postgres), the Kafka client library (--client) and the projector processes (--projectors), as the pipeline
    and peer benchmarks take them."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--database-url", action="append", default=[],
                        help="repeatable; default: SQLite, plus DATABASE_URL or the local Postgres if reachable")
    parser.add_argument("--client", choices=get_args(KafkaClient), default="kafka-python",
                        help="Kafka client library of every producer and consumer (TOUCHLINE_KAFKA_CLIENT)")
    parser.add_argument("--projectors", type=int, default=1,
                        help="projector processes sharing the projections (TOUCHLINE_PROJECTIONS; default 1)")
    args = parser.parse_args()
    return (args.events, args.database_url or ["sqlite:///TMP/events.db", *_postgres()], args.client,
            max(1, args.projectors))


@contextmanager
def broker() -> Iterator[str]:
    """$KAFKA_BOOTSTRAP_SERVERS, else a local broker for the run."""
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "")
    if bootstrap:
        yield bootstrap
        return
    from services.adapters.devbroker import LocalBroker

    with LocalBroker() as local:
        yield local.bootstrap_servers


def main() -> None:
    events, urls, client, projectors = options(__doc__)
    with broker() as bootstrap:
        run(bootstrap, urls, events, client, projectors)


def _postgres() -> list[str]:
    url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    try:
        psycopg.connect(url, connect_timeout=2).close()
    except psycopg.Error:
        return []
    return [url]


if __name__ == "__main__":
    main()
