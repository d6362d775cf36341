"""SERVQUAL: service quality as perception minus expectation, per dimension, per customer and per unit.

Following the definition (Parasuraman, Zeithaml and Berry's SERVQUAL, as the seed chapter states it):
- an item's gap is perception − expectation;
- a customer's score is the sum of their item gaps divided by the number of items (the mean over items; a
  customer who answered several surveys in one cell has all their items pooled);
- a unit's score (a department, a channel, a segment, in a period) is the mean of its customers' scores;
- a dimension's gap is the same two means restricted to the dimension's items;
- the weighted score of a survey that carries importance points (100 split over the five dimensions) is
  Σ points(d)/100 × gap(d), gap(d) the survey's mean gap on dimension d; a customer's weighted score is the mean
  of their weighted surveys', a unit's the mean over the customers who have one.
Every mean is an exact fraction; callers round for display.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from fractions import Fraction
from zoneinfo import ZoneInfo

from contracts import ServqualDimension, ServqualImportance, ServqualItem
from domain.instants import epoch_us
from domain.quality.periods import PeriodIndex, PeriodKind

DIMENSIONS: tuple[ServqualDimension, ...] = tuple(ServqualDimension)
"""The five dimensions in canonical order: reliability, responsiveness, assurance, empathy, tangibles."""


class Grouping(StrEnum):
    """What a unit is: the department, the channel or the customer segment a survey is attributed to."""

    DEPARTMENT = "department"
    CHANNEL = "channel"
    SEGMENT = "segment"


@dataclass(frozen=True, slots=True)
class SurveyAnswers:
    """What one answered survey contributes: per dimension (in `DIMENSIONS` order) the sum of its item gaps and
    its number of items, and the importance points when the survey asked for them."""

    gap_sums: tuple[int, ...]
    item_counts: tuple[int, ...]
    importance: tuple[int, ...] | None = None

    @classmethod
    def of(cls, items: Iterable[ServqualItem], importance: ServqualImportance | None = None) -> SurveyAnswers:
        sums, counts = [0] * len(DIMENSIONS), [0] * len(DIMENSIONS)
        for item in items:
            index = DIMENSIONS.index(item.dimension)
            sums[index] += item.gap
            counts[index] += 1
        points = tuple(importance.points(d) for d in DIMENSIONS) if importance is not None else None
        return cls(tuple(sums), tuple(counts), points)

    def dimension_gaps(self) -> dict[ServqualDimension, Fraction]:
        """The mean gap of each dimension the survey answered."""
        return {d: Fraction(s, n) for d, s, n in zip(DIMENSIONS, self.gap_sums, self.item_counts, strict=True) if n}

    @property
    def score(self) -> Fraction:
        """The mean gap over all the survey's items."""
        return Fraction(sum(self.gap_sums), sum(self.item_counts))

    @property
    def weighted(self) -> Fraction | None:
        """Σ points(d)/100 × gap(d) over the dimensions, or None without importance points."""
        if self.importance is None:
            return None
        gaps = self.dimension_gaps()
        return sum((Fraction(p, 100) * gaps.get(d, Fraction(0)) for d, p in zip(DIMENSIONS, self.importance,
                                                                                strict=True)), Fraction(0))


@dataclass(frozen=True, slots=True)
class Response:
    """An answered survey as the unit measures see it: whose, when (µs since the epoch), attributed where."""

    customer_id: str
    occurred_us: int
    department: str
    channel: str
    segment: str
    answers: SurveyAnswers

    def group(self, by: Grouping) -> str:
        return {Grouping.DEPARTMENT: self.department, Grouping.CHANNEL: self.channel,
                Grouping.SEGMENT: self.segment}[by]


@dataclass(frozen=True, slots=True)
class ServqualCell:
    """A unit in a period: `customers` (n) and `surveys` counted, the unit's score and dimension gaps (means over
    customers) and the weighted score (mean over the `weighted_customers` who gave importance points)."""

    group: str
    period: str
    customers: int
    surveys: int
    score: Fraction
    dimensions: dict[ServqualDimension, Fraction]
    weighted_customers: int
    weighted: Fraction | None


