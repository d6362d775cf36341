"""As-of: a customer's timeline, a case and its SLA clocks as they stood at a log position or an instant.

Pure replay of the log's prefix 1..N into in-memory stores (nothing is written anywhere). An instant is turned
into a position by `position_at` (the audit chain's recording-time index: "what had been recorded by then"),
never by the events' own `occurred_at`, which says when things happened, not when operations could see them.
Only the projections the question needs are folded; the prefix is bounded by `max_events`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TypeVar

from sqlalchemy import Engine

from domain.identity.graph import DEFAULT_SHARED_THRESHOLD
from projections.cases.memory import MemoryCasesStore
from projections.cases.queries import NAME as CASES
from projections.customers.memory import MemoryCustomerStore
from projections.customers.queries import NAME as CUSTOMERS
from projections.protocol import MemoryProjection
from projections.registry import StoreOptions, memory_stores, with_consulted
from projections.sla.memory import MemorySlaStore
from projections.sla.queries import NAME as SLA
from projections.timeline.memory import MemoryTimelineStore
from projections.timeline.queries import NAME as TIMELINE
from services.adapters.store.eventstore import EventStore
from services.application.audit.chain import position_at

PositionAt = Callable[[datetime], int]
S = TypeVar("S", bound=MemoryProjection)
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
    """The read models folded from the log's first `position` events, by projection name; `now` is the instant
    views are computed for (the instant asked, else the latest `occurred_at` in the prefix, unless given)."""

    position: int
    now: datetime | None
    stores: Mapping[str, MemoryProjection]

    @property
    def timeline(self) -> MemoryTimelineStore | None:
        return self._store(TIMELINE, MemoryTimelineStore)

    @property
    def customers(self) -> MemoryCustomerStore | None:
        """Identity as it stood then: which anchors were one customer."""
        return self._store(CUSTOMERS, MemoryCustomerStore)

    @property
    def cases(self) -> MemoryCasesStore | None:
        return self._store(CASES, MemoryCasesStore)

    @property
    def sla(self) -> MemorySlaStore | None:
        return self._store(SLA, MemorySlaStore)

    def _store(self, name: str, kind: type[S]) -> S | None:
        found = self.stores.get(name)
        return found if isinstance(found, kind) else None


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
        """Fold events 1..`position` into the stores the question needs: the timeline for a customer, cases for a
        case, and the projections their readers consult (projections.registry)."""
        if position > self._max:
            raise ReplayTooLong(f"replaying {position} events exceeds the bound of {self._max}")
        asked = [*([TIMELINE] if customer else []), *([CASES] if case else [])]
        stores = memory_stores(StoreOptions(self._shared_threshold), with_consulted(asked))
        latest, after = None, 0
        while after < position and (events := self._store.read(after, BATCH, stop=position)):
            for store in stores.values():
                store.apply(events)
            newest = max(e.event.occurred_at for e in events)
            latest = newest if latest is None else max(latest, newest)
            after = events[-1].position
        return AsOf(after, now or latest, stores)


def chain_index(engine: Engine) -> PositionAt:
    """The audit chain's recording-time index on `engine` (instant → last position the chainer had recorded)."""
    return partial(position_at, engine)
