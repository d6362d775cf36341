"""The scorecard read model in process memory: the reference implementation (tests, as-of)."""

from __future__ import annotations

from collections.abc import Iterable

from domain.identity.identifiers import customer_key
from domain.log import RecordedEvent
from domain.quality.scorecard import ScorecardRow
from projections.keyed import KeyedMemoryProjection, KeyedState
from projections.scorecard.queries import NAME, ScorecardQuery
from projections.scorecard.reducer import KINDS, KeyFn, fold


class MemoryScorecardStore(KeyedMemoryProjection):
    name = NAME
    kinds = KINDS

    def __init__(self, key_fn: KeyFn = customer_key) -> None:
        self._key_fn = key_fn
        super().__init__()

    def _reduce(self, state: KeyedState, events: Iterable[RecordedEvent]) -> None:
        fold(state, events, self._key_fn)

    def scorecard(self, query: ScorecardQuery) -> list[ScorecardRow]:
        return query.answer(self.rows)
