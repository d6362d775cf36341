"""Response bodies of the service-quality endpoints, and each one's CSV rows (header first)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import fields
from datetime import datetime
from fractions import Fraction
from typing import Any

from pydantic import BaseModel, Field

from domain.instants import from_epoch_us
from domain.quality.facts import Fact
from domain.quality.fcr import CaseOutcome, FcrRate
from domain.quality.proactive import Due
from domain.quality.scorecard import Measures, ScorecardRow
from domain.quality.servqual import DIMENSIONS, ServqualCell
from domain.quality.staff import Segment, StaffRow
from domain.quality.touchpoints import SIGNALS, TouchpointScore
from projections.contacts.queries import FcrReport, StaffReport

Rows = Iterator[Sequence[Any]]


def _num(value: Fraction | float | int | None) -> int | float | None:
    """Exact fractions as the nearest float (JSON has no fractions); counts stay integers, None stays None."""
    if value is None or isinstance(value, int):
        return value
    return float(value)


class ServqualCellOut(BaseModel):
    group: str = Field(description="The unit: a department, a channel or a segment (`by`).")
    period: str = Field(description="`2026-11` or `2026-Q4`, on the local calendar of `zone`.")
    customers: int = Field(description="n: customers with a survey in the cell (the unit score is their mean).")
    surveys: int
    score: float = Field(description="Mean over customers of their mean item gap (perception − expectation).")
    reliability: float | None
    responsiveness: float | None
    assurance: float | None
    empathy: float | None
    tangibles: float | None
    weighted_customers: int = Field(description="Customers whose surveys carried importance points.")
    weighted: float | None = Field(description="Mean over them of Σ points(d)/100 × gap(d); null when none.")

    @classmethod
    def of(cls, cell: ServqualCell) -> ServqualCellOut:
        gaps = {d.value: _num(cell.dimensions.get(d)) for d in DIMENSIONS}
        return cls(group=cell.group, period=cell.period, customers=cell.customers, surveys=cell.surveys,
                   score=float(cell.score), weighted_customers=cell.weighted_customers,
                   weighted=_num(cell.weighted), **gaps)


class ServqualOut(BaseModel):
    by: str
    period: str
    zone: str
    cells: list[ServqualCellOut]

    def csv_rows(self) -> Rows:
        names = list(ServqualCellOut.model_fields)
        yield [self.by if n == "group" else n for n in names]
        for cell in self.cells:
            yield [getattr(cell, n) for n in names]


MEASURE_NAMES = tuple(f.name for f in fields(Measures))


class MeasuresOut(BaseModel):
    """Seed 002's measures of one department in one period (seconds are business seconds)."""

    written_complaints: int | float | None
    verbal_complaints: int | float | None
    compliments: int | float | None
    referrals: int | float | None
    orders: int | float | None
    buying_customers: int | float | None
    repeat_customers: int | float | None
    repeat_rate: int | float | None
    first_responses: int | float | None
    first_response_p50: int | float | None
    first_response_p90: int | float | None
    resolutions: int | float | None
    turnaround_p50: int | float | None
    turnaround_p90: int | float | None
    reopened: int | float | None
    repeat_visits: int | float | None
    promises_due: int | float | None
    promises_kept: int | float | None
    promises_kept_rate: int | float | None

    @classmethod
    def of(cls, values: dict[str, Any]) -> MeasuresOut:
        return cls(**{name: _num(values[name]) for name in MEASURE_NAMES})

    @classmethod
    def of_measures(cls, measures: Measures) -> MeasuresOut:
        return cls.of({name: getattr(measures, name) for name in MEASURE_NAMES})


class ScorecardRowOut(BaseModel):
    department: str
    period: str
    measures: MeasuresOut
    previous: MeasuresOut = Field(description="The same measures in the period before.")
    change: MeasuresOut = Field(description="measures − previous; null where either is null.")

    @classmethod
    def of(cls, row: ScorecardRow) -> ScorecardRowOut:
        return cls(department=row.department, period=row.period, measures=MeasuresOut.of_measures(row.measures),
                   previous=MeasuresOut.of_measures(row.previous), change=MeasuresOut.of(row.change))


