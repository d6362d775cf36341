"""The scorecard read model in SQL (SQLite or Postgres): a batch loads the cases, orders and promises it names,
folds, and upserts what changed, in one transaction with the position."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Engine, MetaData

from domain.identity.identifiers import customer_key
from domain.log import RecordedEvent
from domain.quality.scorecard import ScorecardRow
from projections.keyed import KeyedSqlProjection, KeyedState, Needs, table_of
from projections.scorecard.queries import NAME, ScorecardQuery
from projections.scorecard.reducer import KINDS, KeyFn, fold, needs
from projections.sqlstore import snapshot

metadata = MetaData()  # joins the read models' metadata (and an Alembic revision) once the projection is registered
TABLES = tuple(table_of(kind, metadata) for kind in KINDS)


class SqlScorecardStore(KeyedSqlProjection):
    name = NAME
    kinds = KINDS
    tables = TABLES

    def __init__(self, engine: Engine, key_fn: KeyFn = customer_key) -> None:
        super().__init__(engine)
        self._key_fn = key_fn

    def _needs(self, events: Iterable[RecordedEvent]) -> Needs:
        return needs(events)

    def _reduce(self, state: KeyedState, events: Iterable[RecordedEvent]) -> None:
        fold(state, events, self._key_fn)

    def scorecard(self, query: ScorecardQuery) -> list[ScorecardRow]:
        with snapshot(self._engine) as conn:
            loaded = {kind.name: self._rows(conn, kind.name) for kind in self.kinds}
        return query.answer(loaded.__getitem__)
