"""Producing to Kafka: touchpoint events (HTTP gateway, publisher CLI) and dead letters (recorder)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError

from contracts import Envelope, partition_key, to_canonical_json
from services.kafka.records import DeadLetter, Headers, PublishFailed

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
    return KafkaProducer(**(config | overrides))


class KafkaSender:
    """Sends batches of (key, value, headers) and returns only once every record is acknowledged."""

    def __init__(self, producer: KafkaProducer, topic: str, timeout_s: float = 30.0) -> None:
        self._producer = producer
        self._topic = topic
        self._timeout_s = timeout_s

    def send_all(self, items: Sequence[tuple[bytes | None, bytes, Headers]]) -> None:
        try:
            futures = [
                self._producer.send(self._topic, key=key, value=value, headers=list(headers))
                for key, value, headers in items
            ]
            self._producer.flush(timeout=self._timeout_s)
            for future in futures:
                future.get(timeout=self._timeout_s)
        except KafkaError as exc:
            raise PublishFailed(f"broker did not acknowledge the batch: {exc}") from exc

    def close(self) -> None:
        self._producer.close(timeout=self._timeout_s)


class KafkaEventPublisher:
    """EventPublisher onto the events topic: key = partition key, value = canonical JSON."""

    def __init__(self, sender: KafkaSender) -> None:
        self._sender = sender

    def publish(self, events: Sequence[Envelope]) -> None:
        self._sender.send_all([(partition_key(e), to_canonical_json(e), event_headers(e)) for e in events])


class KafkaDeadLetterSink:
    """DeadLetterSink onto the dead-letter topic, keeping the original key and value untouched."""

    def __init__(self, sender: KafkaSender) -> None:
        self._sender = sender

    def send(self, letters: Sequence[DeadLetter]) -> None:
        self._sender.send_all([(d.record.key, d.record.value or b"", dlq_headers(d)) for d in letters])
        for letter in letters:
            r = letter.record
            log.warning("dead-lettered %s:%s@%s: %s", r.topic, r.partition, r.offset, letter.reason)


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
