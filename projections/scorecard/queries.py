"""Questions the scorecard store answers: the measures per department and period, with the change against the
previous period."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
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


class HeldRows:
    """The rows a reader of the store's changes (`changed_since`) has seen, turned into the facts
    `domain.quality.live_scorecard.LiveScorecard.update` takes, as `facts_of` turns all of them: a case with its
    reopenings once it was seen opened, a promise once it was seen promised."""

    def __init__(self) -> None:
        self._cases: dict[str, CaseRow] = {}
        self._reopens: dict[str, dict[str, int]] = defaultdict(dict)  # case -> reopen event -> instant

    def facts(self, changed: Mapping[str, list[Any]]) -> dict[str, dict[str, Any]]:
        touched: set[str] = set()
        for case in _typed(changed.get(CASES, []), CaseRow):
            self._cases[case.case_id] = case
            touched.add(case.case_id)
        for reopen in _typed(changed.get(REOPENS, []), ReopenRow):
            self._reopens[reopen.case_id][reopen.event_id] = reopen.at_us
            touched.add(reopen.case_id)
        cases = {}
        for case_id in touched:
            c = self._cases.get(case_id)
            if c is not None and c.department is not None and c.opened_us is not None:
                cases[case_id] = CaseTimes(case_id, c.department, c.opened_us, c.first_response_us, c.resolved_us,
                                           tuple(sorted(self._reopens.get(case_id, {}).values())))
        return {
            "feedback": {f.event_id: Feedback(FeedbackKind(f.kind), f.department, f.at_us)
                         for f in _typed(changed.get(FEEDBACK, []), FeedbackRow)},
            "sales": {s.order_id: Sale(s.order_id, s.customer_id, s.department, s.at_us)
                      for s in _typed(changed.get(SALES, []), SaleRow)},
            "cases": cases,
            "visits": {v.event_id: Visit(v.order_id, v.department, v.at_us, v.position)
                       for v in _typed(changed.get(VISITS, []), VisitRow)},
            "promises": {p.promise_id: Promise(p.promise_id, p.department, p.due_us, p.made_us)
                         for p in _typed(changed.get(PROMISES, []), PromiseRow)
                         if p.department is not None and p.due_us is not None},
        }


def _typed(rows: list[Any], row_type: type[T]) -> list[T]:
    return [row for row in rows if isinstance(row, row_type)]


class ScorecardReader(Protocol):
    """The read side of both stores."""

    def scorecard(self, query: ScorecardQuery) -> list[ScorecardRow]: ...
    def changed_since(self, after: int) -> tuple[int, dict[str, list[Any]]]: ...
    def checksum_at(self) -> tuple[int, str]: ...
