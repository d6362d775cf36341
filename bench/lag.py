"""End-to-end lag under a steady load: touchpoint events published at a fixed rate into the broker, the recorder
and the projector running as separate `touchline` processes (as in bench/pipeline.py), and per event the time from
its publish until the event store holds it and the read models show it.

    make bench                                   # 2,000 events/s for 300 s on SQLite (the embedded default)
    python -m bench.lag --rate 2000 --seconds 20
    python -m bench.lag --database-url postgresql://postgres@127.0.0.1:5432/test
    python -m bench.lag --client confluent       # every producer and consumer on librdkafka
    python -m bench.lag --projectors 2           # the projections shared by two projector processes

How it measures without getting in the way of the pipeline:
- a paced publisher sends a batch of --events-per-batch events every batch/rate seconds on a fixed schedule (a late
  batch goes out at once, none is skipped); the moment a batch is handed to the producer is its events' publish
  time;
- a poller reads two small things every 50 ms: the event store's head and the projections' positions (one row per
  projection); no read-model rows are read while the load runs;
- afterwards the store's log gives each event's position: an event counts as recorded at the first poll whose head
  reached its position, and as visible at the first poll whose timeline position (or the lowest position of all
  projections) reached it; the same from each batch's scheduled time shows a publisher that fell behind. A poll's
  time is taken when its reads return, so a lag is an upper bound, too high by up to the poll interval;
- after publishing, it waits for the read models to apply everything, as long as they keep moving.

Target: p99 publish → timeline below 1 s at 2,000 events/s sustained for 5 minutes, with a bounded backlog (the
timeline lag of the run's last tenth within 0.5 s of its first tenth's, and a fitted growth below 0.5 s over the
run). The publisher and the poller share the machine with the pipeline.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
import uuid
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, get_args

from sqlalchemy import Engine, select

from bench.pipeline import PARTITIONS, _schema, bench_settings, broker, check_alive, processes, projector_groups
from domain.percentile import nearest_rank
from projections.sqlstore import projection_positions
from projections.timeline.queries import NAME as TIMELINE
from services.adapters.databases import open_views
from services.adapters.kafka.backend import ensure_kafka_topics
from services.adapters.opening import open_event_store
from services.adapters.settings import KafkaClient, Settings
from services.adapters.store.eventstore import EventStore
from services.application.publish import TouchlinePublisher
from tests.support.pipeline import BASE_TIME, touchpoint

POLL_S = 0.05
REPORT_EVERY_S = 10.0
CUSTOMERS = 2000
SQLITE = "sqlite:///TMP/events.db"


@dataclass
class Reached:
    """When a growing log position was first seen at or beyond each value: poll times and positions, both
    non-decreasing (a position seen lower than before is kept at the highest seen)."""

    times: list[float] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)

    def add(self, at: float, position: int) -> None:
        self.times.append(at)
        self.positions.append(max(position, self.positions[-1] if self.positions else 0))

    def first(self, position: int) -> float | None:
        """Time of the first poll that saw `position` reached (None if none did)."""
        i = bisect_left(self.positions, position)
        return self.times[i] if i < len(self.times) else None

    def last(self) -> int:
        return self.positions[-1] if self.positions else 0

    def at(self, when: float) -> int:
        """The position the last poll at or before `when` saw (0 before the first)."""
        i = bisect_right(self.times, when)
        return self.positions[i - 1] if i else 0

    def rate(self, start: float, end: float) -> float:
        """Positions gained per second between `start` and `end`: a stage's throughput."""
        return (self.at(end) - self.at(start)) / (end - start) if end > start else 0.0


@dataclass(frozen=True)
class Lags:
    """Per event: its publish time and how long until a stage reached it; `unseen` events never did."""

    published_at: list[float]
    seconds: list[float]
    unseen: int


def lags(published: Mapping[str, float], log: Iterable[tuple[int, str]], reached: Reached) -> Lags:
    """The lag of every published event found in `log` (position, event id), in log order; events never reached
    or not in the log count as unseen."""
    at: list[float] = []
    seconds: list[float] = []
    for position, event_id in log:
        sent = published.get(event_id)
        seen = reached.first(position) if sent is not None else None
        if sent is not None and seen is not None:
            at.append(sent)
            seconds.append(seen - sent)
    return Lags(at, seconds, len(published) - len(seconds))


