"""The scorecard read model in process memory: the reference implementation (tests, as-of)."""

from __future__ import annotations

from domain.identity.identifiers import customer_key
from domain.quality.scorecard import ScorecardRow
from projections.keyed import KeyedMemoryProjection, KeyFn
from projections.scorecard.queries import NAME, ScorecardQuery
from projections.scorecard.reducer import reducer


class MemoryScorecardStore(KeyedMemoryProjection):
    name = NAME

    def __init__(self, key_fn: KeyFn = customer_key) -> None:
        super().__init__(reducer(key_fn))

    def scorecard(self, query: ScorecardQuery) -> list[ScorecardRow]:
        return query.answer(self.rows)
