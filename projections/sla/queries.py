"""Questions an SLA store answers: the store protocol, alert and promise queries, and the promise ledger (pure)."""

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
from projections.sla.reducer import Alert, AlertState, Severity

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
