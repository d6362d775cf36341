"""The front-desk context card: who this is and what is going on, assembled from the read models (pure).

The caller gathers the rows (identity members, anchor facts, recent timeline entries, activity in the last year,
open cases, promises, open alerts) for one resolved customer; this module only shapes them, with `now` given.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from domain.cases import CaseState
from domain.identity.graph import Node
from domain.identity.segments import SegmentFacts, SegmentRule, segment_of
from domain.instants import DAY_US, epoch_us, from_epoch_us
from domain.sla.ledger import Promise, PromiseStatus
from projections.customers.reducer import AnchorFacts
from projections.sla.reducer import Alert
from projections.timeline.queries import Activity
from projections.timeline.reducer import TimelineEntry

VISIT = "frontdesk.visit_checked_in"
CONTACT_TYPES = frozenset({"call.received", "web.request_submitted", VISIT, "complaint.filed",
                           "compliment.received", "case.customer_responded"})
COMPLAINT = "complaint.filed"


@dataclass(frozen=True, slots=True)
class CardSettings:
    recent_interactions: int = 10
    contact_window_days: int = 90
    segments: tuple[SegmentRule, ...] = ()


@dataclass(frozen=True, slots=True)
class Recognition:
    """How often the customer came lately, for a greeting: "3rd visit in 60 days"."""

    visits: int
    contacts: int
    by_channel: dict[str, int]
    window_days: int
    text: str


@dataclass(frozen=True, slots=True)
class Card:
    customer_id: str
    as_of: datetime
    identifiers: tuple[Node, ...]
    segment: str | None
    segment_rule: str | None
    recognition: Recognition
    recent: tuple[TimelineEntry, ...]
    open_cases: tuple[CaseState, ...]
    promises: tuple[tuple[Promise, PromiseStatus], ...]
    open_alerts: tuple[Alert, ...]
    complaints_365d: int
    last_survey_score: float | None
    last_survey_at: datetime | None
    first_contact_at: datetime | None


def build_card(
    customer_id: str,
    now: datetime,
    settings: CardSettings,
    members: Sequence[Node],
    facts: Sequence[AnchorFacts],
    recent: Sequence[TimelineEntry],
    year: Sequence[Activity],
    open_cases: Sequence[CaseState],
    promises: Sequence[Promise],
    open_alerts: Sequence[Alert],
) -> Card:
    """The card as of `now`: `year` is the customer's activity over the last 365 days, newest first."""
    now_us = epoch_us(now)
    window_start = now_us - settings.contact_window_days * DAY_US
    contacts_year = [a for a in year if a.event_type in CONTACT_TYPES]
    first_us = min((f.first_us for f in facts), default=None)
    segment = segment_of(settings.segments, SegmentFacts(
        declared=frozenset(f.declared_segment for f in facts if f.declared_segment),
        first_contact_us=first_us, contacts_365d=len(contacts_year)), now)
    survey = max((f for f in facts if f.survey_us is not None),
                 key=lambda f: (f.survey_us, f.survey_position), default=None)
    outstanding = sorted(((p, p.status(now)) for p in promises
                          if p.status(now) in (PromiseStatus.PENDING, PromiseStatus.BROKEN)),
                         key=lambda item: (item[0].due_at, item[0].promise_id))
    return Card(
        customer_id=customer_id,
        as_of=now,
        identifiers=tuple(members),
        segment=segment.name if segment else None,
        segment_rule=segment.describe() if segment else None,
        recognition=_recognition([a for a in contacts_year if a.occurred_us >= window_start], now_us,
                                 settings.contact_window_days),
        recent=tuple(recent[: settings.recent_interactions]),
        open_cases=tuple(sorted(open_cases, key=lambda c: (c.opened_at or now, c.case_id))),
        promises=tuple(outstanding),
        open_alerts=tuple(sorted(open_alerts, key=lambda a: (a.occurred_at, a.alert_id))),
        complaints_365d=sum(1 for a in year if a.event_type == COMPLAINT),
        last_survey_score=survey.survey_score if survey else None,
        last_survey_at=from_epoch_us(survey.survey_us) if survey and survey.survey_us is not None else None,
        first_contact_at=from_epoch_us(first_us) if first_us is not None else None,
    )


def _recognition(contacts: Sequence[Activity], now_us: int, window_days: int) -> Recognition:
    by_channel = dict(sorted(Counter(a.channel for a in contacts).items()))
    visits = [a for a in contacts if a.event_type == VISIT]
    if visits:
        span = max(1, -(-(now_us - min(a.occurred_us for a in visits)) // DAY_US))
        text = f"{_ordinal(len(visits))} visit in {span} days"
    elif contacts:
        text = f"{len(contacts)} contacts in {window_days} days, no visit"
    else:
        text = f"no contact in {window_days} days"
    return Recognition(len(visits), len(contacts), by_channel, window_days, text)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
