"""Applying a batch to one projection so that an event it cannot apply is parked, never a reason to stop the world.

When a batch fails for a projection with an error that belongs to the events (the reducer or the row preparation
raised, the database refused a value), the batch is bisected: each half is applied in its own transaction, down to
the single event that fails alone, which is parked (`ProjectionStore.park`: the failure recorded and the position
moved past it in one transaction) while every other event of the batch is applied. The projection's state is then
the fold of the log without its parked events, whatever the batch boundaries, so a rebuild (which meets the same
event and parks it too) ends where the live projector does.

Errors that say nothing about the events are not parked but raised, for the caller to retry: a lost connection,
a timeout, a serialisation failure or deadlock (OperationalError and kin), and errors of the schema itself
(ProgrammingError: a missing table would otherwise park every event).

A stored event that no longer decodes (its contract was tightened after it was recorded, or its topic names a
version this code does not know) cannot be given to any projection: `read_events` returns the events before it and
the row itself, which every projection then parks (`error_type` says why; `event_type` is the row's topic).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import orjson
from pydantic import ValidationError
from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout

from domain.log import RecordedEvent
from projections.protocol import MESSAGE_LIMIT, Failure, ProjectionStore, unapplied
from projections.sqlstore import RebuildChanged
from services.adapters.clock import Clock, utc_now
from services.adapters.metrics import PROJECTION_PARKED
from services.adapters.store.eventstore import EventStore, StoredLogEntry

log = logging.getLogger(__name__)

_NOT_THE_EVENTS = (OperationalError, InterfaceError, InternalError, ProgrammingError, NotSupportedError,
                   DisconnectionError, PoolTimeout, RebuildChanged, ConnectionError, TimeoutError, MemoryError)


_UNDECODABLE = (ValidationError, orjson.JSONDecodeError, KeyError)  # a row's bytes or topic, not the database


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A stored row that does not decode into an event, and why."""

    row: StoredLogEntry
    error: Exception


@dataclass(frozen=True, slots=True)
class Read:
    """Decoded events in log order and, when one stopped the read, the row after them that did not decode."""

    events: list[RecordedEvent]
    unreadable: Unreadable | None = None

    def last(self, otherwise: int) -> int:
        """The position the read reached (its last event or unreadable row)."""
        if self.unreadable is not None:
            return self.unreadable.row.position
        return self.events[-1].position if self.events else otherwise


def read_events(store: EventStore, after: int, limit: int, stop: int | None = None) -> Read:
    """Up to `limit` events past `after` (and up to `stop`); stops before a row that does not decode."""
    try:
        return Read(store.read(after, limit, stop))
    except _UNDECODABLE:
        log.warning("a stored event past position %d does not decode; reading row by row to find it", after)
    events: list[RecordedEvent] = []
    for row in store.read_raw(after, limit, stop):
        try:
            events.extend(RecordedEvent(row.position, event) for event in store.open([row]))
        except _UNDECODABLE as error:
            return Read(events, Unreadable(row, error))
    return Read(events)


def not_the_events(error: BaseException) -> bool:
    """Whether `error` says nothing about the events applied (retry the batch) rather than about one of them."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, _NOT_THE_EVENTS)


class Isolation:
    """Applies batches to projections, parking each event a projection cannot apply (`parked` lists them)."""

    def __init__(self, clock: Clock = utc_now) -> None:
        self._clock = clock
        self.parked: list[Failure] = []

    def apply(self, projection: ProjectionStore, events: Sequence[RecordedEvent]) -> int:
        """Apply `events` to `projection` (one transaction when all goes well); return its position."""
        try:
            return projection.apply(events)
        except Exception as error:
            if not_the_events(error):
                raise
            return self._bisect(projection, unapplied(events, projection.position()), error)

    def _bisect(self, projection: ProjectionStore, events: list[RecordedEvent], error: Exception) -> int:
        if not events:
            return projection.position()
        if len(events) == 1:
            return self._park(projection, events[0], error)
        middle = len(events) // 2
        self.apply(projection, events[:middle])
        return self.apply(projection, events[middle:])

    def park_unreadable(self, projection: ProjectionStore, unreadable: Unreadable) -> int:
        """Park a row that does not decode (the projection has applied everything before it)."""
        row, error = unreadable.row, unreadable.error
        kind = type(error)
        failure = Failure(projection.name, row.position, str(row.event_id), row.topic,
                          f"{kind.__module__}.{kind.__qualname__}", str(error)[:MESSAGE_LIMIT], self._clock())
        return self._parked(projection, failure, error)

    def _park(self, projection: ProjectionStore, recorded: RecordedEvent, error: Exception) -> int:
        return self._parked(projection, Failure.of(projection.name, recorded, error, self._clock()), error)

    def _parked(self, projection: ProjectionStore, failure: Failure, error: Exception) -> int:
        position = projection.park(failure)
        self.parked.append(failure)
        PROJECTION_PARKED.labels(projection.name).inc()
        log.error("projection %s parked the event at position %d (%s %s): %s: %s; it goes on without it "
                  "(GET /v1/projections/failures, `touchline projections retry` after a fix)", projection.name,
                  failure.position, failure.event_type, failure.event_id, failure.error_type,
                  failure.error_message, exc_info=error)
        return position

    def parked_positions(self, projection: str) -> set[int]:
        return {f.position for f in self.parked if f.projection == projection}
