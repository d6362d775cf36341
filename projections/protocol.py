"""What the projection engine needs of every read-model store."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from domain.log import RecordedEvent


class ProjectionStore(Protocol):
    """A read model fed from the global log; its position is written with its rows, atomically."""

    name: str

    def create(self) -> None:
        """Create tables if missing (idempotent)."""

    def position(self) -> int:
        """Last log position applied (0 when none)."""

    def apply(self, events: Sequence[RecordedEvent]) -> int:
        """Apply a batch in one transaction with the new position; skip events at or below the position."""

    def reset(self) -> None:
        """Forget everything (rows and position), for a rebuild from zero."""


class MemoryProjection:
    """Base of the in-memory stores (the reference implementations, for tests and as-of): the position, and the
    events of each batch past it folded by `_fold`. Subclasses set their state up in `_clear`."""

    name: str
    _position: int = 0

    def create(self) -> None:
        return None

    def position(self) -> int:
        return self._position

    def reset(self) -> None:
        self._position = 0
        self._clear()

    def apply(self, events: Sequence[RecordedEvent]) -> int:
        todo = unapplied(events, self._position)
        if todo:
            self._fold(todo)
            self._position = todo[-1].position
        return self._position

    def checksum(self) -> str:
        raise NotImplementedError

    def checksum_at(self) -> tuple[int, str]:
        """(position, checksum): nothing else writes to a store in memory meanwhile."""
        return self._position, self.checksum()

    def _clear(self) -> None:
        raise NotImplementedError

    def _fold(self, events: list[RecordedEvent]) -> None:
        raise NotImplementedError


def unapplied(events: Iterable[RecordedEvent], after: int) -> list[RecordedEvent]:
    """Events past `after`, once each, in log order: what a store still has to apply from a batch."""
    by_position = {r.position: r for r in events if r.position > after}
    return [by_position[p] for p in sorted(by_position)]
