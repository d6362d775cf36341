"""A small publisher for departments that produce straight onto Kafka, and the JSON Lines loader behind
`touchline publish`. Events are validated locally first, so bad lines never reach the topic."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contracts import Envelope, InvalidEvent, parse
from services.adapters.kafka import backend
from services.adapters.kafka.producer import KafkaEventPublisher
from services.adapters.settings import KafkaClient, Settings

DEFAULT_TOPIC = "touchline.events.v1"


class TouchlinePublisher:
    """Validate and publish events onto the touchline events topic; returns once the broker acknowledged.

    >>> with TouchlinePublisher("kafka:9092") as publisher:          # doctest: +SKIP
    ...     publisher.publish([{"event_id": "...", "event_type": "call.received", ...}])
    """

    def __init__(self, bootstrap_servers: str, topic: str = DEFAULT_TOPIC, timeout_s: float = 30.0,
                 client: KafkaClient = "kafka-python") -> None:
        self._sender = backend.sender(client, bootstrap_servers, topic, timeout_s, connect_now=True)
        self._publisher = KafkaEventPublisher(self._sender)

    def publish(self, events: Iterable[Envelope | Mapping[str, Any]]) -> int:
        """Publish every event (raises InvalidEvent before sending anything if one is malformed)."""
        valid = [e if isinstance(e, Envelope) else parse(e) for e in events]
        self._publisher.publish(valid)
        return len(valid)

    def close(self) -> None:
        self._sender.close()

    def __enter__(self) -> TouchlinePublisher:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


@dataclass
class PublishReport:
    published: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)


def publish_jsonl(
    settings: Settings, path: Path, batch: int, on_progress: Callable[[int], None] = lambda _n: None
) -> PublishReport:
    """Publish a JSON Lines file in batches; invalid lines are reported (line number, field path) and skipped."""
    report = PublishReport()
    pending: list[Envelope] = []
    with TouchlinePublisher(settings.kafka_bootstrap_servers, settings.events_topic,
                            client=settings.kafka_client) as publisher, \
            path.open("rb") as lines:
        for number, line in enumerate(lines, start=1):
            if line.strip():
                _collect(line, number, pending, report)
            if len(pending) >= batch:
                report.published += publisher.publish(pending)
                pending.clear()
            on_progress(1)
        if pending:
            report.published += publisher.publish(pending)
    return report


def _collect(line: bytes, number: int, pending: list[Envelope], report: PublishReport) -> None:
    try:
        pending.append(parse(line))
    except InvalidEvent as exc:
        first = exc.errors[0]
        report.rejected.append((number, f"{first.loc or '(line)'}: {first.message}"))
