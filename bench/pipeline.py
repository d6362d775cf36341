"""Pipeline throughput, measured in one run on one broker: raw kafka-python consume of N events versus
touchline's publish → recorded (event store) → visible in the customer timeline.

    make bench                      # N=20000, SQLite store (embedded default) and Postgres if reachable
    python -m bench.pipeline --events 50000 --database-url postgresql://postgres@127.0.0.1:5432/test

The recorder and the projector run as separate `touchline` processes, as in production.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import psycopg
from kafka import KafkaConsumer, TopicPartition
from psycopg import sql

from services.adapters.databases import open_views
from services.adapters.kafka.admin import ensure_kafka_topics
from services.adapters.settings import Settings
from services.application.publish import TouchlinePublisher
from tests.support.pipeline import settings_env, touchpoint

PARTITIONS = 6


def raw_consume(bootstrap: str, topic: str, expected: int) -> float:
    """Seconds kafka-python takes to consume `expected` records of `topic` from the beginning."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, max_poll_records=2000)
    consumer.assign([TopicPartition(topic, p) for p in range(PARTITIONS)])
    consumer.seek_to_beginning()
    started, seen = time.perf_counter(), 0
    while seen < expected:
        seen += sum(len(batch) for batch in consumer.poll(timeout_ms=1000).values())
    elapsed = time.perf_counter() - started
    consumer.close()
    return elapsed


def publish(settings: Settings, events: list[dict[str, object]]) -> float:
    started = time.perf_counter()
    with TouchlinePublisher(settings.kafka_bootstrap_servers, settings.events_topic) as publisher:
        for i in range(0, len(events), 1000):
            publisher.publish(events[i:i + 1000])
    return time.perf_counter() - started


def pipeline(settings: Settings, events: list[dict[str, object]], backlog: bool) -> tuple[float, float]:
    """Live (backlog=False): (seconds to publish, seconds from first publish until all are in the timeline).
    Backlog: events published before the processes start; (events drained, seconds from the first to the last
    becoming visible in the timeline) — the recorder + projector rate alone."""
    views = open_views(settings)
    from projections.timeline.sql import SqlTimelineStore

    timeline = SqlTimelineStore(views)
    timeline.create()
    if backlog:
        publish(settings, events)
    with processes(settings) as procs:
        if backlog:
            while (first := timeline.count_entries()) == 0:
                check_alive(procs, settings)
                time.sleep(0.005)
            started, published = time.perf_counter(), float(len(events) - first)
        else:
            time.sleep(8)  # let the recorder join its consumer group before the clock starts
            started = time.perf_counter()
            published = publish(settings, events)
        while timeline.count_entries() < len(events):
            check_alive(procs, settings)
            time.sleep(0.02)
        visible = time.perf_counter() - started
    views.dispose()
    return published, visible


@contextmanager
def processes(settings: Settings) -> Iterator[list[subprocess.Popen[bytes]]]:
    """The recorder and the projector as separate `touchline` processes on `settings` (logs in its data dir),
    terminated on exit."""
    env = os.environ | settings_env(settings) | {"TOUCHLINE_ID_HASH_KEY": "bench-key",
                                                 "TOUCHLINE_METRICS_PORT": "0"}  # two processes: no probe port
    if settings.database_url.startswith("sqlite"):
        env |= {"TOUCHLINE_DATA_DIR": str(settings.data_dir)}
    with ExitStack() as stack:
        procs = []
        for command in ("recorder", "projector"):
            log = stack.enter_context((settings.data_dir / f"{command}.log").open("wb"))
            proc = subprocess.Popen([sys.executable, "-m", "services.entrypoints.cli", command], env=env,
                                    stdout=log, stderr=subprocess.STDOUT)
            stack.callback(proc.wait, 30)
            stack.callback(proc.terminate)
            procs.append(proc)
        yield procs


def check_alive(procs: list[subprocess.Popen[bytes]], settings: Settings) -> None:
    """RuntimeError with the tail of both logs when the recorder or the projector has exited."""
    if any(p.poll() is not None for p in procs):
        logs = [(settings.data_dir / f"{c}.log").read_text()[-2000:] for c in ("recorder", "projector")]
        raise RuntimeError(f"a pipeline process died:\n{logs[0]}\n{logs[1]}")


def run(bootstrap: str, database_urls: list[str], n: int) -> None:
    events = [touchpoint(i, "hotline", customers=2000) for i in range(n)]
    print(f"touchline pipeline benchmark: {n} events, {PARTITIONS} partitions, broker {bootstrap}")
    for url in database_urls:
        for backlog in (False, True):
            measure(bootstrap, url, events, backlog)


def measure(bootstrap: str, url: str, events: list[dict[str, object]], backlog: bool) -> None:
    """One measurement on a fresh topic (and schema), then raw consumption of the same records."""
    n, topic = len(events), f"bench-{uuid.uuid4().hex[:8]}"
    schema = "" if url.startswith("sqlite") else f"bench_{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp, _schema(url, schema):
        settings = bench_settings(bootstrap, url.replace("TMP", tmp), schema, Path(tmp), topic)
        ensure_kafka_topics(settings)
        published, visible = pipeline(settings, [dict(e) for e in events], backlog)
        raw = raw_consume(bootstrap, topic, n)
    store = "sqlite" if url.startswith("sqlite") else "postgres"
    raw_rate = n / raw
    print(f"[{store}] raw kafka-python consume of the same {n} records: {raw_rate:,.0f} events/s ({raw:.2f} s)")
    if backlog:
        ours = published / visible
        print(f"[{store}] backlog drained (consume → validate → record → timeline): {ours:,.0f} events/s "
              f"({int(published)} events in {visible:.2f} s); ratio to raw consume: {ours / raw_rate:.2f}")
    else:
        ours = n / visible
        print(f"[{store}] live publish: {n / published:,.0f} events/s; publish → recorded → timeline: "
              f"{ours:,.0f} events/s ({visible:.2f} s); ratio to raw consume: {ours / raw_rate:.2f}")


def bench_settings(bootstrap: str, url: str, schema: str, data_dir: Path, topic: str) -> Settings:
    """Settings of one measurement: its own topic (6 partitions), dead-letter topic, consumer group and
    (on Postgres) schema."""
    return Settings(env="test", database_url=url, db_schema=schema, data_dir=data_dir,
                    kafka_bootstrap_servers=bootstrap, events_topic=topic, dlq_topic=f"{topic}-dlq",
                    recorder_group=f"{topic}-recorder", events_topic_partitions=PARTITIONS,
                    kafka_session_timeout_ms=6000)


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


def options(doc: str | None) -> tuple[int, list[str]]:
    """--events and the event stores to measure (--database-url, repeatable; default SQLite plus a reachable
    Postgres), as the pipeline and peer benchmarks take them."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--database-url", action="append", default=[],
                        help="repeatable; default: SQLite, plus DATABASE_URL or the local Postgres if reachable")
    args = parser.parse_args()
    return args.events, args.database_url or ["sqlite:///TMP/events.db", *_postgres()]


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
    events, urls = options(__doc__)
    with broker() as bootstrap:
        run(bootstrap, urls, events)


def _postgres() -> list[str]:
    url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    try:
        psycopg.connect(url, connect_timeout=2).close()
    except psycopg.Error:
        return []
    return [url]


if __name__ == "__main__":
    main()
