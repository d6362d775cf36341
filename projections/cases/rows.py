"""Read-model rows of a case: one summary row, and one row per handoff, repeat contact and anomaly.

Every row is a pure function of the case's state, so both stores hold the same rows and the checksum is over them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import orjson

from domain.cases.model import CaseState, bounced
from domain.instants import epoch_us
from projections.cases.codec import canonical_json, encode, to_data
from projections.checksum import lines_checksum


@dataclass(frozen=True, slots=True)
class CaseRow:
    """The board's row of a case; `state` is the case's canonical JSON."""

    case_id: str
    customer_id: str | None
    status: str
    holder: str
    pending_to: str | None
    opened_at: datetime
    opened_us: int
    last_position: int
    case_type: str
    priority: str
    subject: str
    handoffs: int
    returns: int
    repeat_contacts: int
    anomalies: int
    state: str


@dataclass(frozen=True, slots=True)
class HandoffRow:
    """One handoff, for the matrix, dropped handoffs and ping-pong (`returned`, `bounced` are 0 or 1)."""

    case_id: str
    seq: int
    position: int
    event_id: str
    from_department: str
    to_department: str
    handed_at: datetime
    handed_us: int
    ended_at: datetime | None
    accepted_at: datetime | None
    outcome: str
    returned: int
    bounced: int
    case_type: str
    priority: str


@dataclass(frozen=True, slots=True)
class ContactRow:
    """One repeat contact."""

    case_id: str
    position: int
    event_id: str
    event_type: str
    occurred_at: datetime
    occurred_us: int
    channel: str
    department: str
    holder: str
    via: str


@dataclass(frozen=True, slots=True)
class AnomalyRow:
    """One anomaly of a case."""

    case_id: str
    position: int
    kind: str
    event_id: str
    event_type: str
    detail: str


@dataclass(frozen=True, slots=True)
class CaseRows:
    """All rows of one case."""

    case: CaseRow
    handoffs: tuple[HandoffRow, ...]
    contacts: tuple[ContactRow, ...]
    anomalies: tuple[AnomalyRow, ...]


def rows_of(state: CaseState) -> CaseRows:
    """The rows of a known case (its `opened_at` is set once any event of it was seen)."""
    assert state.opened_at is not None, "only known cases have rows"
    pending = state.pending
    case = CaseRow(
        state.case_id, state.customer_id, state.status.value, state.holder,
        pending.to_department if pending else None, state.opened_at, epoch_us(state.opened_at),
        state.last_position, state.case_type, state.priority, state.subject, len(state.handoffs), state.returns,
        len(state.contacts), len(state.anomalies), encode(state),
    )
    return CaseRows(case, _handoff_rows(state), _contact_rows(state), _anomaly_rows(state))


def _handoff_rows(state: CaseState) -> tuple[HandoffRow, ...]:
    back = bounced(state.handoffs)
    return tuple(
        HandoffRow(state.case_id, h.seq, h.position, h.event_id, h.from_department, h.to_department, h.handed_at,
                   epoch_us(h.handed_at), h.ended_at, h.accepted_at, h.outcome.value, int(h.returned),
                   int(h.seq in back), h.case_type, h.priority)
        for h in state.handoffs
    )


def _contact_rows(state: CaseState) -> tuple[ContactRow, ...]:
    return tuple(
        ContactRow(state.case_id, c.position, c.event_id, c.event_type, c.occurred_at, epoch_us(c.occurred_at),
                   c.channel, c.department, c.holder, c.via)
        for c in state.contacts
    )


def _anomaly_rows(state: CaseState) -> tuple[AnomalyRow, ...]:
    unique = {(a.position, a.kind.value): a for a in state.anomalies}
    return tuple(AnomalyRow(state.case_id, position, kind, a.event_id, a.event_type, a.detail)
                 for (position, kind), a in sorted(unique.items()))


def checksum(position: int, tables: Iterable[tuple[str, Iterable[object]]]) -> str:
    """sha256 over the position and each table's rows in a canonical order (sorted by their JSON lines)."""
    return lines_checksum(position, ((name, (line_of(to_data(_values(row))) for row in rows))
                                     for name, rows in tables))


def line_of(values: list[Any]) -> str:
    """`canonical_json` of a row's plain values: by orjson when every value is a string, an integer of 64 bits,
    a boolean or None (which it writes identically, several times faster), else by the json module."""
    if _PLAIN.issuperset(map(type, values)):
        try:
            return orjson.dumps(values).decode()  # (a str: orjson's bytes over-allocate, and lines are kept)
        except orjson.JSONEncodeError:  # an integer beyond 64 bits
            pass
    return canonical_json(values)


_PLAIN = frozenset({str, int, bool, type(None)})


def _values(row: object) -> tuple[object, ...]:
    return tuple(getattr(row, f.name) for f in fields(row))  # type: ignore[arg-type]
