"""The context card at an instant of event time (`GET /v1/customers/{id}/card?at=`): what the front desk saw then,
and the last SERVQUAL survey with its five dimension gaps.

Facts are cut at `at` by when they occurred: timeline entries, activity, surveys and promises after `at` are left
out; a case counts as open at `at` when it was opened by then and not resolved by then; a promise is judged with
only the callbacks and releases made by then; an alert counts while it was raised by then and not yet
acknowledged, resolved or retracted. Identity is the customer's identity now (its identifiers linked later
included), so a merge done since shows the whole person.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from fractions import Fraction

from domain.instants import epoch_us, from_epoch_us
from domain.quality.servqual import DIMENSIONS
from domain.sla.ledger import Promise
from projections.cases import CaseQuery
from projections.cases.queries import MAX_LIMIT
from projections.customers.card import Card, build_card
from projections.servqual.queries import ServqualReader
from projections.servqual.reducer import SurveyRow
from projections.sla.queries import AlertQuery, PromiseQuery
from projections.sla.reducer import Alert
from services.application.customers import CustomerViews, Resolved

_YEAR = timedelta(days=365)
_TICK = timedelta(microseconds=1)


def card_at(views: CustomerViews, resolved: Resolved, at: datetime) -> Card:
    """The card as of `at` (event time)."""
    anchors = list(resolved.anchors)
    at_us = epoch_us(at)
    facts = [f for f in views.directory.facts(anchors) if f.first_us <= at_us]
    facts = [f if f.survey_us is None or f.survey_us <= at_us else replace(f, survey_us=None, survey_score=None)
             for f in facts]
    open_cases = [c for c in views.cases.cases(CaseQuery(customer_ids=resolved.anchors, opened_before=at + _TICK,
                                                         limit=MAX_LIMIT)).cases
                  if c.resolved_at is None or c.resolved_at > at]
    promises: list[Promise] = []
    alerts: list[Alert] = []
    if views.sla is not None:
        made = views.sla.promises(PromiseQuery(customer_ids=resolved.anchors, limit=500), at)
        promises = [_promise_at(p, at) for p in made if p.promised_at <= at]
        for case in open_cases:
            alerts.extend(a for a in views.sla.alerts(AlertQuery(case_id=case.case_id, limit=100))
                          if _alert_open_at(a, at))
    year = [a for a in views.timeline.activity(anchors, at - _YEAR) if a.occurred_us <= at_us]
    return build_card(resolved.customer_id, at, views.card_settings, members=views.directory.members(
        resolved.customer_id), facts=facts, recent=views.timeline.recent(
        anchors, views.card_settings.recent_interactions, until=at + _TICK), year=year, open_cases=open_cases,
        promises=promises, open_alerts=alerts)


def _promise_at(promise: Promise, at: datetime) -> Promise:
    made = promise.made_at if promise.made_at is not None and promise.made_at <= at else None
    released = promise.released_at if promise.released_at is not None and promise.released_at <= at else None
    return replace(promise, made_at=made, outcome=promise.outcome if made else None, released_at=released)


def _alert_open_at(alert: Alert, at: datetime) -> bool:
    ended = (alert.acknowledged_at, alert.resolved_at, alert.retracted_at)
    return alert.occurred_at <= at and all(t is None or t > at for t in ended)


@dataclass(frozen=True, slots=True)
class LastSurvey:
    """A customer's latest SERVQUAL survey: when, its mean over dimensions, and each dimension's mean gap."""

    survey_id: str
    at: datetime
    score: float
    dimensions: dict[str, float]


def last_survey(servqual: ServqualReader, resolved: Resolved, at: datetime | None) -> LastSurvey | None:
    """The latest survey of the customer's anchors answered at or before `at` (any when None)."""
    latest = servqual.last_survey(resolved.anchors)  # reads only these anchors' surveys
    if latest is None:
        return None
    if at is None or latest.occurred_us <= epoch_us(at):
        return _survey(latest)
    anchors, at_us = set(resolved.anchors), epoch_us(at)  # answered again since `at`: look further back
    rows = [r for r in servqual.surveys() if r.customer_id in anchors and r.occurred_us <= at_us]
    return _survey(max(rows, key=lambda r: (r.occurred_us, r.position))) if rows else None


def _survey(row: SurveyRow) -> LastSurvey:
    gaps = {d: Fraction(s, n) for d, s, n in zip(DIMENSIONS, row.answers().gap_sums, row.answers().item_counts,
                                                   strict=True) if n}
    score = sum(gaps.values(), Fraction(0)) / len(gaps) if gaps else Fraction(0)
    return LastSurvey(row.survey_id, from_epoch_us(row.occurred_us), float(score),
                      {d.value: float(g) for d, g in gaps.items()})