def summary(seconds: list[float]) -> str:
    """p50, p90, p99 and max in ms (nearest rank)."""
    if not seconds:
        return "no event"
    p50, p90, p99 = (1000 * (nearest_rank(seconds, p) or 0.0) for p in (50, 90, 99))
    top = 1000 * max(seconds)
    return f"n={len(seconds):,} p50 {p50:,.0f} ms, p90 {p90:,.0f} ms, p99 {p99:,.0f} ms, max {top:,.0f} ms"


def window(lag: Lags, start: float, end: float) -> list[float]:
    """The lags of the events published in [start, end)."""
    return [s for t, s in zip(lag.published_at, lag.seconds, strict=True) if start <= t < end]


def slope(lag: Lags) -> float:
    """Least-squares growth of the lag per second of publishing (0 for fewer than two events): a backlog that keeps
    growing shows as a positive slope, e.g. 0.05 when the pipeline keeps up with only 95 % of the rate."""
    n = len(lag.seconds)
    if n < 2:
        return 0.0
    mean_t, mean_s = sum(lag.published_at) / n, sum(lag.seconds) / n
    var = sum((t - mean_t) ** 2 for t in lag.published_at)
    cov = sum((t - mean_t) * (s - mean_s) for t, s in zip(lag.published_at, lag.seconds, strict=True))
    return cov / var if var else 0.0


def bounded(lag: Lags, start: float, end: float, tolerance_s: float = 0.5) -> tuple[str, bool]:
    """Whether the lag stayed level: the p50 of the last tenth of the run within `tolerance_s` of the first
    tenth's, and the fitted growth over the run below it too; with the line that says so."""
    tenth = (end - start) / 10
    first, last = window(lag, start, start + tenth), window(lag, end - tenth, end + 1)
    if not first or not last:
        return "too few events to compare start and end", False
    p50_first, p50_last = nearest_rank(first, 50) or 0.0, nearest_rank(last, 50) or 0.0
    growth = slope(lag) * (end - start)
    ok = p50_last - p50_first < tolerance_s and growth < tolerance_s
    return (f"first tenth p50 {1000 * p50_first:,.0f} ms, last tenth p50 {1000 * p50_last:,.0f} ms, fitted growth "
            f"{1000 * growth:+,.0f} ms over the run: {'bounded' if ok else 'GROWING'}"), ok


class Poller(threading.Thread):
    """Every POLL_S: the event store's head and the projections' positions, with the time the reads returned."""

    def __init__(self, store: EventStore, views: Engine) -> None:
        super().__init__(daemon=True)
        self.store, self.views, self.stop = store, views, threading.Event()
        self.recorded, self.timeline, self.everywhere = Reached(), Reached(), Reached()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            due = time.perf_counter()
            while not self.stop.is_set():
                self.poll()
                due = max(due + POLL_S, time.perf_counter())  # a slow poll delays the next, never bunches them
                time.sleep(max(0.0, due - time.perf_counter()))
        except BaseException as exc:  # handed to the main thread
            self.error = exc

    def poll(self) -> None:
        head = self.store.head()
        with self.views.connect() as conn:
            rows = conn.execute(select(projection_positions.c.name, projection_positions.c.position)).all()
        positions = {str(name): int(position) for name, position in rows}
        at = time.perf_counter()
        self.recorded.add(at, head)
        self.timeline.add(at, positions.get(TIMELINE, 0))
        self.everywhere.add(at, min(positions.values(), default=0))


def touchpoints(first: int, n: int) -> list[dict[str, Any]]:
    """`touchpoint(i, "hotline", customers=CUSTOMERS)` for the n events from `first`, with one shared payload
    instead of a deep copy per event (a tenth of the cost: the publisher shares the CPUs with the pipeline)."""
    template = touchpoint(0, "hotline", customers=CUSTOMERS)
    return [template | {"event_id": str(uuid.uuid4()), "occurred_at": (BASE_TIME + timedelta(seconds=i)).isoformat(),
                        "source": {**template["source"], "agent": f"agent-{i % 17}"},
                        "customer": {"phone": f"1380013{i % CUSTOMERS:04d}"}} for i in range(first, first + n)]


