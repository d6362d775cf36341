"""The SLA store protocol, its queries, and the in-memory store (the reference implementation)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from domain.log import RecordedEvent
from domain.sla.case import CaseSla
from domain.sla.clock import Clock
from domain.sla.ledger import Promise, PromiseStatus, tally
from domain.sla.policy import PolicyBook
from projections.checksum import checksum
from projections.protocol import MemoryProjection
from projections.sla.reducer import Alert, AlertState, Severity, SlaState, fold
from projections.sla.rows import state_tables

NAME = "sla"
GroupBy = Literal["agent", "department", "customer"]


@dataclass(frozen=True, slots=True)
class AlertQuery:
    """Filters of `GET /v1/alerts`; newest first."""

    state: AlertState | None = None
    department: str | None = None
    severity: Severity | None = None
    case_id: str | None = None
    limit: int = 100

    def accepts(self, alert: Alert) -> bool:
        return ((self.state is None or alert.state is self.state)
                and (self.department is None or alert.department == self.department)
                and (self.severity is None or alert.severity is self.severity)
                and (self.case_id is None or alert.case_id == self.case_id))


@dataclass(frozen=True, slots=True)
class PromiseQuery:
    """Filters of `GET /v1/promises`; most recently due first."""

    agent: str | None = None
    department: str | None = None
    customer_id: str | None = None
    case_id: str | None = None
    status: PromiseStatus | None = None
    limit: int = 100
    customer_ids: tuple[str, ...] = ()  # any of these stored customer ids (the anchors of a resolved customer)

    def accepts(self, promise: Promise, now: datetime) -> bool:
        return ((self.agent is None or promise.agent == self.agent)
                and (not self.customer_ids or promise.customer_id in self.customer_ids)
                and (self.department is None or promise.department == self.department)
                and (self.customer_id is None or promise.customer_id == self.customer_id)
                and (self.case_id is None or promise.case_id == self.case_id)
                and (self.status is None or promise.status(now) is self.status))


@dataclass(frozen=True, slots=True)
class LedgerLine:
    """Promise counts of one agent, department or customer, per status."""

    key: str | None
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


class SlaStore(Protocol):
    """Where the SLA read model is kept. `apply` has the projection protocol's exactly-once contract."""

    name: str

    def create(self) -> None: ...
    def position(self) -> int: ...
    def reset(self) -> None: ...
    def apply(self, events: Sequence[RecordedEvent]) -> int: ...
    def policies(self) -> PolicyBook: ...
    def case(self, case_id: str) -> CaseSla | None: ...
    def due_clocks(self, now: datetime, limit: int = 500) -> list[Clock]: ...
    def alerts(self, query: AlertQuery) -> list[Alert]: ...
    def alert(self, alert_id: str) -> Alert | None: ...
    def promises(self, query: PromiseQuery, now: datetime) -> list[Promise]: ...
    def promise_summary(self, by: GroupBy, query: PromiseQuery, now: datetime) -> list[LedgerLine]: ...
    def checksum(self) -> str: ...


def newest_first(alerts: Iterable[Alert]) -> list[Alert]:
    return sorted(alerts, key=lambda a: (a.occurred_at, a.position), reverse=True)


def latest_due_first(promises: Iterable[Promise]) -> list[Promise]:
    return sorted(promises, key=lambda p: (p.due_at, p.event_id), reverse=True)


def group_key(promise: Promise, by: GroupBy) -> str | None:
    return {"agent": promise.agent, "department": promise.department, "customer": promise.customer_id}[by]


def ledger(promises: Iterable[Promise], by: GroupBy, now: datetime) -> list[LedgerLine]:
    """Counts per status for each agent, department or customer, largest totals first."""
    groups: dict[str | None, list[Promise]] = {}
    for promise in promises:
        groups.setdefault(group_key(promise, by), []).append(promise)
    lines = [LedgerLine(key, tally(found, now)) for key, found in groups.items()]
    return sorted(lines, key=lambda line: (-line.total, line.key or ""))


class MemorySlaStore(MemoryProjection):
    """The SLA read model in process memory, for unit tests and as the reference for the SQL store."""

    name = NAME

    def __init__(self) -> None:
        self.reset()

    def _clear(self) -> None:
        self._state = SlaState()

    def _fold(self, events: list[RecordedEvent]) -> None:
        self._state, _ = fold(events, self._state)

    def policies(self) -> PolicyBook:
        return self._state.policies

    def case(self, case_id: str) -> CaseSla | None:
        return self._state.cases.get(case_id)

    def due_clocks(self, now: datetime, limit: int = 500) -> list[Clock]:
        due = [(at, c) for case in self._state.cases.values() for c in case.clocks
               if (at := c.next_alert_at()) is not None and at <= now]
        return [c for _, c in sorted(due, key=lambda pair: pair[0])[:limit]]

    def alerts(self, query: AlertQuery) -> list[Alert]:
        return newest_first(a for a in self._state.alerts.values() if query.accepts(a))[: query.limit]

    def alert(self, alert_id: str) -> Alert | None:
        return self._state.alerts.get(alert_id)

    def promises(self, query: PromiseQuery, now: datetime) -> list[Promise]:
        return latest_due_first(p for p in self._all_promises() if query.accepts(p, now))[: query.limit]

    def promise_summary(self, by: GroupBy, query: PromiseQuery, now: datetime) -> list[LedgerLine]:
        return ledger((p for p in self._all_promises() if query.accepts(p, now)), by, now)

    def checksum(self) -> str:
        """sha256 of the position and every row the SQL store would hold (equal content, equal checksum)."""
        return checksum(self._position, state_tables(self._state))

    def _all_promises(self) -> Iterable[Promise]:
        return (p for case in self._state.cases.values() for p in case.promises)
