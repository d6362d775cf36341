"""The promise ledger: every promised callback, kept on time, kept late, broken, pending or released."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from domain.evolve import evolve as replace


class PromiseStatus(StrEnum):
    """How a promised callback turned out, as of an instant."""

    PENDING = "pending"  # not yet due, not yet made
    KEPT_ON_TIME = "kept_on_time"
    KEPT_LATE = "kept_late"
    BROKEN = "broken"  # due time passed without a callback
    RELEASED = "released"  # the case was resolved before the due time, so no callback was owed


@dataclass(frozen=True, slots=True)
class Promise:
    """A callback promised to a customer by an agent of a department."""

    promise_id: str
    case_id: str | None
    department: str
    agent: str | None
    customer_id: str | None
    promised_at: datetime
    due_at: datetime
    reason: str
    event_id: str
    made_at: datetime | None = None
    outcome: str | None = None
    released_at: datetime | None = None

    def status(self, now: datetime) -> PromiseStatus:
        """The promise's standing at `now` (a pure function of the recorded facts and `now`)."""
        if self.made_at is not None:
            return PromiseStatus.KEPT_ON_TIME if self.made_at <= self.due_at else PromiseStatus.KEPT_LATE
        if self.released_at is not None and self.released_at <= self.due_at:
            return PromiseStatus.RELEASED
        return PromiseStatus.BROKEN if self.due_at < now else PromiseStatus.PENDING

    def made(self, at: datetime, outcome: str) -> Promise:
        """The first callback made keeps the promise; later ones change nothing."""
        return self if self.made_at is not None else replace(self, made_at=at, outcome=outcome)

    def released(self, at: datetime) -> Promise:
        if self.made_at is not None or self.released_at is not None:
            return self
        return replace(self, released_at=at)


def tally(promises: Iterable[Promise], now: datetime) -> dict[str, int]:
    """Count of promises per status (every status present, zero if none)."""
    counts = Counter(p.status(now) for p in promises)
    return {status.value: counts.get(status, 0) for status in PromiseStatus}
