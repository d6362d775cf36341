"""The recorded event: a validated touchpoint fact and its position in the global log."""

from __future__ import annotations

from dataclasses import dataclass

from contracts import Envelope


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """A stored event as projections see it.

    `position` is the event's place in the store's global, append-only log (1-based, increasing; gaps are
    possible after failed transactions and must not be assumed away).
    """

    position: int
    event: Envelope
