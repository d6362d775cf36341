"""Event store: touchpoint events appended and read through eventsourcing's process recorder.

One stored event per touchpoint event: `originator_id` is the event's `event_id` and `originator_version` is 1,
so the store's unique key refuses a second copy of the same event. `state` is the canonical JSON of the
(protected) envelope and `topic` names its contract, so history never depends on a Python module path.
The global log position is eventsourcing's notification id.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from uuid import UUID

from eventsourcing.persistence import (
    InfrastructureFactory,
    IntegrityError,
    Notification,
    PersistenceError,
    ProcessRecorder,
    StoredEvent,
    Tracking,
)

from contracts import EVENT_TYPES, Envelope, to_canonical_json
from domain.log import RecordedEvent

TOPIC_PREFIX = "touchline:"


class StoreConflict(Exception):
    """An append was refused because an event id or a tracking position is already recorded."""


@dataclass(frozen=True, slots=True)
class StoredLogEntry:
    """A raw row of the global log: position, event id, contract topic and canonical bytes."""

    position: int
    event_id: UUID
    topic: str
    state: bytes


def environment_for(url: str, schema: str | None = None) -> dict[str, str]:
    """eventsourcing's persistence environment for a `sqlite:///PATH` or `postgresql://` URL."""
    if url.startswith("sqlite:///"):
        return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": url.removeprefix("sqlite:///")}
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    schema = schema or query.get("schema", [""])[0]
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": unquote(parts.path.lstrip("/")),
        "POSTGRES_HOST": parts.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_USER": unquote(parts.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
        "POSTGRES_CONNECT_TIMEOUT": "5",
        "POSTGRES_POOL_SIZE": "4",
        "POSTGRES_MAX_OVERFLOW": "8",
    }
    if schema:
        env["POSTGRES_SCHEMA"] = schema
    return env


def topic_of(event: Envelope) -> str:
    return f"{TOPIC_PREFIX}{event.event_type}@v{event.schema_version}"


def decode(topic: str, state: bytes) -> Envelope:
    """Rebuild the envelope of a stored event with the model its topic names."""
    event_type, _, version = topic.removeprefix(TOPIC_PREFIX).rpartition("@v")
    return EVENT_TYPES[(event_type, int(version))].model_validate_json(state)


class EventStore:
    """Append-only store of touchpoint events with atomic tracking of the input position."""

    def __init__(self, url: str, *, schema: str | None = None) -> None:
        self._factory = InfrastructureFactory.construct(environment_for(url, schema))
        self._recorder: ProcessRecorder = _create_tables_racing_others(self._factory)

    def close(self) -> None:
        self._factory.close()

    def append(self, events: Sequence[Envelope], tracking: Tracking | None = None) -> None:
        """Record `events` and, in the same transaction, the tracking position they came from.

        Raises StoreConflict (nothing written) when an event id is already recorded or the tracking position
        is not beyond the recorded one.
        """
        stored = [StoredEvent(e.event_id, 1, topic_of(e), to_canonical_json(e)) for e in events]
        try:
            self._recorder.insert_events(stored, tracking=tracking)
        except IntegrityError as exc:
            raise StoreConflict(str(exc)) from exc

    def recorded_ids(self, event_ids: Iterable[UUID]) -> set[UUID]:
        """The subset of `event_ids` already in the store."""
        return {eid for eid in event_ids if self._recorder.select_events(eid, limit=1)}

    def tracked(self, name: str) -> int | None:
        """The last input position recorded under `name`, e.g. "<topic>:<partition>" → offset."""
        return self._recorder.max_tracking_id(name)

    def head(self) -> int:
        """Position of the newest event in the global log (0 when empty)."""
        return self._recorder.max_notification_id() or 0

    def read_raw(self, after: int, limit: int, stop: int | None = None) -> list[StoredLogEntry]:
        """Up to `limit` log rows with positions > `after` (and ≤ `stop`), in log order."""
        rows: Sequence[Notification] = self._recorder.select_notifications(
            after, limit, stop, inclusive_of_start=False
        )
        return [StoredLogEntry(n.id, _as_uuid(n.originator_id), n.topic, n.state) for n in rows]

    def read(self, after: int, limit: int, stop: int | None = None) -> list[RecordedEvent]:
        """Decoded events with positions > `after`, in log order."""
        return [RecordedEvent(r.position, decode(r.topic, r.state)) for r in self.read_raw(after, limit, stop)]

    def ping(self) -> None:
        """Raise if the database cannot be reached."""
        self._recorder.max_notification_id()


def _create_tables_racing_others(factory: InfrastructureFactory[Any], attempts: int = 5) -> ProcessRecorder:
    """The process recorder, its tables created; processes starting together may race to create them."""
    for attempt in range(1, attempts + 1):
        try:
            return factory.process_recorder()
        except PersistenceError:
            if attempt == attempts:
                raise
            time.sleep(0.2 * attempt)
    raise AssertionError("unreachable")


def _as_uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))
