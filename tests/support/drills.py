"""Fault-drill helpers: a backend killer for Postgres, a resending publisher, a restarting recorder, the ledger,
and the teardown of what a drill started."""

from __future__ import annotations

import contextlib
import errno
import gc
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
import psycopg
import pytest
from psycopg import sql

from services.adapters.settings import Settings
from services.adapters.store.eventstore import EventStore
from services.application.publish import TouchlinePublisher
from services.application.recorder import RecorderLoop
from services.entrypoints.loops.pipeline import build_recorder_loop
from tests.support.pipeline import read_topic, stored_ids

KILL = ("select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() "
        "and application_name = %s and pid <> pg_backend_pid()")
AT_WORK = " and state <> 'idle'"  # a statement running or a transaction open: killed mid-batch


@dataclass
class BackendKiller:
    """Watches this database every `interval_s` and terminates the backends whose application_name is `target`:
    only those at work (`working_only`), or all of them as a database restart or failover does. After a round
    that killed some, lets the survivors work for `pause_s`; stops after `max_kill_rounds` such rounds."""

    url: str
    target: str
    working_only: bool = True
    interval_s: float = 0.02
    pause_s: float = 1.0
    max_kill_rounds: int | None = None
    rounds: int = 0
    kill_rounds: int = 0
    killed: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        query = KILL + AT_WORK if self.working_only else KILL
        with psycopg.connect(self.url, autocommit=True, application_name="touchline-drill-killer") as conn:
            while not self._stop.wait(self.interval_s):
                if self.max_kill_rounds is not None and self.kill_rounds >= self.max_kill_rounds:
                    return
                rows = conn.execute(query, (self.target,)).fetchall()
                self.rounds += 1
                killed = sum(1 for (done,) in rows if done)
                self.killed += killed
                if killed:
                    self.kill_rounds += 1
                    self._stop.wait(self.pause_s)

    @contextmanager
    def running(self) -> Iterator[BackendKiller]:
        thread = threading.Thread(target=self.run, name="backend-killer", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join(timeout=10)


def wait_until(condition: Callable[[], object], timeout_s: float, describe: Callable[[], str],
               interval_s: float = 0.5) -> None:
    """Like pipeline.wait_for, with the state at the deadline in the failure message."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s: {describe()}")
        time.sleep(interval_s)


def where_missing(store: EventStore, produced: Sequence[dict[str, Any]], bootstrap: str, topic: str) -> str:
    """Where the produced events not stored are (for a timeout's message): per partition, the offsets the topic
    holds them at, the topic's last offset and the recorder's tracked offset; or that the topic lacks them."""
    missing = {e["event_id"] for e in produced} - {str(eid) for eid in stored_ids(store)}
    on_topic: dict[int, list[int]] = {}
    last: dict[int, int] = {}
    found: set[str] = set()
    for record in read_topic(bootstrap, topic, 1.0):
        last[record.partition] = max(last.get(record.partition, -1), record.offset)
        event_id = str(orjson.loads(record.value).get("event_id"))
        if event_id in missing:
            found.add(event_id)
            on_topic.setdefault(record.partition, []).append(record.offset)
    parts = [f"partition {p}: {len(offsets)} at offsets {min(offsets)}-{max(offsets)}, last offset {last[p]}, "
             f"tracked {store.tracked(f'{topic}:{p}')}" for p, offsets in sorted(on_topic.items())]
    return f"{len(missing)} missing; {len(missing - found)} not on the topic; " + "; ".join(parts)


def stored_count(url: str, schema: str) -> int:
    """Rows in the event store's log, read on a connection of its own (never one the drill kills)."""
    query = sql.SQL("select count(*) from {}.stored_events").format(sql.Identifier(schema))
    with psycopg.connect(url, autocommit=True, application_name="touchline-drill-observer") as conn:
        row = conn.execute(query).fetchone()
    return int(row[0]) if row else 0


def app_name() -> str:
    """A unique application_name for the connections one drill opens (libpq reads it from PGAPPNAME)."""
    return f"touchline-drill-{uuid.uuid4().hex[:8]}"


def publish_until_acked(bootstrap: str, topic: str, events: Sequence[dict[str, Any]], batch: int = 100,
                        timeout_s: float = 5.0, give_up_s: float = 60.0, pause_s: float = 0.0,
                        acked: Callable[[int], object] = lambda _n: None) -> int:
    """Publish in batches as an HTTP client of the ingest contract would: a batch not acknowledged is sent again
    (with a fresh producer) until it is; event_id idempotency makes the copies harmless. `acked` hears the count
    of events acknowledged so far after each batch. Returns the resends."""
    resends = 0
    deadline = time.monotonic() + give_up_s
    publisher: TouchlinePublisher | None = None
    try:
        for start in range(0, len(events), batch):
            while True:
                try:
                    if publisher is None:
                        publisher = TouchlinePublisher(bootstrap, topic, timeout_s)
                    publisher.publish(events[start:start + batch])
                    acked(min(start + batch, len(events)))
                    time.sleep(pause_s)  # a stream over time rather than one burst
                    break
                except Exception as exc:  # noqa: BLE001 - PublishFailed, or no broker to connect to: resend
                    if time.monotonic() > deadline:
                        raise AssertionError(f"publisher never got an ack for batch {start}: {exc}") from exc
                    resends += 1
                    _close_quietly(publisher)
                    publisher = None
                    time.sleep(0.3)
    finally:
        _close_quietly(publisher)
    return resends


def _close_quietly(publisher: TouchlinePublisher | None) -> None:
    if publisher is None:
        return
    with contextlib.suppress(Exception):  # a producer of a dead broker may fail to close; it is dropped anyway
        publisher.close()


class RestartingRecorder:
    """`touchline recorder` under a restart policy (the compose/k8s deployments): when the loop dies on an
    exception, a new process would start and resume from the tracked offsets; here a new loop does."""

    def __init__(self, settings: Settings, store: EventStore) -> None:
        self._settings = settings
        self._store = store
        self.stop = threading.Event()
        self.restarts = 0
        self.failures: list[str] = []
        self.loop: RecorderLoop | None = None
        self.loops: list[RecorderLoop] = []
        self._thread = threading.Thread(target=self._supervise, name="restarting-recorder", daemon=True)

    @property
    def recorded(self) -> int:
        """Events recorded by all its loops so far."""
        return sum(loop.totals.recorded for loop in self.loops)

    @property
    def assigned(self) -> bool:
        return self.loop is not None and self.loop.assigned

    def start(self) -> RestartingRecorder:
        self._thread.start()
        return self

    def close(self) -> None:
        self.stop.set()
        self._thread.join(timeout=30)

    def _supervise(self) -> None:
        while not self.stop.is_set():
            try:
                self.loop = build_recorder_loop(self._settings, self._store)
                self.loops.append(self.loop)
                self.loop.run(self.stop)
            except Exception as exc:  # noqa: BLE001 - the process dies here; the platform starts another
                self.failures.append(f"{type(exc).__name__}: {exc}"[:300])
                self.restarts += 1
                self.stop.wait(0.5)


@dataclass(frozen=True)
class Ledger:
    """produced = stored + dead-lettered, counted by event id (stored) and by source position (dead letters)."""

    produced: set[uuid.UUID]
    stored: Counter[uuid.UUID]
    dead_letters: int

    @property
    def duplicated(self) -> dict[uuid.UUID, int]:
        return {eid: n for eid, n in self.stored.items() if n > 1}

    @property
    def lost(self) -> set[uuid.UUID]:
        return self.produced - set(self.stored)


def ledger(store: EventStore, produced: Sequence[dict[str, Any]], bootstrap: str, dlq_topic: str,
           ignore: Callable[[uuid.UUID], bool] = lambda _id: False) -> Ledger:
    """Every stored event id (with multiplicity, minus ids `ignore` says were not produced by the drill) and
    the dead letters on the topic."""
    stored = Counter(eid for eid in stored_ids(store) if not ignore(eid))
    return Ledger({uuid.UUID(e["event_id"]) for e in produced}, stored, len(read_topic(bootstrap, dlq_topic, 1.0)))


def assert_exact(book: Ledger, dead_lettered: int = 0) -> None:
    """0 lost, 0 duplicated, nothing stored that was not produced, and exactly the expected dead letters."""
    assert not book.duplicated, f"{len(book.duplicated)} event ids stored more than once"
    assert not book.lost, f"{len(book.lost)} produced events neither stored nor dead-lettered"
    strangers = set(book.stored) - book.produced
    assert not strangers, f"{len(strangers)} stored events were never produced"
    assert book.dead_letters == dead_lettered
    assert sum(book.stored.values()) + book.dead_letters == len(book.produced) + dead_lettered


def record_thread_deaths(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Collect the exceptions that end threads during this test (named in assertions rather than reported as
    unhandled thread exceptions when the test is over)."""
    deaths: list[str] = []

    def hook(args: threading.ExceptHookArgs) -> None:
        name = args.thread.name if args.thread is not None else "?"
        deaths.append(f"{name}: {args.exc_type.__name__}: {args.exc_value}"[:300])

    monkeypatch.setattr(threading, "excepthook", hook)
    return deaths


def stop_pipeline(stop: threading.Event, threads: Iterable[threading.Thread], *release: Callable[[], object],
                  timeout_s: float = 30.0) -> None:
    """Set `stop`, wait for the threads, then release what they used (store.close, views.dispose, ...)."""
    stop.set()
    for thread in threads:
        thread.join(timeout=timeout_s)
    for step in release:
        step()


def close_kafka_leftovers(timeout_s: float = 5.0) -> int:
    """Once a drill's Kafka clients are closed: wait for their I/O threads to end, then close the sockets
    kafka-python left open after refused connects while the broker was down (its connect does not close a socket
    whose connect failed; the connection error that refers to it lives on in the test's captured log records
    until after teardown, so the socket would be finalised, with a ResourceWarning, in some later test).
    Returns how many sockets it closed."""
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and _is_kafka_io(thread.name):
            thread.join(timeout=timeout_s)
    closed = 0
    for obj in gc.get_objects():
        if issubclass(type(obj), socket.socket) and _never_connected(obj):  # type(): a weak proxy is not dereferenced
            obj.close()
            closed += 1
    return closed


def _is_kafka_io(name: str) -> bool:
    return name.startswith("kafka-io-") or name.endswith("-network-thread")


def _never_connected(sock: socket.socket) -> bool:
    """A TCP socket, open, neither listening nor connected: what a refused connect leaves behind."""
    if sock.fileno() < 0 or sock.family not in (socket.AF_INET, socket.AF_INET6) or sock.type != socket.SOCK_STREAM:
        return False
    if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
        return False
    try:
        sock.getpeername()
    except OSError as exc:
        return exc.errno == errno.ENOTCONN
    return False
