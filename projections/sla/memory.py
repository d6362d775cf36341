"""The SLA read model in process memory: the reference implementation of `SlaStore`, for tests and as-of."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from domain.log import RecordedEvent
from domain.sla.case import CaseSla
from domain.sla.clock import Clock
from domain.sla.ledger import Promise
from domain.sla.policy import PolicyBook
from projections.checksum import checksum
from projections.protocol import MemoryProjection
from projections.sla.queries import (
    NAME,
    AlertQuery,
    GroupBy,
    LedgerLine,
    PromiseQuery,
    latest_due_first,
    ledger,
    newest_first,
)
from projections.sla.reducer import Alert, SlaState, fold
from projections.sla.rows import state_tables


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
