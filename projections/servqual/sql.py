"""The SERVQUAL read model in SQL (SQLite or Postgres): a batch loads the cases, customers and surveys it names,
folds, and upserts what changed, in one transaction with the position."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Engine, MetaData, select

from domain.identity.identifiers import customer_key
from domain.log import RecordedEvent
from domain.quality.servqual import ServqualCell
from projections.keyed import KeyedSqlProjection, KeyedState, Needs, table_of
from projections.servqual.queries import NAME, ServqualQuery, last_survey
from projections.servqual.reducer import KINDS, SURVEYS, KeyFn, SurveyRow, fold, needs

metadata = MetaData()  # joins the read models' metadata (and an Alembic revision) once the projection is registered
TABLES = tuple(table_of(kind, metadata) for kind in KINDS)


class SqlServqualStore(KeyedSqlProjection):
    name = NAME
    kinds = KINDS
    tables = TABLES

    def __init__(self, engine: Engine, key_fn: KeyFn = customer_key) -> None:
        super().__init__(engine)
        self._key_fn = key_fn

    def _needs(self, events: Iterable[RecordedEvent]) -> Needs:
        return needs(events, self._key_fn)

    def _reduce(self, state: KeyedState, events: Iterable[RecordedEvent]) -> None:
        fold(state, events, self._key_fn)

    def surveys(self) -> list[SurveyRow]:
        return self.rows(SURVEYS)

    def cells(self, query: ServqualQuery) -> list[ServqualCell]:
        return query.answer(self.surveys())

    def last_survey(self, customer_ids: Sequence[str]) -> SurveyRow | None:
        table = self._table(SURVEYS)
        with self._engine.connect() as conn:
            found = [SurveyRow(**dict(r)) for r in conn.execute(
                select(table).where(table.c.customer_id.in_(sorted(set(customer_ids))))).mappings()]
        return last_survey(found, customer_ids)
