"""The SERVQUAL read model in process memory: the reference implementation (tests, as-of)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from domain.identity.identifiers import customer_key
from domain.log import RecordedEvent
from domain.quality.servqual import ServqualCell
from projections.keyed import KeyedMemoryProjection, KeyedState
from projections.servqual.queries import NAME, ServqualQuery, last_survey
from projections.servqual.reducer import KINDS, SURVEYS, KeyFn, SurveyRow, fold


class MemoryServqualStore(KeyedMemoryProjection):
    name = NAME
    kinds = KINDS

    def __init__(self, key_fn: KeyFn = customer_key) -> None:
        self._key_fn = key_fn
        super().__init__()

    def _reduce(self, state: KeyedState, events: Iterable[RecordedEvent]) -> None:
        fold(state, events, self._key_fn)

    def surveys(self) -> list[SurveyRow]:
        return self.rows(SURVEYS)

    def cells(self, query: ServqualQuery) -> list[ServqualCell]:
        return query.answer(self.surveys())

    def last_survey(self, customer_ids: Sequence[str]) -> SurveyRow | None:
        return last_survey(self.surveys(), customer_ids)
