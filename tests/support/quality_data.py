"""A generated data set for SERVQUAL and the service scorecard, with its answers written down from the plan.

`generate(seed)` draws a plan (customers, surveys, cases, orders, visits, promises, feedback), turns it into
events, and interleaves the events of independent streams at random (each stream keeps its own order: a case is
opened before a complaint names it). The expected answers are worked out from the plan alone, with plain sums
and sorts written here; nothing from `domain.quality` or the projections is called.

The business calendar of every department is Monday-Friday 09:00-18:00 in Asia/Shanghai with no holidays
(`CALENDAR`); plan instants are local Shanghai times, a few written with a UTC offset to check that periods follow
the zone, some close to month ends.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from contracts import Envelope
from domain.log import RecordedEvent
from tests.support.builders import make_event

ZONE = ZoneInfo("Asia/Shanghai")
CALENDAR = {"timezone": "Asia/Shanghai", "hours": {day: [["09:00", "18:00"]] for day in
                                                    ("mon", "tue", "wed", "thu", "fri")}}
OPEN, CLOSE = time(9, 0), time(18, 0)
NOW = datetime(2026, 12, 31, 12, 0, tzinfo=ZONE)  # promises due after this are not counted yet
MONTHS = ((2026, 10), (2026, 11), (2026, 12))
DEPARTMENTS = ("hotline", "card-centre", "branch")
CHANNELS = ("phone", "web", "front_desk")
SEGMENTS = ("vip", "mass")
DIMENSIONS = ("reliability", "responsiveness", "assurance", "empathy", "tangibles")


# ----------------------------------------------------------------------------------------------------------------
# Plain arithmetic of the answers (independent of the code under test).

def period(at: datetime, kind: str) -> str:
    local = at.astimezone(ZONE)
    return f"{local.year:04d}-{local.month:02d}" if kind == "month" else f"{local.year:04d}-Q{(local.month + 2) // 3}"


def previous(key: str) -> str:
    year, part = key.split("-")
    if part.startswith("Q"):
        return f"{int(year) - 1}-Q4" if part == "Q1" else f"{year}-Q{int(part[1]) - 1}"
    return f"{int(year) - 1}-12" if part == "01" else f"{year}-{int(part) - 1:02d}"


def rank(values: list[float], percent: int) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(percent * len(ordered) / 100)) - 1]


def business_after(start: datetime, seconds: int) -> datetime:
    """The instant `seconds` of Mon-Fri 09:00-18:00 after `start` (which lies in business hours)."""
    at = start
    while True:
        close = datetime.combine(at.date(), CLOSE, tzinfo=ZONE)
        left = int((close - at).total_seconds())
        if seconds <= left:
            return at + timedelta(seconds=seconds)
        seconds -= left
        day = at.date() + timedelta(days=1)
        while day.weekday() >= 5:
            day += timedelta(days=1)
        at = datetime.combine(day, OPEN, tzinfo=ZONE)


def workday(rng: random.Random, year: int, month: int, first: int = 1, last: int = 28) -> date:
    while True:
        day = date(year, month, rng.randint(first, last))
        if day.weekday() < 5:
            return day


def business_instant(rng: random.Random, year: int, month: int, latest_hour: int = 15) -> datetime:
    day = workday(rng, year, month)
    return datetime.combine(day, time(rng.randint(9, latest_hour), rng.choice((0, 15, 30, 45))), tzinfo=ZONE)


def written(at: datetime, rng: random.Random) -> datetime:
    """The instant as a producer writes it: mostly with +08:00, sometimes in UTC."""
    return at.astimezone(UTC) if rng.random() < 0.3 else at


# ----------------------------------------------------------------------------------------------------------------
# SERVQUAL

@dataclass
class PlannedSurvey:
    survey_id: str
    customer: str  # the respondent as the answers count it
    at: datetime
    department: str
    channel: str
    segment: str
    items: list[tuple[str, int, int]]
    importance: dict[str, int] | None


@dataclass
class ServqualExpected:
    customers: int
    surveys: int
    score: Fraction
    dimensions: dict[str, Fraction]
    weighted_customers: int
    weighted: Fraction | None


def servqual_expected(surveys: list[PlannedSurvey], by: str, kind: str) -> dict[tuple[str, str], ServqualExpected]:
    cells: dict[tuple[str, str], dict[str, list[PlannedSurvey]]] = defaultdict(lambda: defaultdict(list))
    for s in surveys:
        cells[(getattr(s, by), period(s.at, kind))][s.customer].append(s)
    return {key: _servqual_cell(by_customer) for key, by_customer in cells.items()}


def _servqual_cell(by_customer: dict[str, list[PlannedSurvey]]) -> ServqualExpected:
    scores, per_dimension, weighted = [], defaultdict(list), []
    for surveys in by_customer.values():
        gaps = [(d, p - e) for s in surveys for d, e, p in s.items]
        scores.append(Fraction(sum(g for _, g in gaps), len(gaps)))
        for d in DIMENSIONS:
            mine = [g for dim, g in gaps if dim == d]
            per_dimension[d].append(Fraction(sum(mine), len(mine)))
        weights = []
        for s in surveys:
            if s.importance is not None:
                total = Fraction(0)
                for d in DIMENSIONS:
                    mine = [p - e for dim, e, p in s.items if dim == d]
                    total += Fraction(s.importance[d], 100) * Fraction(sum(mine), len(mine))
                weights.append(total)
        if weights:
            weighted.append(sum(weights, Fraction(0)) / len(weights))
    return ServqualExpected(
        len(by_customer), sum(len(v) for v in by_customer.values()), sum(scores, Fraction(0)) / len(scores),
        {d: sum(v, Fraction(0)) / len(v) for d, v in per_dimension.items()}, len(weighted),
        sum(weighted, Fraction(0)) / len(weighted) if weighted else None)


def _items(rng: random.Random) -> list[tuple[str, int, int]]:
    items = []
    for d in DIMENSIONS:
        for _ in range(rng.randint(1, 4)):
            items.append((d, rng.randint(1, 7), rng.randint(1, 7)))
    return items


def _importance(rng: random.Random) -> dict[str, int]:
    cuts = sorted(rng.sample(range(1, 100), 4))
    bounds = [0, *cuts, 100]
    return {d: bounds[i + 1] - bounds[i] for i, d in enumerate(DIMENSIONS)}


# ----------------------------------------------------------------------------------------------------------------
# Scorecard

MEASURES = ("written_complaints", "verbal_complaints", "compliments", "referrals", "orders", "buying_customers",
            "repeat_customers", "first_responses", "resolutions", "reopened", "repeat_visits", "promises_due",
            "promises_kept")


@dataclass
class Card:
    """Raw material of one (department, period)."""

    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    buying: set[str] = field(default_factory=set)
    repeat: set[str] = field(default_factory=set)
    responses: list[float] = field(default_factory=list)
    turnarounds: list[float] = field(default_factory=list)

    def answers(self) -> dict[str, Any]:
        out: dict[str, Any] = {name: self.counts.get(name, 0) for name in MEASURES}
        out.update(buying_customers=len(self.buying), repeat_customers=len(self.repeat),
                   first_responses=len(self.responses), resolutions=len(self.turnarounds))
        out["repeat_rate"] = Fraction(len(self.repeat), len(self.buying)) if self.buying else None
        due, kept = out["promises_due"], out["promises_kept"]
        out["promises_kept_rate"] = Fraction(kept, due) if due else None
        out["first_response_p50"], out["first_response_p90"] = rank(self.responses, 50), rank(self.responses, 90)
        out["turnaround_p50"], out["turnaround_p90"] = rank(self.turnarounds, 50), rank(self.turnarounds, 90)
        return out


@dataclass
class ScorecardPlan:
    """Facts of the plan, each with the department it counts for and its instant."""

    feedback: list[tuple[str, str, datetime]] = field(default_factory=list)  # (kind, department, at)
    orders: list[tuple[str, str, str, datetime]] = field(default_factory=list)  # (order, customer, dept, at)
    responses: list[tuple[str, datetime, int]] = field(default_factory=list)  # (dept, at, business seconds)
    resolutions: list[tuple[str, datetime, int]] = field(default_factory=list)
    reopens: list[tuple[str, datetime]] = field(default_factory=list)
    repeat_visits: list[tuple[str, datetime]] = field(default_factory=list)
    promises: list[tuple[str, datetime, bool]] = field(default_factory=list)  # (dept, due, kept), due by NOW

    def expected(self, kind: str) -> dict[tuple[str, str], dict[str, Any]]:
        cards: dict[tuple[str, str], Card] = defaultdict(Card)
        for name, department, at in self.feedback:
            cards[(department, period(at, kind))].counts[name + "s"] += 1
        first: dict[str, tuple[datetime, str]] = {}
        for order, customer, _, at in self.orders:
            first[customer] = min(first.get(customer, (at, order)), (at, order))
        for order, customer, department, at in self.orders:
            card = cards[(department, period(at, kind))]
            card.counts["orders"] += 1
            card.buying.add(customer)
            if first[customer] != (at, order):
                card.repeat.add(customer)
        for department, at, seconds in self.responses:
            cards[(department, period(at, kind))].responses.append(float(seconds))
        for department, at, seconds in self.resolutions:
            cards[(department, period(at, kind))].turnarounds.append(float(seconds))
        for department, at in self.reopens:
            cards[(department, period(at, kind))].counts["reopened"] += 1
        for department, at in self.repeat_visits:
            cards[(department, period(at, kind))].counts["repeat_visits"] += 1
        for department, due, kept in self.promises:
            card = cards[(department, period(due, kind))]
            card.counts["promises_due"] += 1
            card.counts["promises_kept"] += int(kept)
        answers = {key: card.answers() for key, card in cards.items()}
        return {key: {"measures": value, "previous": answers.get((key[0], previous(key[1])), Card().answers())}
                for key, value in answers.items()}


# ----------------------------------------------------------------------------------------------------------------
# The data set


@dataclass
class QualityData:
    events: list[Envelope]
    surveys: list[PlannedSurvey]
    scorecard: ScorecardPlan

    def recorded(self) -> list[RecordedEvent]:
        return [RecordedEvent(position, event) for position, event in enumerate(self.events, start=1)]


class _Builder:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.streams: list[list[Envelope]] = []
        self.surveys: list[PlannedSurvey] = []
        self.plan = ScorecardPlan()
        self.serial = 0

    def next_id(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}-{self.serial:05d}"

    def event(self, event_type: str, at: datetime, department: str, channel: str = "phone", **kwargs: Any
              ) -> Envelope:
        return make_event(event_type, occurred_at=written(at, self.rng), department=department, channel=channel,
                          **kwargs)

    def interleaved(self) -> list[Envelope]:
        streams = [list(reversed(s)) for s in self.streams if s]
        out = []
        while streams:
            stream = self.rng.choice(streams)
            out.append(stream.pop())
            if not stream:
                streams.remove(stream)
        return out


def generate(seed: int = 7, customers: int = 40) -> QualityData:
    b = _Builder(seed)
    for n in range(customers):
        _servqual_customer(b, f"SQ-{n:04d}")
    for _ in range(4):
        _anonymous_survey(b)
    for department in DEPARTMENTS:
        for year, month in MONTHS:
            _feedback(b, department, year, month)
            for _ in range(b.rng.randint(1, 4)):
                _case(b, department, year, month)
            for _ in range(b.rng.randint(0, 4)):
                _promise(b, department, year, month)
    for n in range(customers // 2):
        _buyer(b, f"B-{n:04d}")
    for n in range(8):
        _repair(b, n)
    _month_edges(b)
    return QualityData(b.interleaved(), b.surveys, b.plan)


def _survey_event(b: _Builder, s: PlannedSurvey, customer: str | None, case_id: str | None) -> Envelope:
    payload: dict[str, Any] = {"survey_id": s.survey_id, "items": [
        {"dimension": d, "item": f"{d[:3].upper()}-{i}", "expectation": e, "perception": p}
        for i, (d, e, p) in enumerate(s.items)]}
    if s.importance is not None:
        payload["importance"] = s.importance
    who = {"customer_number": customer} if customer else None
    return b.event("survey.servqual_answered", s.at, "quality", "web", customer=who, case_id=case_id,
                   payload=payload)


def _servqual_customer(b: _Builder, customer: str) -> None:
    """A respondent reached through a case (held by the opener or by a department that accepted it), or through a
    front-desk visit, answering one to three surveys."""
    rng, stream = b.rng, []
    year, month = rng.choice(MONTHS)
    start = business_instant(rng, year, month)
    if rng.random() < 0.6:
        case_id, opener, channel = b.next_id("SQCASE"), rng.choice(DEPARTMENTS), rng.choice(CHANNELS)
        segment = rng.choice(SEGMENTS)
        stream.append(b.event("case.opened", start, opener, channel, case_id=case_id,
                              customer={"customer_number": customer}, payload={"segment": segment}))
        holder = opener
        if rng.random() < 0.4:
            holder = rng.choice([d for d in DEPARTMENTS if d != opener])
            stream.append(b.event("case.handed_off", start, opener, case_id=case_id,
                                  payload={"from_department": opener, "to_department": holder}))
            stream.append(b.event("case.handoff_accepted", start + timedelta(minutes=5), holder, case_id=case_id,
                                  payload={"department": holder}))
        where = (holder, channel, segment)
    else:
        case_id, department = None, rng.choice(DEPARTMENTS)
        stream.append(b.event("frontdesk.visit_checked_in", start, department, "front_desk",
                              customer={"customer_number": customer}))
        where = (department, "front_desk", "unassigned")
    at = start
    for _ in range(rng.randint(1, 3)):
        at = at + timedelta(days=rng.randint(1, 40), hours=rng.randint(0, 3))
        s = PlannedSurvey(b.next_id("SV"), customer, at, *where, _items(rng),
                          _importance(rng) if rng.random() < 0.5 else None)
        b.surveys.append(s)
        stream.append(_survey_event(b, s, customer, case_id))
    b.streams.append(stream)


def _anonymous_survey(b: _Builder) -> None:
    year, month = b.rng.choice(MONTHS)
    s = PlannedSurvey(b.next_id("SV"), "", business_instant(b.rng, year, month), "quality", "web", "unassigned",
                      _items(b.rng), None)
    s.customer = f"survey:{s.survey_id}"
    b.surveys.append(s)
    b.streams.append([_survey_event(b, s, None, None)])


def _feedback(b: _Builder, department: str, year: int, month: int) -> None:
    """Complaints, compliments and referrals recorded by the department, or by the quality desk on a case the
    department holds after accepting it from the hotline."""
    rng = b.rng
    for name in ("written_complaint", "verbal_complaint", "compliment", "referral"):
        for _ in range(rng.randint(0, 3)):
            at = business_instant(rng, year, month)
            payload = _feedback_payload(name)
            event_type = {"written_complaint": "complaint.filed", "verbal_complaint": "complaint.filed",
                          "compliment": "compliment.received", "referral": "referral.made"}[name]
            if rng.random() < 0.5 or department == "hotline":
                b.streams.append([b.event(event_type, at, department, payload=payload)])
            else:
                case_id = b.next_id("FBCASE")
                b.streams.append([
                    b.event("case.opened", at - timedelta(hours=1), "hotline", case_id=case_id),
                    b.event("case.handoff_accepted", at - timedelta(minutes=30), department, case_id=case_id,
                            payload={"department": department}),
                    b.event(event_type, at, "quality", case_id=case_id, payload=payload)])
            b.plan.feedback.append((name, department, at))


def _feedback_payload(name: str) -> dict[str, Any]:
    if name.endswith("complaint"):
        return {"form": "written" if name == "written_complaint" else "verbal"}
    return {}


def _case(b: _Builder, department: str, year: int, month: int) -> None:
    """A case opened in business hours: a first response after a drawn number of business seconds (some across
    nights and weekends), maybe a resolution later, maybe a reopening."""
    rng = b.rng
    case_id, opened = b.next_id("SCCASE"), business_instant(rng, year, month, latest_hour=17)
    customer = {"customer_number": b.next_id("SC")}
    stream = [b.event("case.opened", opened, department, case_id=case_id, customer=customer)]
    stream.append(b.event("case.note_added", opened + timedelta(minutes=1), department, case_id=case_id,
                          payload={"visibility": "internal"}))  # internal: not a response
    response = rng.choice((600, 1800, 3600, 5400, 7200, 30000, 40000))
    answered = business_after(opened, response)
    kind = rng.choice(("note", "waiting", "resolved"))
    if kind == "note":
        stream.append(b.event("case.note_added", answered, department, case_id=case_id,
                              payload={"visibility": "customer"}))
    elif kind == "waiting":
        stream.append(b.event("case.waiting_on_customer", answered, department, case_id=case_id))
    b.plan.responses.append((department, answered, response))
    turnaround = response if kind == "resolved" else (response + rng.choice((600, 3600, 20000))
                                                      if rng.random() < 0.7 else None)
    if turnaround is not None:
        resolved = business_after(opened, turnaround)
        stream.append(b.event("case.resolved", resolved, department, case_id=case_id))
        b.plan.resolutions.append((department, resolved, turnaround))
        if rng.random() < 0.3:
            reopened = resolved + timedelta(days=rng.randint(1, 10))
            stream.append(b.event("case.reopened", reopened, department, case_id=case_id))
            b.plan.reopens.append((department, reopened))
            stream.append(b.event("case.resolved", reopened + timedelta(hours=2), department, case_id=case_id))
    b.streams.append(stream)


def _promise(b: _Builder, department: str, year: int, month: int) -> None:
    """A callback promised, then made before its due time, after it, or never; a few fall due after NOW."""
    rng = b.rng
    promised = business_instant(rng, year, month)
    due = promised + timedelta(hours=rng.choice((2, 24, 72)))
    promise_id = b.next_id("PR")
    stream = [b.event("callback.promised", promised, department, payload={"promise_id": promise_id,
                                                                          "due_at": written(due, rng).isoformat()})]
    fate = rng.choice(("early", "on_time", "late", "never"))
    if fate != "never":
        made = {"early": due - timedelta(minutes=30), "on_time": due, "late": due + timedelta(hours=1)}[fate]
        stream.append(b.event("callback.made", made, department, payload={"promise_id": promise_id}))
        if rng.random() < 0.3:  # a second attempt does not change whether it was kept
            stream.append(b.event("callback.made", made + timedelta(hours=3), department,
                                  payload={"promise_id": promise_id}))
    if due <= NOW:
        b.plan.promises.append((department, due, fate in ("early", "on_time")))
    b.streams.append(stream)


def _buyer(b: _Builder, customer: str) -> None:
    """A customer placing one to four orders with sales or a branch; each order is its own stream, so a later
    order may be recorded first; some orders are sent twice (counted once)."""
    rng = b.rng
    for _ in range(rng.randint(1, 4)):
        year, month = rng.choice(MONTHS)
        at, department = business_instant(rng, year, month), rng.choice(("sales", "branch"))
        order_id = b.next_id("SO")
        payload = {"order_id": order_id, "amount": 1000, "currency": "CNY",
                   "items": [{"sku": "AC-1", "quantity": 1, "amount": 1000,
                              "device_serial": f"SN-{order_id}"}]}
        event = b.event("sale.order_placed", at, department, "front_desk", customer={"customer_number": customer},
                        payload=payload)
        stream = [event]
        if rng.random() < 0.2:
            stream.append(b.event("sale.order_placed", at + timedelta(minutes=1), department, "front_desk",
                                  customer={"customer_number": customer}, payload=payload))
        b.streams.append(stream)
        b.plan.orders.append((order_id, customer, department, at))


def _repair(b: _Builder, n: int) -> None:
    """A repair order with one to three completed visits, each its own stream (recorded in any order)."""
    rng = b.rng
    order_id = f"RO-{n:04d}"
    year, month = rng.choice(MONTHS)
    first = business_instant(rng, year, month)
    visits = [first + timedelta(days=7 * k) for k in range(rng.randint(1, 3))]
    for at in visits:
        b.streams.append([b.event("repair.visit_completed", at, "field-repair", "field",
                                  payload={"order_id": order_id})])
    for at in visits[1:]:
        b.plan.repeat_visits.append(("field-repair", at))


def _month_edges(b: _Builder) -> None:
    """Complaints just before and after a Shanghai month end, written in UTC (the UTC month differs)."""
    for local in (datetime(2026, 11, 30, 23, 30, tzinfo=ZONE), datetime(2026, 12, 1, 0, 30, tzinfo=ZONE),
                  datetime(2026, 10, 1, 7, 0, tzinfo=ZONE)):
        b.streams.append([make_event("complaint.filed", occurred_at=local.astimezone(UTC), department="branch",
                                     channel="phone", payload={"form": "written"})])
        b.plan.feedback.append(("written_complaint", "branch", local))


def iter_batches(events: list[RecordedEvent], rng: random.Random) -> Iterator[list[RecordedEvent]]:
    """The log in batches of random sizes, some redelivered (a batch overlapping the previous one)."""
    start = 0
    while start < len(events):
        size = rng.randint(1, 40)
        back = rng.randint(0, 5) if start else 0
        yield events[max(0, start - back) : start + size]
        start += size
