"""The embedded default: the whole backbone in one process (SQLite + a local broker unless one is named)."""

from __future__ import annotations

import contextlib
import logging
import threading

import uvicorn

from services.api.app import build_app
from services.audit.wiring import build_chainer
from services.bootstrap import (
    build_api_components,
    ensure_kafka_topics,
    open_event_store,
    open_views,
    run_in_thread,
    start_pipeline,
)
from services.settings import Settings
from services.sla.wiring import build_sla_services

log = logging.getLogger(__name__)


def run_embedded(settings: Settings, *, demo: bool = False) -> None:
    """Start broker (if needed), recorder, projector, SLA ticker and alert delivery, audit chainer, and the API;
    block until the API server stops."""
    with contextlib.ExitStack() as stack:
        if not settings.kafka_bootstrap_servers:
            from services.devbroker import LocalBroker

            broker = stack.enter_context(LocalBroker(data_dir=settings.data_dir / "broker"))
            settings = settings.model_copy(update={"kafka_bootstrap_servers": broker.bootstrap_servers})
            log.info("local broker at %s (data in %s)", broker.bootstrap_servers, settings.data_dir / "broker")
        ensure_kafka_topics(settings)
        stop = threading.Event()
        store, views = open_event_store(settings), open_views(settings)
        stack.callback(store.close)
        _, threads = start_pipeline(settings, store, views, stop)
        sla = build_sla_services(settings, store, views)  # records the default policy version if new
        stack.callback(sla.close)
        threads += [run_in_thread(name, loop, stop) for name, loop in sla.loops(settings).items()]
        audit = build_chainer(settings, store)  # hash chain and signed checkpoints (docs/audit.md)
        stack.callback(audit.close)
        threads.append(run_in_thread("chainer", audit.chainer.run, stop))
        components = build_api_components(settings)
        stack.callback(components.close)
        if demo:
            from services.demo import publish_demo

            log.info("demo: published %d events from the seed stories", publish_demo(components.publisher))
        log.info("API on http://%s:%s (OpenAPI at /docs)", settings.host, settings.port)
        try:
            uvicorn.Server(uvicorn.Config(build_app(components), host=settings.host, port=settings.port)).run()
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=15)
