"""Producing with confluent-kafka: a sender that returns only once every record of a batch is acknowledged."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import confluent_kafka
from confluent_kafka import KafkaError, KafkaException, Message

from services.adapters.kafka.confluent import clients
from services.adapters.kafka.records import Headers, PublishFailed
from services.adapters.kafka.slot import ProducerSlot

_WireHeaders = list[tuple[str, str | bytes | None]]


def make_producer(bootstrap_servers: str, **overrides: Any) -> confluent_kafka.Producer:
    """A producer that waits for all in-sync replicas and never reorders or duplicates on retry (overrides use
    librdkafka's property names, e.g. {"linger.ms": 20})."""
    config = clients.base_config(bootstrap_servers, "touchline") | {
        "acks": "all",
        "enable.idempotence": True,
        "linger.ms": 5,
        "message.max.bytes": 8 * 1024 * 1024,
    }
    return clients.producer(config | overrides)


def _expiring(timeout_s: float) -> dict[str, Any]:
    """Records the broker has not acknowledged by the sender's deadline fail then (delivery report), instead of
    staying queued for librdkafka's default five minutes after the batch was reported failed."""
    return {"message.timeout.ms": max(1, int(timeout_s * 1000))}


class _Acks:
    """Delivery reports of one batch: how many are still due, and the first failure."""

    def __init__(self, expected: int) -> None:
        self.pending = expected
        self.error: KafkaError | None = None
        self._done = threading.Lock()

    def report(self, error: KafkaError | None, _message: Message) -> None:
        with self._done:
            self.pending -= 1
            if error is not None and self.error is None:
                self.error = error

    def wait(self, producer: confluent_kafka.Producer, deadline: float) -> bool:
        """Serve delivery reports until every report of this batch came (True) or the deadline passed. Not
        `flush()`: under concurrent publishing (the API's threads) the producer's queue may never be empty; a report
        of this batch served by another thread's `poll` counts all the same."""
        while (remaining := deadline - time.monotonic()) > 0:
            with self._done:
                if self.pending <= 0:
                    return True
            producer.poll(min(0.05, remaining))
        with self._done:
            return self.pending <= 0


class ConfluentSender:
    """RecordSender over a confluent-kafka producer, or over a factory of producers (`connecting`): then `reset`
    drops the producer (a fatal idempotence error leaves it unusable) and the next batch creates a new one."""

    def __init__(self, producer: confluent_kafka.Producer | None, topic: str, timeout_s: float = 30.0, *,
                 factory: Callable[[], confluent_kafka.Producer] | None = None) -> None:
        self._slot = ProducerSlot(producer, factory)
        self._topic = topic
        self._timeout_s = timeout_s

    @classmethod
    def connecting(cls, bootstrap_servers: str, topic: str, timeout_s: float = 30.0,
                   **overrides: Any) -> ConfluentSender:
        """A sender that creates its producer on first use and again after `reset`."""
        config = _expiring(timeout_s) | overrides
        return cls(None, topic, timeout_s, factory=lambda: make_producer(bootstrap_servers, **config))

    @classmethod
    def opened(cls, bootstrap_servers: str, topic: str, timeout_s: float = 30.0, **overrides: Any) -> ConfluentSender:
        return cls(make_producer(bootstrap_servers, **(_expiring(timeout_s) | overrides)), topic, timeout_s)

    def send_all(self, items: Sequence[tuple[bytes | None, bytes, Headers]]) -> None:
        deadline = time.monotonic() + self._timeout_s
        acks = _Acks(len(items))
        try:
            producer = self._slot.current()
            for key, value, headers in items:
                self._produce(producer, key, value, [(k, v) for k, v in headers], acks.report, deadline)
            acknowledged = acks.wait(producer, deadline)
        except (KafkaException, BufferError, RuntimeError) as exc:
            raise PublishFailed(f"broker did not acknowledge the batch: {exc}") from exc
        if not acknowledged:
            raise PublishFailed(f"{acks.pending} of {len(items)} records unacknowledged after {self._timeout_s}s")
        if acks.error is not None:
            raise PublishFailed(f"broker did not acknowledge the batch: {acks.error.str()}")

    def _produce(self, producer: confluent_kafka.Producer, key: bytes | None, value: bytes, headers: _WireHeaders,
                 on_delivery: Callable[[KafkaError | None, Message], None], deadline: float) -> None:
        """Enqueue one record; while the local queue is full, serve delivery reports to make room."""
        while True:
            try:
                producer.produce(self._topic, value=value, key=key, headers=headers, on_delivery=on_delivery)
                return
            except BufferError:
                if time.monotonic() >= deadline:
                    raise
                producer.poll(0.05)

    def reset(self) -> None:
        """Drop the producer without waiting for what it still holds; no-op without a factory."""
        producer = self._slot.take() if self._slot.renewable else None
        if producer is not None:
            with contextlib.suppress(Exception):  # a broken producer may fail to purge; it is dropped anyway
                producer.purge()
                producer.close()

    def close(self) -> None:
        producer = self._slot.take()
        if producer is not None:
            producer.flush(self._timeout_s)
            producer.close()