class Publisher(threading.Thread):
    """Publishes `total` touchpoints in batches of `per_batch` on a fixed schedule of `rate` events per second,
    keeping the batch of each event id and each batch's scheduled and actual publish times (perf_counter s)."""

    def __init__(self, settings: Settings, rate: float, total: int, per_batch: int, first: int = 0) -> None:
        super().__init__(daemon=True)
        self.settings, self.rate, self.total, self.per_batch, self.first = settings, rate, total, per_batch, first
        self.batch_of: dict[str, int] = {}
        self.batches: list[tuple[float, float]] = []  # (due, sent)
        self.started = self.finished = 0.0
        self.late_s = 0.0  # the most a batch went out after its scheduled time
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.publish_all()
        except BaseException as exc:  # handed to the main thread
            self.error = exc

    def publish_all(self) -> None:
        with TouchlinePublisher(self.settings.kafka_bootstrap_servers, self.settings.events_topic,
                                client=self.settings.kafka_client) as publisher:
            self.started = time.perf_counter()
            for done in range(0, self.total, self.per_batch):
                due = self.started + done / self.rate
                time.sleep(max(0.0, due - time.perf_counter()))
                batch = touchpoints(self.first + done, min(self.per_batch, self.total - done))
                sent = time.perf_counter()
                self.late_s = max(self.late_s, sent - due)
                publisher.publish(batch)
                self.batch_of.update((str(e["event_id"]), len(self.batches)) for e in batch)
                self.batches.append((due, sent))
            self.finished = time.perf_counter()

    def times(self, scheduled: bool = False) -> dict[str, float]:
        """Each published event's publish time by event id (its batch's scheduled time if `scheduled`)."""
        which = 0 if scheduled else 1
        return {event_id: self.batches[batch][which] for event_id, batch in self.batch_of.items()}


def log_of(store: EventStore, page: int = 10_000) -> Iterable[tuple[int, str]]:
    """(position, event id) of every event in the store, in log order."""
    after = 0
    while rows := store.read_raw(after, page):
        yield from ((r.position, str(r.event_id)) for r in rows)
        after = rows[-1].position


def wait_until(condition: Callable[[], bool], timeout_s: float, alive: Callable[[], None],
               moving: Callable[[], int] = lambda: 0) -> bool:
    """Wait until `condition` holds (True), or for `timeout_s` without it, counted from the last time `moving()`
    changed (False); `alive()` raises when the pipeline died."""
    deadline, last = time.monotonic() + timeout_s, moving()
    while not condition():
        alive()
        if (now := moving()) != last:
            deadline, last = time.monotonic() + timeout_s, now
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def measure(settings: Settings, rate: float, seconds: float, per_batch: int, name: str, projectors: int = 1
            ) -> bool:
    """One run on a fresh topic and store: warm up with one batch, publish at `rate` for `seconds`, drain, report;
    True when the target (p99 publish → timeline < 1 s, bounded backlog) was met."""
    ensure_kafka_topics(settings)
    store, views = open_event_store(settings), open_views(settings)  # migrates both before the processes start
    poller, total = Poller(store, views), int(rate * seconds)
    publisher = Publisher(settings, rate, total, per_batch, first=per_batch)
    with processes(settings, projectors) as procs:
        def alive() -> None:
            check_alive(procs, settings)
            for thread in (poller, publisher):
                if thread.error is not None:
                    raise RuntimeError(f"{type(thread).__name__} failed") from thread.error

        poller.start()
        # one batch first, applied by every projection: the recorder owns its partitions, the projector runs
        Publisher(settings, rate, per_batch, per_batch).publish_all()
        if not wait_until(lambda: poller.everywhere.last() >= per_batch, 120, alive):
            raise RuntimeError("the warm-up batch did not reach the read models within 120 s")
        publisher.start()
        progress(publisher, poller, per_batch, alive)
        publisher.join()
        alive()
        # drain the backlog, however long it takes while the read models keep moving
        drained = wait_until(lambda: poller.everywhere.last() >= per_batch + total, 60, alive, poller.everywhere.last)
        poller.stop.set()
        poller.join()
    log = list(log_of(store))
    store.close()
    views.dispose()
    return report(name, publisher, poller, log, rate, drained)


def progress(publisher: Publisher, poller: Poller, offset: int, alive: Callable[[], None]) -> None:
    """A line every REPORT_EVERY_S while publishing: published, recorded, in the timeline, backlog."""
    due = time.perf_counter() + REPORT_EVERY_S
    while publisher.is_alive():
        publisher.join(timeout=max(0.0, due - time.perf_counter()))
        alive()
        if time.perf_counter() >= due:
            due += REPORT_EVERY_S
            sent = len(publisher.batch_of)
            recorded, shown = poller.recorded.last() - offset, poller.timeline.last() - offset
            elapsed = time.perf_counter() - publisher.started
            print(f"  t={elapsed:>5.0f} s  published {sent:>9,} ({sent / elapsed:,.0f}/s)  recorded {recorded:>9,}  "
                  f"timeline {shown:>9,}  backlog {sent - shown:>7,} events", flush=True)


