"""Transport-neutral records and the small ports the pipeline needs: sender, publisher and record source."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from contracts import Envelope

Headers = tuple[tuple[str, bytes], ...]
TrackedOffset = Callable[[str], int | None]
"""The event store's last recorded offset of a "topic:partition" (None: nothing recorded yet)."""


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """One record as consumed: where it came from and its raw bytes."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Headers = ()

    @property
    def tracking_name(self) -> str:
        return f"{self.topic}:{self.partition}"


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A record that could not be recorded, with the reason and the field errors as JSON."""

    record: SourceRecord
    reason: str
    errors_json: bytes = b"[]"
    extra: Headers = field(default=())


class PublishFailed(Exception):
    """The broker did not acknowledge every record (nothing may be assumed published)."""


class RecordSender(Protocol):
    """Sends (key, value, headers) batches to one topic; either client library implements it (backend.py)."""

    def send_all(self, items: Sequence[tuple[bytes | None, bytes, Headers]]) -> None:
        """Return once the broker acknowledged every record (acks=all); raise PublishFailed."""

    def reset(self) -> None:
        """Drop the producer after a failure (it may be wedged); the next batch connects anew."""

    def close(self) -> None: ...


class EventPublisher(Protocol):
    def publish(self, events: Sequence[Envelope]) -> None:
        """Publish and wait until the broker acknowledged all of them (acks=all); raise PublishFailed."""


class DeadLetterSink(Protocol):
    def send(self, letters: Sequence[DeadLetter]) -> None:
        """Publish dead letters and wait for acknowledgement; raise PublishFailed."""


class RecordSource(Protocol):
    def poll(self, timeout_s: float) -> Sequence[SourceRecord]:
        """Next records (possibly none), in offset order per partition."""

    def commit(self, next_offsets: Mapping[tuple[str, int], int]) -> None:
        """Tell the broker how far we got (for lag monitoring; the store's tracking is authoritative)."""

    def assignment(self) -> set[tuple[str, int]]:
        """(topic, partition) pairs currently assigned to this consumer."""

    def lag(self) -> dict[tuple[str, int], int | None]:
        """Per assigned partition, records on the broker not yet consumed (None until the broker said)."""

    def close(self) -> None: ...