def cells(responses: Iterable[Response], by: Grouping, kind: PeriodKind, zone: ZoneInfo,
          since: datetime | None = None, until: datetime | None = None) -> list[ServqualCell]:
    """One cell per (unit, period) that has responses occurring in [since, until), sorted by (unit, period)."""
    low = None if since is None else epoch_us(since)
    high = None if until is None else epoch_us(until)
    period_of = PeriodIndex(kind, zone)
    grouped: dict[tuple[str, str], dict[str, list[SurveyAnswers]]] = defaultdict(lambda: defaultdict(list))
    for response in responses:
        if (low is not None and response.occurred_us < low) or (high is not None and response.occurred_us >= high):
            continue
        key = (response.group(by), period_of(response.occurred_us))
        grouped[key][response.customer_id].append(response.answers)
    return [_cell(group, period, grouped[(group, period)]) for group, period in sorted(grouped)]


@dataclass(slots=True)
class CellSums:
    """What a cell's means are made of, in integers: per denominator (a customer's pooled item count), the sum of
    the numerators (their pooled gap sums) and how many customers had it; so for the score (all items) and for
    each dimension (in `DIMENSIONS` order). A customer's mean is a ratio of two integers and item counts take few
    values, so a mean of ratios is one fraction per distinct denominator. `weighted`: the weighted score of each
    customer who has one."""

    customers: int = 0
    surveys: int = 0
    score: dict[int, list[int]] = field(default_factory=dict)
    dimensions: tuple[dict[int, list[int]], ...] = field(default_factory=lambda: tuple({} for _ in DIMENSIONS))
    weighted: list[Fraction] = field(default_factory=list)

    def add_customer(self, sums: Sequence[int], counts: Sequence[int], surveys: int) -> None:
        """One customer's pooled gap sums and item counts per dimension, over `surveys` surveys."""
        self.customers += 1
        self.surveys += surveys
        add_ratio(self.score, sum(sums), sum(counts), 1)
        for ratios, numerator, denominator in zip(self.dimensions, sums, counts, strict=True):
            if denominator:
                add_ratio(ratios, numerator, denominator, 1)

    def cell(self, group: str, period: str) -> ServqualCell:
        dimensions = {d: _mean_of_ratios(ratios) for d, ratios in zip(DIMENSIONS, self.dimensions, strict=True)
                      if ratios}
        weighted = self.weighted
        return ServqualCell(group, period, self.customers, self.surveys, _mean_of_ratios(self.score), dimensions,
                            len(weighted), _mean(weighted) if weighted else None)


def add_ratio(ratios: dict[int, list[int]], numerator: int, denominator: int, customers: int) -> None:
    """Add `customers` customers whose numerators sum to `numerator`, all over `denominator`."""
    known = ratios.setdefault(denominator, [0, 0])
    known[0] += numerator
    known[1] += customers


def _cell(group: str, period: str, by_customer: dict[str, list[SurveyAnswers]]) -> ServqualCell:
    sums = CellSums()
    for _, surveys in sorted(by_customer.items()):
        gaps, counts = list(surveys[0].gap_sums), list(surveys[0].item_counts)
        for more in surveys[1:]:
            for i in range(len(DIMENSIONS)):
                gaps[i] += more.gap_sums[i]
                counts[i] += more.item_counts[i]
        sums.add_customer(gaps, counts, len(surveys))
        mine = [w for s in surveys if (w := s.weighted) is not None]
        if mine:
            sums.weighted.append(_mean(mine))
    return sums.cell(group, period)


def _mean_of_ratios(ratios: dict[int, list[int]]) -> Fraction:
    """The exact mean over customers of numerator/denominator ratios kept as `CellSums` keeps them."""
    total = sum((Fraction(numerator, denominator) for denominator, (numerator, _) in ratios.items()), Fraction(0))
    return total / sum(customers for _, customers in ratios.values())


def _mean(values: Sequence[Fraction]) -> Fraction:
    return sum(values, Fraction(0)) / len(values)

