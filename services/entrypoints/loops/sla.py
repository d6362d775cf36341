"""The SLA loops of a process: the ticker, alert dispatch (alerts topic) and webhook delivery, supervised."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import Engine

from projections.sla.sql import SqlSlaStore
from services.adapters.clock import Clock, utc_now
from services.adapters.config import load_sla_config
from services.adapters.kafka import backend
from services.adapters.kafka.producer import KafkaEventPublisher
from services.adapters.settings import Settings
from services.adapters.store.eventstore import EventStore
from services.adapters.supervision import Liveness
from services.adapters.webhooks.deliveries import DeliveryStore
from services.adapters.webhooks.sender import WebhookSender
from services.application.sla.dispatch import AlertDispatcher
from services.application.sla.policies import ensure_default_policy
from services.application.sla.ticker import SlaTicker
from services.entrypoints.loops.pipeline import ClientsOfLoops


@dataclass
class SlaServices(ClientsOfLoops):
    """The SLA background loops of one process, and what to close when they stop."""

    ticker: SlaTicker
    dispatcher: AlertDispatcher
    webhooks: WebhookSender
    closers: list[Callable[[], Any]] = field(default_factory=list)
    resets: list[Callable[[], Any]] = field(default_factory=list)  # recreate the alerts producer

    def loops(self, settings: Settings) -> dict[str, Callable[[threading.Event, Liveness | None], None]]:
        """Thread name -> loop, each taking the stop flag and the process's liveness registry."""

        def ticker(stop: threading.Event, liveness: Liveness | None = None) -> None:
            self.ticker.run(stop, settings.sla_tick_seconds, liveness)

        def dispatch(stop: threading.Event, liveness: Liveness | None = None) -> None:
            self.dispatcher.run(stop, liveness=liveness, reset_clients=self.reset)

        def webhooks(stop: threading.Event, liveness: Liveness | None = None) -> None:
            self.webhooks.run(stop, liveness=liveness)

        return {"sla-ticker": ticker, "sla-dispatch": dispatch, "sla-webhooks": webhooks}


def build_sla_services(settings: Settings, event_store: EventStore, views: Engine, *,
                       clock: Clock = utc_now) -> SlaServices:
    """Record the default policy if new, then build the ticker, the dispatcher (to the alerts topic when a
    broker is configured) and the webhook sender."""
    config = load_sla_config(settings.config_dir)
    store = SqlSlaStore(views)
    store.create()
    ensure_default_policy(event_store, config, store.policies(), clock())
    deliveries = DeliveryStore(views)
    deliveries.create()
    closers: list[Callable[[], Any]] = []
    resets: list[Callable[[], Any]] = []
    publisher = None
    if settings.kafka_bootstrap_servers:
        sender = backend.sender(settings.kafka_client, settings.kafka_bootstrap_servers, settings.alerts_topic,
                                settings.publish_timeout_s)
        publisher = KafkaEventPublisher(sender)
        closers.append(sender.close)
        resets.append(sender.reset)
    client = httpx.Client(timeout=settings.webhook_timeout_seconds)
    closers.append(client.close)
    return SlaServices(
        ticker=SlaTicker(event_store, store, clock, allowed_lateness_s=settings.sla_allowed_lateness_s),
        dispatcher=AlertDispatcher(event_store, deliveries, config.departments.webhooks, publisher, clock),
        webhooks=WebhookSender(deliveries, client, clock, dict(os.environ), max_attempts=settings.webhook_max_attempts,
                               base_s=settings.webhook_backoff_seconds),
        closers=closers,
        resets=resets,
    )
