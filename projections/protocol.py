"""What the projection engine needs of every read-model store."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from domain.log import RecordedEvent

MESSAGE_LIMIT = 2000  # characters of an error message kept with a parked event


@dataclass(frozen=True, slots=True)
class Failure:
    """A recorded event a projection could not apply: parked (skipped by that projection) and listed for operators.

    `failed_at` is when it failed this time; `first_failed_at`, `attempts` (times parked: live, then by each
    rebuild or retry that met it again) and `resolved_at` (set once a rebuild applied it) come from the store."""

    projection: str
    position: int
    event_id: str
    event_type: str
    error_type: str
    error_message: str
    failed_at: datetime
    first_failed_at: datetime | None = None
    attempts: int = 1
    resolved_at: datetime | None = None

    @classmethod
    def of(cls, projection: str, recorded: RecordedEvent, error: BaseException, at: datetime) -> Failure:
        kind = type(error)
        return cls(projection, recorded.position, str(recorded.event.event_id), recorded.event.event_type,
                   f"{kind.__module__}.{kind.__qualname__}", str(error)[:MESSAGE_LIMIT], at)


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

    def park(self, failure: Failure) -> int:
        """Skip the event at `failure.position` (the next one to apply): record why and move the position to it,
        in one transaction; nothing when the position is already there. Return the position."""


class MemoryProjection:
    """Base of the in-memory stores (the reference implementations, for tests and as-of): the position, and the
    events of each batch past it folded by `_fold`. Subclasses set their state up in `_clear`."""

    name: str
    _position: int = 0

    def create(self) -> None:
        return None

    def park(self, failure: Failure) -> int:
        if failure.position > self._position:
            self.parked()[failure.position] = failure
            self._position = failure.position
        return self._position

    def parked(self) -> dict[int, Failure]:
        """The events this store skipped, by position (kept across `reset`: a rebuild parks them again)."""
        found: dict[int, Failure] = self.__dict__.setdefault("_parked", {})
        return found

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
