"""The scorecard read model in SQL (SQLite or Postgres): a batch loads the cases, orders and promises it names,
folds, and upserts what changed, in one transaction with the position."""

from __future__ import annotations

from sqlalchemy import Engine

from domain.identity.identifiers import customer_key
from domain.quality.scorecard import ScorecardRow
from projections.keyed import KeyedSqlProjection, KeyFn, table_of
from projections.scorecard.queries import NAME, ScorecardQuery
from projections.scorecard.reducer import KINDS, reducer
from projections.sqlstore import metadata, snapshot

TABLES = tuple(table_of(kind, metadata, tracked=True) for kind in KINDS)  # views_0004, changed_at: views_0005


class SqlScorecardStore(KeyedSqlProjection):
    name = NAME
    tables = TABLES

    def __init__(self, engine: Engine, key_fn: KeyFn = customer_key) -> None:
        super().__init__(engine, reducer(key_fn))

    def scorecard(self, query: ScorecardQuery) -> list[ScorecardRow]:
        """Every row read in one snapshot."""
        with snapshot(self._engine) as conn:
            loaded = {kind.name: self._rows(conn, kind.name) for kind in self.kinds}
        return query.answer(loaded.__getitem__)
