"""Producing to Kafka: touchpoint events (HTTP gateway, publisher CLI) and dead letters (recorder). The sender is
kafka-python's; the publisher and the dead-letter sink take either library's (services.adapters.kafka.backend)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Any

import orjson
from kafka import KafkaProducer
from kafka.errors import KafkaError

from contracts import Envelope, partition_key, to_canonical_json
from services.adapters.kafka.clients import construct
from services.adapters.kafka.records import DeadLetter, Headers, PublishFailed, RecordSender
from services.adapters.kafka.slot import ProducerSlot

log = logging.getLogger(__name__)


def event_headers(event: Envelope) -> Headers:
    return (
        ("event-type", event.event_type.encode()),
        ("schema-version", str(event.schema_version).encode()),
        ("content-type", b"application/json"),
    )


def make_producer(bootstrap_servers: str, **overrides: Any) -> KafkaProducer:
    """A producer that waits for all in-sync replicas and never reorders or duplicates on retry."""
    config: dict[str, Any] = {
        "bootstrap_servers": bootstrap_servers.split(","),
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 5,
        "batch_size": 256 * 1024,
        "max_request_size": 8 * 1024 * 1024,
        "client_id": "touchline",
    }
    return construct(KafkaProducer, **(config | overrides))


class KafkaSender:
    """Sends batches of (key, value, headers) and returns only once every record is acknowledged.

    Built from a producer, or from a factory of producers (`connecting`): then `reset` drops the producer (after a
    failure it may be wedged: fenced, or its idempotence state lost) and the next batch creates a new one."""

    def __init__(self, producer: KafkaProducer | None, topic: str, timeout_s: float = 30.0, *,
                 factory: Callable[[], KafkaProducer] | None = None) -> None:
        self._slot = ProducerSlot(producer, factory)
        self._topic = topic
        self._timeout_s = timeout_s

    @classmethod
    def connecting(cls, bootstrap_servers: str, topic: str, timeout_s: float = 30.0, **overrides: Any) -> KafkaSender:
        """A sender that creates its producer on first use and again after `reset`."""
        return cls(None, topic, timeout_s, factory=lambda: make_producer(bootstrap_servers, **overrides))

    @classmethod
    def opened(cls, bootstrap_servers: str, topic: str, timeout_s: float = 30.0, **overrides: Any) -> KafkaSender:
        """A sender over a producer created now (so a broker that cannot be reached fails here)."""
        return cls(make_producer(bootstrap_servers, **overrides), topic, timeout_s)

    def send_all(self, items: Sequence[tuple[bytes | None, bytes, Headers]]) -> None:
        try:
            producer = self._slot.current()
            futures = [
                producer.send(self._topic, key=key, value=value, headers=list(headers))
                for key, value, headers in items
            ]
            producer.flush(timeout=self._timeout_s)
            for future in futures:
                future.get(timeout=self._timeout_s)
        except KafkaError as exc:
            raise PublishFailed(f"broker did not acknowledge the batch: {exc}") from exc

    def reset(self) -> None:
        """Close the producer (briefly: it may be broken); the next batch connects anew. No-op without a factory."""
        producer = self._slot.take() if self._slot.renewable else None
        if producer is not None:
            with contextlib.suppress(Exception):  # a wedged producer may fail to close; it is dropped anyway
                producer.close(timeout=1.0)

    def close(self) -> None:
        producer = self._slot.take()
        if producer is not None:
            producer.close(timeout=self._timeout_s)


class KafkaEventPublisher:
    """EventPublisher onto the events topic: key = partition key, value = canonical JSON."""

    def __init__(self, sender: RecordSender) -> None:
        self._sender = sender

    def publish(self, events: Sequence[Envelope]) -> None:
        try:
            self._sender.send_all([(partition_key(e), to_canonical_json(e), event_headers(e)) for e in events])
        except PublishFailed:
            self._sender.reset()  # the next publish starts on a fresh producer
            raise


class KafkaDeadLetterSink:
    """DeadLetterSink onto the dead-letter topic, keeping the original key and value untouched."""

    def __init__(self, sender: RecordSender) -> None:
        self._sender = sender

    def send(self, letters: Sequence[DeadLetter]) -> None:
        self._sender.send_all([(d.record.key, d.record.value or b"", dlq_headers(d)) for d in letters])
        for letter in letters:
            r = letter.record
            log.warning("dead-lettered %s:%s@%s: %s", r.topic, r.partition, r.offset, letter.reason,
                        extra={"topic": r.topic, "partition": r.partition, "offset": r.offset,
                               "reason": letter.reason, "event_id": _event_id(r.value)})


def dlq_headers(letter: DeadLetter) -> Headers:
    r = letter.record
    own = (
        ("dlq-reason", letter.reason.encode()),
        ("dlq-errors", letter.errors_json),
        ("source-topic", r.topic.encode()),
        ("source-partition", str(r.partition).encode()),
        ("source-offset", str(r.offset).encode()),
    )
    kept = tuple((k, v) for k, v in r.headers if not k.startswith(("dlq-", "source-")))
    return own + letter.extra + kept


def _event_id(value: bytes | None) -> str | None:
    """The record's event_id when its value is a JSON object that has one (a dead letter may not)."""
    try:
        data = orjson.loads(value or b"")
    except orjson.JSONDecodeError:
        return None
    found = data.get("event_id") if isinstance(data, dict) else None
    return found if isinstance(found, str) else None
