"""As-of: a customer's timeline, a case and its SLA clocks as they stood at a log position or an instant.

Pure replay of the log's prefix 1..N into in-memory stores (nothing is written anywhere). An instant is turned
into a position by `position_at` (the audit chain's recording-time index: "what had been recorded by then"),
never by the events' own `occurred_at`, which says when things happened, not when operations could see them.
Only the projections the question needs are folded; the prefix is bounded by `max_events`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from sqlalchemy import Engine

from domain.identity.graph import DEFAULT_SHARED_THRESHOLD
from projections.cases.store import MemoryCasesStore
from projections.customers.store import MemoryCustomerStore
from projections.sla.queries import MemorySlaStore
from projections.timeline.store import MemoryTimelineStore
from services.audit.chain import position_at
from services.store.eventstore import EventStore

PositionAt = Callable[[datetime], int]
MAX_EVENTS = 1_000_000
BATCH = 10_000


class AsOfError(Exception):
    """Base of as-of errors.

    AsOfError
    ├── NoTimeIndex      an instant was asked for but no recording-time index is wired (`position_at`)
    └── ReplayTooLong    the prefix to replay exceeds `max_events`
    """


class NoTimeIndex(AsOfError):
    pass


class ReplayTooLong(AsOfError):
    pass


@dataclass(frozen=True)
class AsOf:
    """The read models folded from the log's first `position` events; `now` is the instant views are computed
    for (the instant asked, else the latest `occurred_at` in the prefix, unless given)."""

    position: int
    now: datetime | None
    timeline: MemoryTimelineStore | None
    customers: MemoryCustomerStore | None  # identity as it stood then: which anchors were one customer
    cases: MemoryCasesStore | None
    sla: MemorySlaStore | None


class AsOfReplayer:
    """Answers as-of questions by replaying the event store's log prefix into memory."""

    def __init__(self, store: EventStore, position_at: PositionAt | None = None, *,
                 max_events: int = MAX_EVENTS, shared_threshold: int = DEFAULT_SHARED_THRESHOLD) -> None:
        self._store, self._position_at, self._max = store, position_at, max_events
        self._shared_threshold = shared_threshold

    def resolve(self, position: int | None, at: datetime | None) -> int:
        """The log position of the question: `position` as given (capped at the head), or `at` through the
        recording-time index."""
        if position is not None:
            return min(position, self._store.head())
        if at is None:
            raise ValueError("give a position or an instant")
        if self._position_at is None:
            raise NoTimeIndex("no recording-time index (the audit chain) is wired: ask by position")
        return self._position_at(at)

    def state(self, position: int, *, customer: bool, case: bool, now: datetime | None = None) -> AsOf:
        """Fold events 1..`position` into the stores the question needs (the timeline for a customer, cases and
        SLA for a case)."""
        if position > self._max:
            raise ReplayTooLong(f"replaying {position} events exceeds the bound of {self._max}")
        timeline = MemoryTimelineStore() if customer else None
        customers = MemoryCustomerStore(self._shared_threshold) if customer else None
        cases, sla = (MemoryCasesStore(), MemorySlaStore()) if case else (None, None)
        stores = [s for s in (timeline, customers, cases, sla) if s is not None]
        latest, after = None, 0
        while after < position and (events := self._store.read(after, BATCH, stop=position)):
            for store in stores:
                store.apply(events)
            newest = max(e.event.occurred_at for e in events)
            latest = newest if latest is None else max(latest, newest)
            after = events[-1].position
        return AsOf(after, now or latest, timeline, customers, cases, sla)


def chain_index(engine: Engine) -> PositionAt:
    """The audit chain's recording-time index on `engine` (instant → last position the chainer had recorded)."""
    return partial(position_at, engine)
