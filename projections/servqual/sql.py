"""The SERVQUAL read model in SQL (SQLite or Postgres): a batch loads the cases, customers and surveys it names,
folds, and upserts what changed, in one transaction with the position."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine, select

from domain.identity.identifiers import customer_key
from domain.instants import epoch_us
from domain.quality.servqual import ServqualCell
from projections.keyed import KeyedSqlProjection, KeyFn, table_of
from projections.servqual.queries import NAME, ServqualQuery, ServqualReads, last_survey
from projections.servqual.reducer import KINDS, SURVEYS, SurveyRow, reducer
from projections.sqlstore import metadata

TABLES = tuple(table_of(kind, metadata) for kind in KINDS)  # created by the views_0004 revision


class SqlServqualStore(KeyedSqlProjection, ServqualReads):
    name = NAME
    tables = TABLES

    def __init__(self, engine: Engine, key_fn: KeyFn = customer_key) -> None:
        super().__init__(engine, reducer(key_fn))

    def cells(self, query: ServqualQuery) -> list[ServqualCell]:
        """Reads only the surveys answered in the query's range."""
        table = self._table(SURVEYS)
        statement = select(table)
        if query.since is not None:
            statement = statement.where(table.c.occurred_us >= epoch_us(query.since))
        if query.until is not None:
            statement = statement.where(table.c.occurred_us < epoch_us(query.until))
        with self._engine.connect() as conn:
            return query.answer([SurveyRow(**dict(record)) for record in conn.execute(statement).mappings()])

    def last_survey(self, customer_ids: Sequence[str]) -> SurveyRow | None:
        """Reads only these customers' surveys."""
        table = self._table(SURVEYS)
        statement = select(table).where(table.c.customer_id.in_(sorted(set(customer_ids))))
        with self._engine.connect() as conn:
            found = [SurveyRow(**dict(record)) for record in conn.execute(statement).mappings()]
        return last_survey(found, customer_ids)
