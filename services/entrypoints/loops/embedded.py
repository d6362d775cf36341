"""The embedded default: the whole backbone in one process (SQLite + a local broker unless one is named).

Without KAFKA_BOOTSTRAP_SERVERS the broker is a disposable transport: a fresh in-memory local broker per run.
The event store is the durable truth. Nothing acknowledged is lost across a normal stop because the API answers
202 only once the broker acknowledged, and on stop the API stops accepting first, then the recorder drains the
topic (up to each partition's high watermark) before the broker goes. The store's tracking positions of the
previous broker's partitions are deleted on start: the new broker's offsets begin again at 0.

Stopping: SIGTERM and SIGINT both shut down gracefully (exit status 0). A supervised loop that dies (see
services.adapters.supervision) stops the API and everything else, and the run ends with exit status 1.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator
from types import FrameType

import uvicorn

from services.adapters.kafka.backend import ensure_kafka_topics
from services.adapters.settings import Settings
from services.adapters.supervision import Liveness
from services.entrypoints.app import build_app
from services.entrypoints.bootstrap import Root
from services.entrypoints.loops.chainer import build_chainer
from services.entrypoints.loops.pipeline import liveness_for, run_in_thread, start_pipeline
from services.entrypoints.loops.sla import build_sla_services

log = logging.getLogger(__name__)
DRAIN_JOIN_S = 30.0  # how long the stop waits for a loop (the recorder drains meanwhile)


def run_embedded(settings: Settings, *, demo: bool = False) -> int:
    """Start broker (if needed), recorder, projector, SLA ticker and alert delivery, audit chainer, and the API;
    block until stopped. Returns the exit status: 0 after SIGTERM/SIGINT, 1 when a loop died."""
    liveness = liveness_for(settings)
    with _signals_stop_gracefully(), contextlib.ExitStack() as stack:
        local = not settings.kafka_bootstrap_servers
        if local:
            settings = _start_local_broker(settings, stack)
        ensure_kafka_topics(settings)
        stop = threading.Event()
        root = Root(settings, liveness=liveness)
        stack.callback(root.close)
        store, views = root.event_store, root.views
        if local:
            forgotten = store.forget_tracking(f"{settings.events_topic}:")
            log.info("fresh local broker: %d tracking position(s) of the previous one forgotten", forgotten)
        _, threads = start_pipeline(settings, store, views, stop, liveness, drain=True)
        sla = build_sla_services(settings, store, views)  # records the default policy version if new
        stack.callback(sla.close)
        threads += [run_in_thread(name, loop, stop, liveness) for name, loop in sla.loops(settings).items()]
        audit = build_chainer(settings, store)  # hash chain and signed checkpoints (docs/audit.md)
        stack.callback(audit.close)
        threads.append(run_in_thread("chainer", audit.run, stop, liveness))
        root.open_api()
        if demo:
            from services.application.demo import publish_demo

            log.info("demo: published %d events from the seed stories", publish_demo(root.publisher))
        server = uvicorn.Server(uvicorn.Config(build_app(root), host=settings.host, port=settings.port,
                                               log_config=None))  # services.adapters.logs formats its lines
        threading.Thread(target=_stop_server_when_a_loop_dies, args=(liveness, server, stop), name="watchdog",
                         daemon=True).start()
        log.info("API on http://%s:%s (OpenAPI at /docs)", settings.host, settings.port)
        try:
            server.run()  # returns once it stopped accepting and finished the requests in flight
        finally:
            _stop_loops(stop, threads)
    if dead := liveness.dead():
        log.error("stopped because a loop died: %s", "; ".join(f"{name}: {why}" for name, why in dead.items()))
        return 1
    return 0


def _start_local_broker(settings: Settings, stack: contextlib.ExitStack) -> Settings:
    from services.adapters.devbroker import LocalBroker

    broker = stack.enter_context(LocalBroker())  # in memory: a disposable transport (module docstring)
    log.info("local broker at %s (in memory, pids %s)", broker.bootstrap_servers, broker.pids)
    return settings.model_copy(update={"kafka_bootstrap_servers": broker.bootstrap_servers})


def _stop_server_when_a_loop_dies(liveness: Liveness, server: uvicorn.Server, stop: threading.Event) -> None:
    while not stop.is_set():
        if liveness.died.wait(0.5):
            log.error("a loop died (%s): stopping", ", ".join(liveness.dead()))
            server.should_exit = True
            return


def _stop_loops(stop: threading.Event, threads: list[threading.Thread]) -> None:
    """Stop every loop and wait for them: the recorder first records what is left on the topic."""
    stop.set()
    for thread in threads:
        thread.join(timeout=DRAIN_JOIN_S)
        if thread.is_alive():
            log.warning("loop %s did not stop in %.0f s", thread.name, DRAIN_JOIN_S)


class _Stopped(SystemExit):
    """Raised by SIGTERM/SIGINT outside the HTTP server's own handling: unwinds every cleanup, exit status 0."""


def _raise_stopped(signum: int, frame: FrameType | None) -> None:
    raise _Stopped(0)


@contextlib.contextmanager
def _signals_stop_gracefully() -> Iterator[None]:
    """SIGTERM stops as SIGINT does. uvicorn handles both while it serves, shuts down gracefully, then re-raises
    the signal to the handler that was installed before it: with the default SIGTERM handler that killed the
    process on the spot, skipping every cleanup (the local broker was orphaned). This handler unwinds instead."""
    previous = {sig: signal.signal(sig, _raise_stopped) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