class ScorecardOut(BaseModel):
    period: str
    zone: str
    as_of: datetime = Field(description="`now`: promises count once due by then.")
    rows: list[ScorecardRowOut]

    def csv_rows(self) -> Rows:
        yield ["department", "period", *(f"{n}{s}" for n in MEASURE_NAMES for s in ("", "_previous", "_change"))]
        for row in self.rows:
            values = [(getattr(row.measures, n), getattr(row.previous, n), getattr(row.change, n))
                      for n in MEASURE_NAMES]
            yield [row.department, row.period, *(v for triple in values for v in triple)]


class RateOut(BaseModel):
    key: str
    fcr: int
    not_fcr: int
    pending: int
    rate: float | None = Field(description="fcr / (fcr + not_fcr); null while nothing is decided.")

    @classmethod
    def of(cls, rate: FcrRate) -> RateOut:
        return cls(key=rate.key, fcr=rate.fcr, not_fcr=rate.not_fcr, pending=rate.pending, rate=rate.rate)


class CaseOutcomeOut(BaseModel):
    case_id: str
    customer_id: str | None
    channel: str
    department: str
    agent: str | None
    outcome: str = Field(description="fcr, not_fcr or pending.")
    reason: str | None = Field(description="handoff, reopen, repeat_contact, unresolved or resolved_late.")

    @classmethod
    def of(cls, case: CaseOutcome) -> CaseOutcomeOut:
        return cls(case_id=case.case_id, customer_id=case.customer, channel=case.channel,
                   department=case.department, agent=case.agent, outcome=case.outcome.value, reason=case.reason)


class FcrOut(BaseModel):
    as_of: datetime
    window_days: int
    resolve_within_hours: int
    by_department: list[RateOut]
    by_channel: list[RateOut]
    by_agent: list[RateOut]
    cases: list[CaseOutcomeOut] | None = Field(description="Every case's outcome (with `cases=true`).")

    @classmethod
    def of(cls, report: FcrReport, window_days: int, within_hours: int, with_cases: bool) -> FcrOut:
        return cls(as_of=report.as_of, window_days=window_days, resolve_within_hours=within_hours,
                   by_department=[RateOut.of(r) for r in report.by_department],
                   by_channel=[RateOut.of(r) for r in report.by_channel],
                   by_agent=[RateOut.of(r) for r in report.by_agent],
                   cases=[CaseOutcomeOut.of(c) for c in report.cases] if with_cases else None)

    def csv_rows(self) -> Rows:
        yield ["by", "key", "fcr", "not_fcr", "pending", "rate"]
        for by, rates in (("department", self.by_department), ("channel", self.by_channel),
                          ("agent", self.by_agent)):
            for r in rates:
                yield [by, r.key, r.fcr, r.not_fcr, r.pending, r.rate]


class TouchOut(BaseModel):
    event_id: str
    event_type: str
    occurred_at: datetime
    channel: str
    department: str
    agent: str | None
    case_id: str | None

    @classmethod
    def of(cls, fact: Fact) -> TouchOut:
        return cls(event_id=fact.event_id, event_type=fact.kind, occurred_at=from_epoch_us(fact.occurred_us),
                   channel=fact.channel, department=fact.department, agent=fact.agent, case_id=fact.case_id)


class DueOut(BaseModel):
    customer_id: str
    segment: str
    owner: str | None = Field(description="Agent (else department) of the latest case, else of the last touch.")
    median_gap_days: float
    silence_days: float
    last_contact_at: datetime
    due_at: datetime = Field(description="When the silence reached max(multiple × median gap, min_days).")
    last_contacts: list[TouchOut] = Field(description="The last touches, newest first.")

    @classmethod
    def of(cls, due: Due) -> DueOut:
        return cls(customer_id=due.customer_id, segment=due.segment, owner=due.owner,
                   median_gap_days=due.median_gap_days, silence_days=due.silence_days,
                   last_contact_at=due.last_contact_at, due_at=due.due_at,
                   last_contacts=[TouchOut.of(f) for f in due.last_contacts])


