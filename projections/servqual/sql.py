"""The SERVQUAL read model in SQL (SQLite or Postgres): a batch loads the cases, customers and surveys it names,
folds, and upserts what changed, in one transaction with the position."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, Integer, case, cast, func, literal, select, union_all

from domain.identity.identifiers import customer_key
from domain.instants import epoch_us
from domain.quality.periods import PeriodIndex, PeriodKind, periods_between
from domain.quality.servqual import DIMENSIONS, CellSums, ServqualCell, add_ratio
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
        """The cells computed in the database: surveys pooled per (unit, period, customer), then summed per
        distinct item count (`CellSums`), so what comes back is a few rows per cell whatever the number of
        surveys; only surveys with importance points come back one by one (their weighted score is a fraction).
        Periods are labelled by comparing instants with the periods' starts in the query's zone."""
        table = self._table(SURVEYS)
        c = table.c
        conditions = []
        if query.department is not None:
            conditions.append(c.department == query.department)
        if query.since is not None:
            conditions.append(c.occurred_us >= epoch_us(query.since))
        if query.until is not None:
            conditions.append(c.occurred_us < epoch_us(query.until))
        zone = ZoneInfo(query.zone)
        with self._engine.connect() as conn:
            first, last = conn.execute(select(func.min(c.occurred_us), func.max(c.occurred_us)).where(*conditions)
                                       ).one()
            if first is None:
                return []
            bounds = periods_between(first, last, query.period, zone)
            if not bounds:  # a calendar the starts cannot label: in Python, survey by survey
                rows = [SurveyRow(*record) for record in conn.execute(select(table).where(*conditions))]
                return query.answer(rows)
            ends = [start for start, _ in bounds[1:]]
            period = case(*[(c.occurred_us < end, label) for (_, label), end in zip(bounds, ends, strict=False)],
                          else_=bounds[-1][1]) if ends else literal(bounds[0][1])
            labelled = select(c[query.by.value].label("grp"), period.label("period"), c.customer_id,
                              *[c[f"{d}_{part}"] for d in DIMENSIONS for part in ("sum", "items")]
                              ).where(*conditions).subquery("labelled")
            # 32-bit sums (a customer's pooled gaps and items are small): Postgres sums 64-bit integers as numeric
            sums = [_int32(func.sum(_int32(labelled.c[f"{d}_sum"]))).label(f"{d}_s") for d in DIMENSIONS]
            counts = [_int32(func.sum(_int32(labelled.c[f"{d}_items"]))).label(f"{d}_n") for d in DIMENSIONS]
            key = (labelled.c.grp, labelled.c.period, labelled.c.customer_id)
            pooled = select(*key, *sums, *counts, _int32(func.count()).label("surveys")).group_by(*key).cte("pooled")
            p = pooled.c
            parts = [select(p.grp, p.period, literal(-1).label("part"), func.count().label("customers"),
                            func.sum(p.surveys).label("numerator"), literal(0).label("denominator"))
                     .group_by(p.grp, p.period)]
            total_s = sum((p[f"{d}_s"] for d in DIMENSIONS[1:]), p[f"{DIMENSIONS[0]}_s"])
            total_n = sum((p[f"{d}_n"] for d in DIMENSIONS[1:]), p[f"{DIMENSIONS[0]}_n"])
            parts.append(select(p.grp, p.period, literal(len(DIMENSIONS)), func.count(), func.sum(total_s), total_n)
                         .group_by(p.grp, p.period, total_n))
            for index, d in enumerate(DIMENSIONS):
                parts.append(select(p.grp, p.period, literal(index), func.count(), func.sum(p[f"{d}_s"]),
                                    p[f"{d}_n"]).where(p[f"{d}_n"] > 0).group_by(p.grp, p.period, p[f"{d}_n"]))
            found: dict[tuple[str, str], CellSums] = defaultdict(CellSums)
            for group, label, part, customers, numerator, denominator in conn.execute(union_all(*parts)):
                cell = found[(group, label)]
                if part == -1:
                    cell.customers, cell.surveys = int(customers), int(numerator)
                elif part == len(DIMENSIONS):
                    add_ratio(cell.score, int(numerator), int(denominator), int(customers))
                else:
                    add_ratio(cell.dimensions[part], int(numerator), int(denominator), int(customers))
            weighted = conn.execute(select(c[query.by.value], c.customer_id, c.occurred_us, table)
                                    .where(c.reliability_points.is_not(None), *conditions))
            self._weighted(found, weighted, query.period, zone)
        return [found[key].cell(*key) for key in sorted(found)]

    @staticmethod
    def _weighted(found: dict[tuple[str, str], CellSums], rows: Any, kind: PeriodKind, zone: ZoneInfo) -> None:
        period_of = PeriodIndex(kind, zone)
        mine: dict[tuple[str, str], dict[str, list[Fraction]]] = defaultdict(lambda: defaultdict(list))
        for group, customer_id, occurred_us, *record in rows:
            score = SurveyRow(*record).answers().weighted
            if score is not None:
                mine[(group, period_of(occurred_us))][customer_id].append(score)
        for key, customers in mine.items():
            found[key].weighted = [sum(s, Fraction(0)) / len(s) for _, s in sorted(customers.items())]

    def last_survey(self, customer_ids: Sequence[str]) -> SurveyRow | None:
        """Reads only these customers' surveys."""
        table = self._table(SURVEYS)
        statement = select(table).where(table.c.customer_id.in_(sorted(set(customer_ids))))
        with self._engine.connect() as conn:
            found = [SurveyRow(**dict(record)) for record in conn.execute(statement).mappings()]
        return last_survey(found, customer_ids)


def _int32(value: Any) -> Any:
    return cast(value, Integer)
