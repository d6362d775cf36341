"""The chainer process loop: the hash chain and signed checkpoints, published to the audit topic, supervised."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from services.adapters.audit.keys import signing_key
from services.adapters.audit.tables import open_audit_engine
from services.adapters.clock import Clock, utc_now
from services.adapters.kafka import backend
from services.adapters.kafka.checkpoints import KafkaCheckpointSink
from services.adapters.settings import Settings
from services.adapters.store.eventstore import EventStore
from services.adapters.supervision import Liveness
from services.application.audit.chain import Chainer
from services.entrypoints.loops.pipeline import ClientsOfLoops


@dataclass
class AuditProcess(ClientsOfLoops):
    """The chainer of one process, and its checkpoint producer."""

    chainer: Chainer
    closers: list[Any] = field(default_factory=list)
    resets: list[Any] = field(default_factory=list)  # recreate the checkpoint producer after a failed pass

    def run(self, stop: threading.Event, liveness: Liveness | None = None) -> None:
        """The chainer, supervised (services.adapters.supervision) until `stop` is set or it dies."""
        self.chainer.run(stop, liveness=liveness, reset_clients=self.reset)


def build_chainer(settings: Settings, store: EventStore, *, clock: Clock = utc_now,
                  publish: bool = True) -> AuditProcess:
    engine = open_audit_engine(settings)
    closers: list[Any] = [engine.dispose]
    resets: list[Any] = []
    sink = None
    if publish:
        sender = backend.sender(settings.kafka_client, settings.kafka_bootstrap_servers, settings.audit_topic)
        closers.append(sender.close)
        resets.append(sender.reset)
        sink = KafkaCheckpointSink(sender)
    chainer = Chainer(store, engine, signing_key(settings), clock, every_events=settings.audit_checkpoint_events,
                      every_seconds=settings.audit_checkpoint_seconds, batch=settings.projector_batch_size, sink=sink)
    return AuditProcess(chainer, closers, resets)
