"""Questions the scorecard store answers: the measures per department and period, with the change against the
previous period."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

from domain.quality.periods import DEFAULT_ZONE, PeriodKind
from domain.quality.scorecard import (
    CalendarFor,
    CaseTimes,
    Facts,
    Feedback,
    FeedbackKind,
    Promise,
    Sale,
    ScorecardRow,
    Visit,
    scorecard,
)
from projections.scorecard.reducer import (
    CASES,
    FEEDBACK,
    PROMISES,
    REOPENS,
    SALES,
    VISITS,
    CaseRow,
    FeedbackRow,
    PromiseRow,
    ReopenRow,
    SaleRow,
    VisitRow,
)

NAME = "scorecard"
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ScorecardQuery:
    """Departments (one, or all) per period (on the local calendar of `zone`) with a fact in [since, until);
    promises count once due by `now`; times in `calendar_for(department)`'s business time."""

    now: datetime
    calendar_for: CalendarFor
    period: PeriodKind = PeriodKind.MONTH
    since: datetime | None = None
    until: datetime | None = None
    department: str | None = None
    zone: str = DEFAULT_ZONE

    def answer(self, rows: Callable[[str], list[Any]]) -> list[ScorecardRow]:
        found = scorecard(facts_of(rows), self.period, ZoneInfo(self.zone), self.calendar_for, self.now,
                          self.since, self.until)
        return [row for row in found if self.department is None or row.department == self.department]


def facts_of(rows: Callable[[str], list[Any]]) -> Facts:
    """The scorecard's facts from the stored rows (cases not seen opened and promises not seen made are left out)."""
    reopened: dict[str, list[int]] = defaultdict(list)
    for reopen in _typed(rows(REOPENS), ReopenRow):
        reopened[reopen.case_id].append(reopen.at_us)
    cases = [CaseTimes(c.case_id, c.department, c.opened_us, c.first_response_us, c.resolved_us,
                       tuple(sorted(reopened.get(c.case_id, ()))))
             for c in _typed(rows(CASES), CaseRow) if c.department is not None and c.opened_us is not None]
    return Facts(
        feedback=[Feedback(FeedbackKind(f.kind), f.department, f.at_us) for f in _typed(rows(FEEDBACK), FeedbackRow)],
        sales=[Sale(s.order_id, s.customer_id, s.department, s.at_us) for s in _typed(rows(SALES), SaleRow)],
        cases=cases,
        visits=[Visit(v.order_id, v.department, v.at_us, v.position) for v in _typed(rows(VISITS), VisitRow)],
        promises=[Promise(p.promise_id, p.department, p.due_us, p.made_us) for p in _typed(rows(PROMISES), PromiseRow)
                  if p.department is not None and p.due_us is not None],
    )


def _typed(rows: list[Any], row_type: type[T]) -> list[T]:
    return [row for row in rows if isinstance(row, row_type)]


class ScorecardReader(Protocol):
    """The read side of both stores."""

    def scorecard(self, query: ScorecardQuery) -> list[ScorecardRow]: ...
    def checksum_at(self) -> tuple[int, str]: ...
