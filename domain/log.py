"""The recorded event: a validated touchpoint fact and its position in the global log."""

from __future__ import annotations

from dataclasses import dataclass, field

from contracts import Envelope
from domain.instants import epoch_us


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """A stored event as projections see it.

    `position` is the event's place in the store's global, append-only log (1-based, increasing; gaps are
    possible after failed transactions and must not be assumed away).

    `event_id` and `occurred_us` are the event's id as text and its instant in epoch microseconds, worked out
    once: a rebuild hands the same recorded event to every projection, and each one stores both.
    """

    position: int
    event: Envelope
    _event_id: str | None = field(default=None, init=False, repr=False, compare=False)
    _occurred_us: int | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def event_id(self) -> str:
        """`str(event.event_id)`."""
        found = self._event_id
        if found is None:
            found = str(self.event.event_id)
            object.__setattr__(self, "_event_id", found)  # a memo of the immutable event: not a change
        return found

    @property
    def occurred_us(self) -> int:
        """`epoch_us(event.occurred_at)`."""
        found = self._occurred_us
        if found is None:
            found = epoch_us(self.event.occurred_at)
            object.__setattr__(self, "_occurred_us", found)
        return found
