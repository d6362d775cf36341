"""Building the recorder and projector loops, and running loops in supervised threads until a signal."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import Engine

from services.adapters.config import load_identity_config
from services.adapters.databases import projection_stores
from services.adapters.kafka import backend
from services.adapters.kafka.producer import KafkaDeadLetterSink
from services.adapters.privacy.keys import protector_for
from services.adapters.settings import Settings
from services.adapters.store.eventstore import EventStore
from services.adapters.supervision import Backoff, Liveness
from services.application.projector.engine import ProjectionEngine
from services.application.recorder import AfterCommit, Recorder, RecorderClients, RecorderLoop

log = logging.getLogger(__name__)


class ClientsOfLoops:
    """What a process's loops opened (`closers`) and how to recreate the clients a failed step may have broken
    (`resets`, e.g. a producer): `reset` after a failure, `close` once, last opened first."""

    closers: list[Callable[[], Any]]
    resets: list[Callable[[], Any]]

    def reset(self) -> None:
        for reset in self.resets:
            reset()

    def close(self) -> None:
        for closer in reversed(self.closers):
            closer()


def build_recorder_loop(
    settings: Settings, event_store: EventStore, *, after_db_commit: AfterCommit | None = None
) -> RecorderLoop:
    """The recorder over a new consumer and dead-letter producer, recreated by `reset` after a failure."""
    protector = protector_for(settings)

    def connect() -> RecorderClients:
        dlq = backend.sender(settings.kafka_client, settings.kafka_bootstrap_servers, settings.dlq_topic,
                             settings.publish_timeout_s, connect_now=True)
        try:
            source = backend.recorder_source(settings, event_store.tracked)
        except BaseException:
            dlq.close()
            raise
        return RecorderClients(source, Recorder(event_store, KafkaDeadLetterSink(dlq), protector), dlq.close)

    return RecorderLoop(connect, after_db_commit=after_db_commit)


def build_projection_engine(settings: Settings, event_store: EventStore, views: Engine) -> ProjectionEngine:
    stores = projection_stores(views, load_identity_config(settings.config_dir), settings.projection_names)
    return ProjectionEngine(event_store, list(stores.values()), settings.projector_batch_size, views=views,
                            max_batch_size=settings.projector_max_batch_size)


def start_pipeline(
    settings: Settings, event_store: EventStore, views: Engine, stop: threading.Event,
    liveness: Liveness | None = None, *, drain: bool = False,
) -> tuple[RecorderLoop, list[threading.Thread]]:
    """Recorder and projector threads over one event store and read-model database, until `stop` is set (or a
    loop dies: see services.adapters.supervision); with `drain`, the recorder records what is left on the topic
    first."""
    liveness = liveness or Liveness()
    recorder = build_recorder_loop(settings, event_store)
    liveness.register("recorder", ready=lambda: recorder.assigned)
    engine = build_projection_engine(settings, event_store, views)
    threads = [
        run_in_thread("recorder", lambda stop, live: recorder.run(stop, live, drain=drain), stop, liveness),
        run_in_thread("projector", lambda stop, live: engine.run(stop, settings.projector_idle_seconds, live),
                      stop, liveness),
    ]
    return recorder, threads


def run_in_thread(name: str, target: Any, stop: threading.Event, liveness: Liveness | None = None) -> threading.Thread:
    """Start `target(stop)` (or `target(stop, liveness)`) in a daemon thread named `name`."""
    args = (stop,) if liveness is None else (stop, liveness)
    thread = threading.Thread(target=target, args=args, name=name, daemon=True)
    thread.start()
    return thread


def liveness_for(settings: Settings) -> Liveness:
    """The liveness registry of a process, with its loops' retry policy from Settings."""
    return Liveness(Backoff(settings.loop_backoff_seconds, settings.loop_backoff_max_seconds,
                            settings.loop_max_failures))


@contextlib.contextmanager
def until_interrupted() -> Iterator[threading.Event]:
    """A stop flag set by SIGTERM or SIGINT, so loops finish their batch and close cleanly."""
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def supervise(settings: Settings, loops: dict[str, Any], ready: dict[str, Any] | None = None) -> int:
    """Run each `loop(stop, liveness)` in a thread with the probes served on TOUCHLINE_METRICS_PORT, until SIGTERM
    or SIGINT (exit status 0) or until a loop dies (the others are stopped; exit status 1)."""
    from services.entrypoints.loops.probes import ProbeServer

    liveness = liveness_for(settings)
    for name in loops:
        liveness.register(name, (ready or {}).get(name))
    probes = ProbeServer(liveness, "0.0.0.0", settings.metrics_port).start() if settings.metrics_port else None
    try:
        with until_interrupted() as stop:
            threads = [run_in_thread(name, loop, stop, liveness) for name, loop in loops.items()]
            while not stop.is_set() and not liveness.died.is_set():
                stop.wait(0.5)
            stop.set()
            for thread in threads:
                thread.join(timeout=30)
    finally:
        if probes is not None:
            probes.close()
    if dead := liveness.dead():
        log.error("stopped because a loop died: %s", dead)
        return 1
    return 0
