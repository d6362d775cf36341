"""Questions a timeline store answers: the store protocol, validated page requests and their cursors (pure)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from domain.instants import epoch_us
from domain.log import RecordedEvent
from projections.cursor import InvalidCursor, pack, unpack
from projections.timeline.reducer import TimelineEntry

NAME = "timeline"
_CURSOR = re.compile(r"(-?[0-9]{1,20}):([0-9]{1,20})")


@dataclass(frozen=True, slots=True)
class TimelinePage:
    """One page of a timeline; `next_cursor` is None on the last page."""

    entries: tuple[TimelineEntry, ...]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class Activity:
    """When, where and what: enough of an entry to count contacts by channel and type."""

    occurred_us: int
    channel: str
    department: str
    event_type: str

    @classmethod
    def of(cls, entry: TimelineEntry) -> Activity:
        return cls(entry.occurred_us, entry.channel, entry.department, entry.event_type)


class TimelineStore(Protocol):
    """Where the timeline is kept.

    `apply` takes events in any order and with redeliveries: events at or below the stored position are skipped,
    the rest are applied in log order in one transaction together with the new position (exactly-once effect).
    Entries are stored under the event's anchor (`customer_key`); a resolved customer covers one or more anchors,
    so the queries take one id or several. `page` lists those entries ascending by (occurred_us, position);
    `since` is inclusive, `until` exclusive; `cursor` is the previous page's `next_cursor` (InvalidCursor if
    malformed). `recent` lists the newest entries first (those occurring before `until`, when given); `activity`
    the (time, channel, type) of entries since an instant, newest first, for counting contacts.
    `checksum` is a sha256 of the position and every row of every table (equal content, equal checksum).
    """

    name: str

    def create(self) -> None: ...
    def position(self) -> int: ...
    def reset(self) -> None: ...
    def apply(self, events: Sequence[RecordedEvent]) -> int: ...
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
    ) -> TimelinePage: ...
    def recent(self, customer_ids: Sequence[str], limit: int, until: datetime | None = None,
               ) -> list[TimelineEntry]: ...
    def activity(self, customer_ids: Sequence[str], since: datetime, limit: int = 5000) -> list[Activity]: ...
    def positions_of(self, customer_ids: Sequence[str]) -> list[int]: ...
    def count_entries(self) -> int: ...
    def count_unattributed(self) -> int: ...
    def checksum(self) -> str: ...


def encode_cursor(entry: TimelineEntry) -> str:
    """An opaque cursor pointing just after `entry` in timeline order."""
    return pack(f"{entry.occurred_us}:{entry.position}")


def decode_cursor(cursor: str) -> tuple[int, int]:
    """The (occurred_us, position) a cursor points after; InvalidCursor if it is not one of ours."""
    match = unpack(cursor, _CURSOR, "timeline")
    return int(match[1]), int(match[2])


@dataclass(frozen=True, slots=True)
class PageQuery:
    """A validated page request: filters in the stored representation."""

    customer_ids: tuple[str, ...]
    channel: str | None
    department: str | None
    since_us: int | None
    until_us: int | None
    after: tuple[int, int] | None
    limit: int

    def accepts(self, entry: TimelineEntry) -> bool:
        return (
            (self.channel is None or entry.channel == self.channel)
            and entry.customer_id in self.customer_ids
            and (self.department is None or entry.department == self.department)
            and (self.since_us is None or entry.occurred_us >= self.since_us)
            and (self.until_us is None or entry.occurred_us < self.until_us)
            and (self.after is None or entry.sort_key > self.after)
        )


def page_query(
    customer_id: str | Sequence[str],
    channel: str | None,
    department: str | None,
    since: datetime | None,
    until: datetime | None,
    cursor: str | None,
    limit: int,
) -> PageQuery:
    """Validate page arguments: `since` inclusive, `until` exclusive, both aware; limit at least 1."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    return PageQuery(
        customer_ids=(customer_id,) if isinstance(customer_id, str) else tuple(sorted(set(customer_id))),
        channel=str(channel) if channel is not None else None,
        department=department,
        since_us=epoch_us(since) if since is not None else None,
        until_us=epoch_us(until) if until is not None else None,
        after=decode_cursor(cursor) if cursor is not None else None,
        limit=limit,
    )


def page_of(rows: Sequence[TimelineEntry], limit: int) -> TimelinePage:
    """The first `limit` of up to limit + 1 ordered rows, with a cursor when more follow."""
    entries = tuple(rows[:limit])
    more = len(rows) > limit
    return TimelinePage(entries, encode_cursor(entries[-1]) if more else None)


__all__ = ["NAME", "Activity", "InvalidCursor", "PageQuery", "TimelinePage", "TimelineStore", "decode_cursor",
           "encode_cursor", "page_of", "page_query"]