class ProactiveOut(BaseModel):
    as_of: datetime
    total: int
    items: list[DueOut]

    def csv_rows(self) -> Rows:
        yield ["customer_id", "segment", "owner", "median_gap_days", "silence_days", "last_contact_at", "due_at",
               "last_contacts"]
        for d in self.items:
            touches = "; ".join(f"{t.occurred_at.isoformat()} {t.event_type} {t.department}" for t in d.last_contacts)
            yield [d.customer_id, d.segment, d.owner, d.median_gap_days, d.silence_days, d.last_contact_at,
                   d.due_at, touches]


class TouchpointOut(BaseModel):
    channel: str
    department: str
    step: str = Field(description='"first contact" or "handoff to <department>".')
    volume: int = Field(description="Cases (first contact) or handoffs (handoff step) passing it.")
    failures: int
    rate: float = Field(description="failures / volume, 4 decimals.")
    signals: dict[str, int] = Field(description="Failure signals by kind (zeros left out).")
    examples: list[str] = Field(description="Case ids with a signal here, first by id.")

    @classmethod
    def of(cls, score: TouchpointScore) -> TouchpointOut:
        where = score.touchpoint
        return cls(channel=where.channel, department=where.department, step=where.step, volume=score.volume,
                   failures=score.failures, rate=score.rate, signals=dict(score.signals),
                   examples=list(score.examples))


class TouchpointsOut(BaseModel):
    as_of: datetime
    total: int
    items: list[TouchpointOut]

    def csv_rows(self) -> Rows:
        yield ["rank", "channel", "department", "step", "volume", "failures", "rate", *SIGNALS, "examples"]
        for n, t in enumerate(self.items, start=1):
            yield [n, t.channel, t.department, t.step, t.volume, t.failures, t.rate,
                   *(t.signals.get(s, 0) for s in SIGNALS), " ".join(t.examples)]


class SegmentOut(BaseModel):
    segment: str
    count: int
    customers: list[str] = Field(description="Customer ids, sorted; the first `limit`.")

    @classmethod
    def of(cls, segment: Segment, limit: int) -> SegmentOut:
        ids = sorted(segment.customers)
        return cls(segment=segment.name, count=len(ids), customers=ids[:limit])


class SegmentsOut(BaseModel):
    as_of: datetime
    segments: list[SegmentOut]

    def csv_rows(self) -> Rows:
        yield ["segment", "count", "customer_id"]
        for s in self.segments:
            for customer in s.customers:
                yield [s.segment, s.count, customer]


class StaffRowOut(BaseModel):
    key: str = Field(description="The agent or the department.")
    contacts_handled: int
    cases: int
    fcr: int
    not_fcr: int
    fcr_pending: int
    fcr_rate: float | None
    promises_kept: int
    promises_broken: int
    promises_pending: int
    response_median_seconds: float | None
    response_p90_seconds: float | None
    surveys: int
    survey_gap: float | None = Field(description="Mean overall SERVQUAL gap of the surveys on their cases.")
    complaints: int

    @classmethod
    def of(cls, row: StaffRow) -> StaffRowOut:
        values = {f.name: getattr(row, f.name) for f in fields(row)}
        return cls(**values, fcr_rate=row.fcr_rate)


class StaffOut(BaseModel):
    as_of: datetime
    agents: list[StaffRowOut]
    departments: list[StaffRowOut]

    @classmethod
    def of(cls, report: StaffReport) -> StaffOut:
        return cls(as_of=report.as_of, agents=[StaffRowOut.of(r) for r in report.agents],
                   departments=[StaffRowOut.of(r) for r in report.departments])

    def csv_rows(self) -> Rows:
        names = list(StaffRowOut.model_fields)
        yield ["level", *names]
        for level, rows in (("agent", self.agents), ("department", self.departments)):
            for r in rows:
                yield [level, *(getattr(r, n) for n in names)]
