"""Questions a cases store answers: the store protocol, validated filters, their in-memory meaning, page cursors."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from domain.cases import CaseState
from domain.instants import epoch_us
from domain.log import RecordedEvent
from projections.cases.rows import AnomalyRow, CaseRow, ContactRow, HandoffRow
from projections.cursor import pack, unpack

NAME = "cases"
MAX_LIMIT = 1000
_CURSOR = re.compile(r"(-?[0-9]{1,20}):(.{1,200})", re.DOTALL)


@dataclass(frozen=True, slots=True)
class CaseQuery:
    """Cases to list, oldest opened first (ties by case id). Every filter given must hold.

    `opened_before` is exclusive and `opened_after` inclusive (age filters become these, given `now`);
    `pending_to` selects cases waiting for that department's acceptance; `min_returns` ping-pong cases.
    """

    holder: str | None = None
    statuses: tuple[str, ...] = ()
    customer_id: str | None = None
    pending_to: str | None = None
    opened_before: datetime | None = None
    opened_after: datetime | None = None
    min_returns: int = 0
    min_repeat_contacts: int = 0
    with_anomalies: bool = False
    cursor: str | None = None
    limit: int = 100
    customer_ids: tuple[str, ...] = ()  # any of these stored customer ids (the anchors of a resolved customer)
    involving: str | None = None  # only cases the department holds or handed or was handed (`involves`)

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_LIMIT:
            raise ValueError(f"limit must be between 1 and {MAX_LIMIT}")
        if self.cursor is not None:
            decode_cursor(self.cursor)

    @property
    def after(self) -> tuple[int, str] | None:
        return decode_cursor(self.cursor) if self.cursor is not None else None

    def accepts(self, row: CaseRow) -> bool:
        after = self.after
        return (
            (self.holder is None or row.holder == self.holder)
            and (not self.statuses or row.status in self.statuses)
            and (self.customer_id is None or row.customer_id == self.customer_id)
            and (not self.customer_ids or row.customer_id in self.customer_ids)
            and (self.pending_to is None or row.pending_to == self.pending_to)
            and (self.opened_before is None or row.opened_us < epoch_us(self.opened_before))
            and (self.opened_after is None or row.opened_us >= epoch_us(self.opened_after))
            and row.returns >= self.min_returns
            and row.repeat_contacts >= self.min_repeat_contacts
            and (not self.with_anomalies or row.anomalies > 0)
            and (after is None or (row.opened_us, row.case_id) > after)
        )

    def unpaged(self) -> CaseQuery:
        """The same filters without cursor (for counting)."""
        return CaseQuery(self.holder, self.statuses, self.customer_id, self.pending_to, self.opened_before,
                         self.opened_after, self.min_returns, self.min_repeat_contacts, self.with_anomalies,
                         customer_ids=self.customer_ids, involving=self.involving)


@dataclass(frozen=True, slots=True)
class CasePage:
    """One page of cases; `next_cursor` is None on the last page."""

    cases: tuple[CaseState, ...]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class HandoffQuery:
    """Handoffs between departments, handed off in [since, until); `pending` selects those still waiting."""

    from_department: str | None = None
    to_department: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    pending: bool = False

    def accepts(self, row: HandoffRow) -> bool:
        return (
            (self.from_department is None or row.from_department == self.from_department)
            and (self.to_department is None or row.to_department == self.to_department)
            and (self.since is None or row.handed_us >= epoch_us(self.since))
            and (self.until is None or row.handed_us < epoch_us(self.until))
            and (not self.pending or row.outcome == "pending")
        )


@dataclass(frozen=True, slots=True)
class ContactQuery:
    """Repeat contacts that occurred in [since, until), optionally to one department or over one channel."""

    department: str | None = None
    channel: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def accepts(self, row: ContactRow) -> bool:
        return (
            (self.department is None or row.department == self.department)
            and (self.channel is None or row.channel == self.channel)
            and (self.since is None or row.occurred_us >= epoch_us(self.since))
            and (self.until is None or row.occurred_us < epoch_us(self.until))
        )



class CasesStore(Protocol):
    """Where the cases read model is kept.

    `apply` takes events in any order and with redeliveries: events at or below the stored position are skipped,
    the rest are applied in log order in one transaction together with the new position, loading only the cases
    the batch touches. Lists come back in a stable order: cases oldest opened first (then by id), handoffs by
    (case, seq), contacts and anomalies by (case, position). `checksum` is a sha256 of the position and every row.
    """

    name: str

    def create(self) -> None: ...
    def position(self) -> int: ...
    def reset(self) -> None: ...
    def apply(self, events: Sequence[RecordedEvent]) -> int: ...
    def case(self, case_id: str) -> CaseState | None: ...
    def cases(self, query: CaseQuery) -> CasePage: ...
    def count(self, query: CaseQuery) -> int: ...
    def handoffs(self, query: HandoffQuery) -> list[HandoffRow]: ...
    def contacts(self, query: ContactQuery) -> list[ContactRow]: ...
    def anomalies(self, kind: str | None = None) -> list[AnomalyRow]: ...
    def checksum(self) -> str: ...

def page_of(states: Sequence[CaseState], limit: int) -> CasePage:
    """The first `limit` of up to limit + 1 ordered cases, with a cursor when more follow."""
    shown = tuple(states[:limit])
    return CasePage(shown, encode_cursor(shown[-1]) if len(states) > limit else None)


def encode_cursor(row: CaseRow | CaseState) -> str:
    """An opaque cursor pointing just after a case in board order."""
    opened_us = row.opened_us if isinstance(row, CaseRow) else epoch_us(_opened_at(row))
    return pack(f"{opened_us}:{row.case_id}")


def decode_cursor(cursor: str) -> tuple[int, str]:
    """The (opened_us, case_id) a cursor points after; InvalidCursor if it is not one of ours."""
    match = unpack(cursor, _CURSOR, "case")
    return int(match[1]), match[2]


def involves(state: CaseState, department: str) -> bool:
    """The department holds the case, or handed it off, or was handed it (pending, accepted or not): what a
    department token may read of cases. An opener that no longer holds the case handed it off."""
    return state.holder == department or any(
        department in (h.from_department, h.to_department) for h in state.handoffs)


def anomaly_counts(rows: list[AnomalyRow]) -> dict[str, int]:
    """Anomalies per kind, kinds sorted."""
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.kind] = counts.get(row.kind, 0) + 1
    return dict(sorted(counts.items()))


def _opened_at(state: CaseState) -> datetime:
    assert state.opened_at is not None
    return state.opened_at
