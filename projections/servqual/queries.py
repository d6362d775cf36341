"""Questions the SERVQUAL store answers: unit scores per period, and a customer's last survey."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from domain.quality.periods import DEFAULT_ZONE, PeriodKind
from domain.quality.servqual import Grouping, Response, ServqualCell, cells
from projections.servqual.reducer import SURVEYS, SurveyRow

NAME = "servqual"


@dataclass(frozen=True, slots=True)
class ServqualQuery:
    """Units (`by`) per period (`period`, on the local calendar of `zone`) over surveys answered in
    [since, until), of one department when `department` is given."""

    by: Grouping = Grouping.DEPARTMENT
    period: PeriodKind = PeriodKind.MONTH
    since: datetime | None = None
    until: datetime | None = None
    zone: str = DEFAULT_ZONE
    department: str | None = None  # only the surveys attributed to this department (a manager's scope)

    def answer(self, rows: Sequence[SurveyRow]) -> list[ServqualCell]:
        mine = rows if self.department is None else [r for r in rows if r.department == self.department]
        return cells(responses(mine), self.by, self.period, ZoneInfo(self.zone), self.since, self.until)


def responses(rows: Sequence[SurveyRow]) -> list[Response]:
    return [Response(r.customer_id, r.occurred_us, r.department, r.channel, r.segment, r.answers()) for r in rows]


def last_survey(rows: Sequence[SurveyRow], customer_ids: Sequence[str]) -> SurveyRow | None:
    """The latest survey (by occurrence, then log position) of any of these customer ids (a resolved
    customer's anchors), for the context card's five dimension gaps."""
    wanted = set(customer_ids)
    found = [r for r in rows if r.customer_id in wanted]
    return max(found, key=lambda r: (r.occurred_us, r.position)) if found else None


class ServqualReads:
    """The read side both stores share, over their `rows(table)`."""

    def rows(self, table: str) -> list[Any]:
        raise NotImplementedError

    def surveys(self) -> list[SurveyRow]:
        return self.rows(SURVEYS)

    def cells(self, query: ServqualQuery) -> list[ServqualCell]:
        return query.answer(self.surveys())

    def last_survey(self, customer_ids: Sequence[str]) -> SurveyRow | None:
        return last_survey(self.surveys(), customer_ids)


class ServqualReader(Protocol):
    """The read side of both stores."""

    def cells(self, query: ServqualQuery) -> list[ServqualCell]: ...
    def last_survey(self, customer_ids: Sequence[str]) -> SurveyRow | None: ...
    def surveys(self) -> list[SurveyRow]: ...
    def checksum_at(self) -> tuple[int, str]: ...
