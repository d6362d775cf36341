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
from contextlib import ExitStack
from pathlib import Path

import psycopg
from kafka import KafkaConsumer, TopicPartition

from services.bootstrap import ensure_kafka_topics, open_views
from services.publisher import TouchlinePublisher
from services.settings import Settings
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


def pipeline(settings: Settings, events: list[dict[str, object]]) -> tuple[float, float]:
    """(seconds to publish, seconds from first publish until every event is in the timeline)."""
    env = os.environ | settings_env(settings) | {"TOUCHLINE_ID_HASH_KEY": "bench-key"}
    if settings.database_url.startswith("sqlite"):
        env |= {"TOUCHLINE_DATA_DIR": str(settings.data_dir)}
    views = open_views(settings)
    from projections.timeline.store import SqlTimelineStore

    timeline = SqlTimelineStore(views)
    timeline.create()
    with ExitStack() as stack:
        procs = []
        for command in ("recorder", "projector"):
            log = stack.enter_context((settings.data_dir / f"{command}.log").open("wb"))
            proc = subprocess.Popen([sys.executable, "-m", "services.cli", command], env=env,
                                    stdout=log, stderr=subprocess.STDOUT)
            stack.callback(proc.wait, 30)
            stack.callback(proc.terminate)
            procs.append(proc)
        time.sleep(8)  # let the recorder join its consumer group before the clock starts
        started = time.perf_counter()
        with TouchlinePublisher(settings.kafka_bootstrap_servers, settings.events_topic) as publisher:
            for i in range(0, len(events), 1000):
                publisher.publish(events[i:i + 1000])
        published = time.perf_counter() - started
        while timeline.count_entries() < len(events):
            if any(p.poll() is not None for p in procs):
                logs = [(settings.data_dir / f"{c}.log").read_text()[-2000:] for c in ("recorder", "projector")]
                raise RuntimeError(f"a pipeline process died:\n{logs[0]}\n{logs[1]}")
            time.sleep(0.02)
        visible = time.perf_counter() - started
    views.dispose()
    return published, visible


def run(bootstrap: str, database_urls: list[str], n: int) -> None:
    events = [touchpoint(i, "hotline", customers=2000) for i in range(n)]
    print(f"touchline pipeline benchmark: {n} events, {PARTITIONS} partitions, broker {bootstrap}")
    for url in database_urls:
        topic = f"bench-{uuid.uuid4().hex[:8]}"
        with tempfile.TemporaryDirectory() as tmp:
            schema = "" if url.startswith("sqlite") else f"bench_{uuid.uuid4().hex[:8]}"
            if schema:
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute(f"create schema {schema}")
            settings = Settings(env="test", database_url=url.replace("TMP", tmp), db_schema=schema,
                                data_dir=Path(tmp), kafka_bootstrap_servers=bootstrap, events_topic=topic,
                                dlq_topic=f"{topic}-dlq", recorder_group=f"{topic}-recorder",
                                events_topic_partitions=PARTITIONS, kafka_session_timeout_ms=6000)
            ensure_kafka_topics(settings)
            published, visible = pipeline(settings, [dict(e) for e in events])
            raw = raw_consume(bootstrap, topic, n)
            if schema:
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute(f"drop schema {schema} cascade")
        store = "sqlite" if url.startswith("sqlite") else "postgres"
        ours, raw_rate = n / visible, n / raw
        print(f"[{store}] raw kafka-python consume: {raw_rate:,.0f} events/s ({raw:.2f} s)")
        print(f"[{store}] publish: {n / published:,.0f} events/s; publish → recorded → timeline: "
              f"{ours:,.0f} events/s ({visible:.2f} s); ratio to raw consume: {ours / raw_rate:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--database-url", action="append", default=[],
                        help="repeatable; default: SQLite, plus DATABASE_URL or the local Postgres if reachable")
    args = parser.parse_args()
    urls = args.database_url or ["sqlite:///TMP/events.db", *_postgres()]
    with ExitStack() as stack:
        bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "")
        if not bootstrap:
            from services.devbroker import LocalBroker

            bootstrap = stack.enter_context(LocalBroker()).bootstrap_servers
        run(bootstrap, urls, args.events)


def _postgres() -> list[str]:
    url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    try:
        psycopg.connect(url, connect_timeout=2).close()
    except psycopg.Error:
        return []
    return [url]


if __name__ == "__main__":
    main()
