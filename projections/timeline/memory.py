"""The timeline in process memory: the reference implementation of `TimelineStore`, for tests and as-of."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from itertools import chain
from typing import Any

from domain.identity.identifiers import customer_key
from domain.instants import epoch_us
from domain.log import RecordedEvent
from projections.checksum import checksum
from projections.protocol import MemoryProjection
from projections.timeline.queries import NAME, Activity, TimelinePage, page_of, page_query
from projections.timeline.reducer import (
    KeyFn,
    TimelineEntry,
    TimelineOutput,
    TimelineState,
    Unattributed,
    fold,
    in_timeline_order,
)
from projections.timeline.rows import TABLE_NAMES, case_link_row, entry_row, unattributed_row


class MemoryTimelineStore(MemoryProjection):
    """The timeline in process memory: the reference implementation of the protocol, for unit tests."""

    name = NAME

    def __init__(self, key_fn: KeyFn = customer_key) -> None:
        self._key_fn = key_fn
        self.reset()

    def _clear(self) -> None:
        self._state = TimelineState()
        self._entries: dict[str, dict[str, TimelineEntry]] = {}  # customer_id -> event_id -> entry
        self._unattributed: dict[int, Unattributed] = {}
        self._case_links: dict[str, dict[str, Any]] = {}

    def _fold(self, events: list[RecordedEvent]) -> None:
        self._state, output = fold(events, self._key_fn, self._state)
        self._record(output)

    def page(
        self,
        customer_id: str | Sequence[str],
        *,
        channel: str | None = None,
        department: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> TimelinePage:
        query = page_query(customer_id, channel, department, since, until, cursor, limit)
        return page_of(in_timeline_order(e for e in self._mine(query.customer_ids) if query.accepts(e))[: limit + 1],
                       limit)

    def recent(self, customer_ids: Sequence[str], limit: int, until: datetime | None = None,
               ) -> list[TimelineEntry]:
        until_us = None if until is None else epoch_us(until)
        mine = [e for e in self._mine(customer_ids) if until_us is None or e.occurred_us < until_us]
        return in_timeline_order(mine)[::-1][:limit]

    def activity(self, customer_ids: Sequence[str], since: datetime, limit: int = 5000) -> list[Activity]:
        since_us = epoch_us(since)
        newest = in_timeline_order(e for e in self._mine(customer_ids) if e.occurred_us >= since_us)[::-1]
        return [Activity.of(e) for e in newest[:limit]]

    def _mine(self, customer_ids: Iterable[str]) -> Iterable[TimelineEntry]:
        return chain.from_iterable(self._entries.get(c, {}).values() for c in set(customer_ids))

    def positions_of(self, customer_ids: Sequence[str]) -> list[int]:
        """Log positions of the entries stored under any of `customer_ids`, ascending (what an export covers)."""
        return sorted({e.position for c in set(customer_ids) for e in self._entries.get(c, {}).values()})

    def count_entries(self) -> int:
        return sum(len(entries) for entries in self._entries.values())

    def count_unattributed(self) -> int:
        return len(self._unattributed)

    def checksum(self) -> str:
        rows = ((entry_row(e) for entries in self._entries.values() for e in entries.values()),
                (unattributed_row(u) for u in self._unattributed.values()),
                self._case_links.values())
        return checksum(self._position, zip(TABLE_NAMES, rows, strict=True))

    def _record(self, output: TimelineOutput) -> None:
        for entry in output.entries:
            self._entries.setdefault(entry.customer_id, {}).setdefault(entry.event_id, entry)
        for anomaly in output.unattributed:
            self._unattributed.setdefault(anomaly.position, anomaly)
        for link in output.case_links:
            self._case_links.setdefault(link.case_id, case_link_row(link))