def report(name: str, publisher: Publisher, poller: Poller, log: list[tuple[int, str]], rate: float,
           drained: bool) -> bool:
    """Print the figures; True when the target was met."""
    span = publisher.finished - publisher.started
    n, sent = len(publisher.batch_of), publisher.times()
    print(f"[{name}] published {n:,} events in {span:.1f} s: {n / span:,.0f} events/s (asked {rate:,.0f}/s; "
          f"the latest batch went out {1000 * publisher.late_s:,.0f} ms after its time)")
    done = poller.everywhere.first(log[-1][0]) if drained and log else None
    if done is None:
        print(f"[{name}] NOT DRAINED: the read models stopped moving before they had applied every event")
    else:
        print(f"[{name}] every read model applied the last event {done - publisher.finished:,.1f} s after the last "
              "publish")
    rates = [f"{label} {reached.rate(publisher.started, publisher.finished):,.0f}/s" for label, reached in (
        ("recorded", poller.recorded), ("timeline", poller.timeline), ("every read model", poller.everywhere))]
    print(f"[{name}] throughput while publishing: {', '.join(rates)}")
    timeline = lags(sent, log, poller.timeline)
    for label, lag in (("publish → recorded (event store)", lags(sent, log, poller.recorded)),
                       ("publish → visible in the timeline", timeline),
                       ("publish → visible in every read model", lags(sent, log, poller.everywhere)),
                       ("schedule → visible in the timeline", lags(publisher.times(scheduled=True), log,
                                                                   poller.timeline))):
        unseen = f" ({lag.unseen:,} never seen)" if lag.unseen else ""
        print(f"[{name}] {label:<38} {summary(lag.seconds)}{unseen}")
    gaps = [b - a for a, b in zip(poller.timeline.times, poller.timeline.times[1:], strict=False)]
    if gaps:
        print(f"[{name}] {len(gaps) + 1:,} polls, every {1000 * sum(gaps) / len(gaps):.0f} ms on average, "
              f"{1000 * max(gaps):.0f} ms at most (the resolution of the lags)")
    line, level = bounded(timeline, publisher.started, publisher.finished)
    print(f"[{name}] timeline lag, start vs end: {line}")
    return not timeline.unseen and (nearest_rank(timeline.seconds, 99) or 0.0) < 1.0 and level


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=2000, help="events per second (default 2000)")
    parser.add_argument("--seconds", type=float, default=300, help="how long to publish (default 300)")
    parser.add_argument("--events-per-batch", type=int, default=100, help="events per publish (default 100)")
    parser.add_argument("--database-url", default=SQLITE,
                        help="event store (default: SQLite in a temporary folder), e.g. postgresql://...")
    parser.add_argument("--client", choices=get_args(KafkaClient), default="kafka-python",
                        help="Kafka client library of every producer and consumer (TOUCHLINE_KAFKA_CLIENT)")
    parser.add_argument("--projectors", type=int, default=1,
                        help="projector processes sharing the projections (TOUCHLINE_PROJECTIONS; default 1)")
    args = parser.parse_args()
    url, sqlite = args.database_url, args.database_url.startswith("sqlite")
    name = "sqlite" if sqlite else "postgres"
    topic, schema = f"lag-{uuid.uuid4().hex[:8]}", "" if sqlite else f"bench_lag_{uuid.uuid4().hex[:8]}"
    with broker() as bootstrap, tempfile.TemporaryDirectory() as tmp, _schema(url, schema):
        print(f"touchline lag benchmark: {args.rate:,.0f} events/s for {args.seconds:,.0f} s in batches of "
              f"{args.events_per_batch}, {PARTITIONS} partitions, broker {bootstrap}, store {name}, "
              f"client {args.client}, projector processes: {' | '.join(projector_groups(max(1, args.projectors)))}",
              flush=True)
        settings = bench_settings(bootstrap, url.replace("TMP", tmp), schema, Path(tmp), topic, args.client)
        ok = measure(settings, args.rate, args.seconds, args.events_per_batch, name, max(1, args.projectors))
    print(f"[{name}] target p99 publish → timeline < 1 s at {args.rate:,.0f}/s for {args.seconds:,.0f} s with a "
          f"bounded backlog: {'met' if ok else 'MISSED'}")


if __name__ == "__main__":
    main()
