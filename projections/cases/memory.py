"""The cases read model in process memory: the reference implementation of `CasesStore`, for tests and as-of."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from domain.cases import CaseState
from domain.identity.identifiers import customer_key
from domain.log import RecordedEvent
from projections.cases.queries import NAME, CasePage, CaseQuery, ContactQuery, HandoffQuery, involves, page_of
from projections.cases.reducer import KeyFn, fold
from projections.cases.rows import AnomalyRow, CaseRow, CaseRows, ContactRow, HandoffRow, checksum, rows_of
from projections.protocol import MemoryProjection

R = TypeVar("R")


class MemoryCasesStore(MemoryProjection):
    """The cases read model in process memory: the reference implementation of the protocol, for tests."""

    name = NAME

    def __init__(self, key_fn: KeyFn = customer_key) -> None:
        self._key_fn = key_fn
        self.reset()

    def _clear(self) -> None:
        self._states: dict[str, CaseState] = {}
        self._rows: dict[str, CaseRows] = {}

    def _fold(self, events: list[RecordedEvent]) -> None:
        for case_id, state in fold(events, self._key_fn, self._states).items():
            self._states[case_id] = state
            self._rows[case_id] = rows_of(state)

    def case(self, case_id: str) -> CaseState | None:
        return self._states.get(case_id)

    def cases(self, query: CaseQuery) -> CasePage:
        rows = sorted((r.case for r in self._rows.values() if self._accepts(query, r.case)),
                      key=lambda row: (row.opened_us, row.case_id))
        return page_of([self._states[row.case_id] for row in rows[: query.limit + 1]], query.limit)

    def count(self, query: CaseQuery) -> int:
        unpaged = query.unpaged()
        return sum(1 for r in self._rows.values() if self._accepts(unpaged, r.case))

    def _accepts(self, query: CaseQuery, row: CaseRow) -> bool:
        return query.accepts(row) and (query.involving is None or involves(self._states[row.case_id], query.involving))

    def handoffs(self, query: HandoffQuery) -> list[HandoffRow]:
        return self._collect(lambda rows: rows.handoffs, query.accepts)

    def contacts(self, query: ContactQuery) -> list[ContactRow]:
        return self._collect(lambda rows: rows.contacts, query.accepts)

    def anomalies(self, kind: str | None = None) -> list[AnomalyRow]:
        return self._collect(lambda rows: rows.anomalies, lambda row: kind is None or row.kind == kind)

    def checksum(self) -> str:
        every = list(self._rows.values())
        return checksum(self._position, [
            ("cases", (r.case for r in every)),
            ("handoffs", (h for r in every for h in r.handoffs)),
            ("contacts", (c for r in every for c in r.contacts)),
            ("anomalies", (a for r in every for a in r.anomalies)),
        ])

    def _collect(self, part: Callable[[CaseRows], Iterable[R]], accepts: Callable[[R], bool]) -> list[R]:
        return [row for case_id in sorted(self._rows) for row in part(self._rows[case_id]) if accepts(row)]

