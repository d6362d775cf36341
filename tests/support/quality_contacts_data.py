"""A generated log with known answers for the contact-quality measures (FCR, proactive contact, touchpoints,
staff and segments).

Every case follows a plan drawn with a seeded random generator, and the answers are written down from the plan as
the events are made (what each plan means, counted here), never by running the measures: `Dataset.expected`.
"""

from __future__ import annotations

import math
import random
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from contracts import CustomerRef, Envelope
from domain.identity.identifiers import IdentifierProtector, customer_key
from domain.identity.segments import SegmentRule
from domain.log import RecordedEvent
from domain.sla.calendar import BusinessCalendar
from tests.support.builders import make_event, recorded

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PROTECTOR = IdentifierProtector(b"quality-contacts")
RULES = (SegmentRule("key_account", declared=frozenset({"key_account"})), SegmentRule("regular"))
CALENDAR = BusinessCalendar("24x7", always_open=True)
DESKS = {
    "phone": ("hotline", ("hl-01", "hl-02")),
    "web": ("digital", ("wd-01", "wd-02")),
    "front_desk": ("reception", ("fd-01", "fd-02")),
}
REPAIR, REPAIR_AGENT, ACCOUNTS = "repair", "rp-01", "accounts"
PLANS = (
    "fcr",
    "repeat_same_id",
    "repeat_other_id",
    "repeat_national_id_only",
    "late_repeat",
    "handoff",
    "ping_pong",
    "dropped",
    "reopen",
    "unresolved",
    "resolved_late",
    "pending",
)
RESOLVED_EARLY = {"fcr", "repeat_same_id", "repeat_other_id", "repeat_national_id_only", "late_repeat", "reopen"}
OUTCOMES = {
    "fcr": ("fcr", None),
    "late_repeat": ("fcr", None),
    "repeat_same_id": ("not_fcr", "repeat_contact"),
    "repeat_other_id": ("not_fcr", "repeat_contact"),
    "repeat_national_id_only": ("not_fcr", "repeat_contact"),
    "handoff": ("not_fcr", "handoff"),
    "ping_pong": ("not_fcr", "handoff"),
    "dropped": ("not_fcr", "handoff"),
    "reopen": ("not_fcr", "reopen"),
    "unresolved": ("not_fcr", "unresolved"),
    "resolved_late": ("not_fcr", "resolved_late"),
    "pending": ("pending", None),
}
MIN = timedelta(minutes=1)
DAY = timedelta(days=1)


@dataclass
class Staff:
    """The expected assessment of one agent or department (the fields of domain.quality.staff.StaffRow)."""

    contacts_handled: int = 0
    cases: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    promises: Counter[str] = field(default_factory=Counter)
    responses: list[float] = field(default_factory=list)
    gaps: list[int] = field(default_factory=list)
    complaints: int = 0

    def row(self, key: str) -> dict[str, Any]:
        return {
            "key": key,
            "contacts_handled": self.contacts_handled,
            "cases": self.cases,
            "fcr": self.outcomes["fcr"],
            "not_fcr": self.outcomes["not_fcr"],
            "fcr_pending": self.outcomes["pending"],
            "promises_kept": self.promises["kept"],
            "promises_broken": self.promises["broken"],
            "promises_pending": self.promises["pending"],
            "response_median_seconds": _rank(self.responses, 50),
            "response_p90_seconds": _rank(self.responses, 90),
            "surveys": len(self.gaps),
            "survey_gap": round(sum(self.gaps) / len(self.gaps), 4) if self.gaps else None,
            "complaints": self.complaints,
        }


def _rank(values: list[float], percent: int) -> float | None:
    return sorted(values)[math.ceil(percent * len(values) / 100) - 1] if values else None


@dataclass
class Expected:
    """The answers, as of NOW with the default settings and RULES."""

    fcr: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # case -> (outcome, reason)
    by: dict[str, dict[str, Counter[str]]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(Counter)))
    proactive: dict[str, tuple[datetime, str, tuple[str, ...]]] = field(default_factory=dict)  # due, owner, last 3
    not_due: set[str] = field(default_factory=set)  # watched customers with a rhythm, not yet due
    silent_regulars: set[str] = field(default_factory=set)  # as silent, but not in a watched segment
    segments: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    touchpoints: dict[tuple[str, str, str], tuple[int, Counter[str]]] = field(default_factory=dict)
    agents: dict[str, Staff] = field(default_factory=lambda: defaultdict(Staff))
    departments: dict[str, Staff] = field(default_factory=lambda: defaultdict(Staff))

    def rates(self, by: str) -> dict[str, tuple[int, int, int]]:
        return {key: (c["fcr"], c["not_fcr"], c["pending"]) for key, c in sorted(self.by[by].items())}

    def touch(self, where: tuple[str, str, str], signal: str | None = None, volume: int = 0) -> None:
        count, signals = self.touchpoints.get(where, (0, Counter()))
        if signal is not None:
            signals[signal] += 1
        self.touchpoints[where] = (count + volume, signals)


@dataclass
class Dataset:
    events: list[Envelope]
    expected: Expected

    def recorded(self) -> list[RecordedEvent]:
        return recorded(self.events)


class _Maker:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.events: list[Envelope] = []
        self.expected = Expected()
        self.people = 0

    def event(
        self,
        event_type: str,
        at: datetime,
        desk: str,
        channel: str,
        customer: CustomerRef | None,
        case_id: str | None = None,
        by: str | None = None,
        **payload: Any,
    ) -> Envelope:
        """An event recorded by `desk` (department) over `channel`, by agent `by`, with these payload fields."""
        agent = by
        extra: dict[str, Any] = {"agent": agent} if agent else {}
        made = make_event(
            event_type,
            occurred_at=at,
            department=desk,
            channel=channel,
            customer=customer,
            case_id=case_id,
            payload=payload,
            event_id=uuid.UUID(int=self.rng.getrandbits(128), version=4),
            **extra,
        )
        self.events.append(made)
        if event_type in ("call.received", "web.request_submitted", "frontdesk.visit_checked_in", "callback.made"):
            self.expected.departments[desk].contacts_handled += 1
            if agent:
                self.expected.agents[agent].contacts_handled += 1
        return made

    def person(self, national_id: bool) -> tuple[CustomerRef, CustomerRef, CustomerRef | None]:
        """(phone only, phone and national ID, national ID only) of a new person; the id they resolve to."""
        self.people += 1
        phone = f"139{self.people:08d}"
        if not national_id:
            return CustomerRef(phone=phone), CustomerRef(phone=phone), None
        both = PROTECTOR.protect(CustomerRef(phone=phone, national_id=f"31010419880615{self.people:04d}"))
        only = CustomerRef(national_id_digest=both.national_id_digest, national_id_masked=both.national_id_masked)
        return CustomerRef(phone=phone), both, only


def generate(cases: int = 120, key_accounts: int = 8, seed: int = 11) -> Dataset:
    maker = _Maker(seed)
    for n in range(cases):
        _case(maker, f"QC-{n:04d}", PLANS[n % len(PLANS)] if n < len(PLANS) else maker.rng.choice(PLANS))
    for n in range(key_accounts):
        _rhythm(maker, n, watched=True, due=n % 2 == 0)
    for n in range(3):
        _rhythm(maker, key_accounts + n, watched=False, due=True)
    maker.events.sort(key=lambda e: e.occurred_at)
    return Dataset(maker.events, maker.expected)


def _case(m: _Maker, case_id: str, plan: str) -> None:
    rng, exp = m.rng, m.expected
    channel = rng.choice(sorted(DESKS))
    department, agents = DESKS[channel]
    agent = rng.choice(agents)
    phone, both, national = m.person(national_id=plan in ("repeat_other_id", "repeat_national_id_only"))
    name = customer_key(both if national else phone) or ""
    exp.segments["regular"].add(name)
    opened = (
        NOW - (rng.randint(2, 4) * DAY if plan == "pending" else rng.randint(25, 90) * DAY) + rng.randint(0, 600) * MIN
    )
    if national is not None:  # the identifiers were seen together long before: one customer
        m.event("call.received", opened - 60 * DAY, "hotline", "phone", both, direction="inbound", answered_by="agent")
    first = {"phone": "call.received", "web": "web.request_submitted", "front_desk": "frontdesk.visit_checked_in"}
    extra = {"direction": "inbound", "answered_by": "agent"} if channel == "phone" else {}
    m.event(
        first[channel], opened - 5 * MIN, department, channel, phone, by=None if channel == "web" else agent, **extra
    )
    m.event(
        "case.opened",
        opened,
        department,
        channel,
        phone,
        case_id,
        agent,
        case_type="inquiry",
        subject="s",
        priority="normal",
        segment=None,
        description=None,
    )
    responses = _lifecycle(m, case_id, plan, opened, channel, department, agent, phone, both, national)
    outcome, reason = OUTCOMES[plan]
    exp.fcr[case_id] = (outcome, reason)
    for by, key in (("department", department), ("channel", channel), ("agent", agent)):
        exp.by[by][key][outcome] += 1
    exp.touch((channel, department, "first contact"), volume=1)
    if plan == "reopen":
        exp.touch((channel, department, "first contact"), "reopen")
    if plan in ("repeat_same_id", "repeat_other_id", "repeat_national_id_only"):
        exp.touch((channel, department, "first contact"), "repeat_contact")
    if plan in RESOLVED_EARLY | {"resolved_late"}:
        responses += _extras(m, case_id, opened, channel, department, agent, phone)
    for staff in (exp.agents[agent], exp.departments[department]):
        staff.cases += 1
        staff.outcomes[outcome] += 1
        if responses:
            staff.responses.append(min(responses).total_seconds())


def _lifecycle(
    m: _Maker,
    case_id: str,
    plan: str,
    opened: datetime,
    channel: str,
    department: str,
    agent: str,
    phone: CustomerRef,
    both: CustomerRef,
    national: CustomerRef | None,
) -> list[timedelta]:
    """The plan's events after the opening; the delays of the events answering the customer."""
    exp = m.expected
    if plan in RESOLVED_EARLY or plan == "pending":
        resolved = opened + 20 * MIN
        m.event("case.resolved", resolved, department, "internal", phone, case_id, agent, resolution="done")
        repeat = {
            "repeat_same_id": (2 * DAY, phone, "call.received", "hotline", "phone"),
            "repeat_other_id": (3 * DAY, both, "frontdesk.visit_checked_in", "reception", "front_desk"),
            "repeat_national_id_only": (3 * DAY, national, "frontdesk.visit_checked_in", "reception", "front_desk"),
            "late_repeat": (9 * DAY, phone, "call.received", "hotline", "phone"),
        }.get(plan)
        if repeat is not None:
            after, who, kind, desk, via = repeat
            extra = {"direction": "inbound", "answered_by": "ivr"} if kind == "call.received" else {}
            m.event(kind, resolved + after, desk, via, who, **extra)
        if plan == "reopen":
            m.event("case.reopened", resolved + DAY, department, "internal", phone, case_id, agent, reason="again")
            m.event(
                "case.resolved",
                resolved + DAY + 60 * MIN,
                department,
                "internal",
                phone,
                case_id,
                agent,
                resolution="done again",
            )
        return [20 * MIN]
    if plan == "resolved_late":
        m.event("case.resolved", opened + 30 * 60 * MIN, department, "internal", phone, case_id, agent, resolution="x")
        return [30 * 60 * MIN]
    if plan in ("handoff", "ping_pong", "dropped"):
        hand = m.event(
            "case.handed_off",
            opened + 10 * MIN,
            department,
            "internal",
            phone,
            case_id,
            agent,
            from_department=department,
            to_department=REPAIR,
            reason="repair",
            context_summary="c",
        )
        exp.touch((channel, department, f"handoff to {REPAIR}"), "dropped_handoff" if plan == "dropped" else None, 1)
        if plan == "dropped":
            return []
        m.event(
            "case.handoff_accepted",
            opened + 20 * MIN,
            REPAIR,
            "internal",
            phone,
            case_id,
            REPAIR_AGENT,
            department=REPAIR,
            handoff_event_id=str(hand.event_id),
        )
        if plan == "ping_pong":
            back = m.event(
                "case.handed_off",
                opened + 40 * MIN,
                REPAIR,
                "internal",
                phone,
                case_id,
                REPAIR_AGENT,
                from_department=REPAIR,
                to_department=department,
                reason="not ours",
                context_summary="c",
            )
            m.event(
                "case.handoff_accepted",
                opened + 50 * MIN,
                department,
                "internal",
                phone,
                case_id,
                agent,
                department=department,
                handoff_event_id=str(back.event_id),
            )
            exp.touch((channel, REPAIR, f"handoff to {department}"), "ping_pong", 1)
        else:  # late in repair: the breach belongs to the handoff that brought the case there
            _breach(m, case_id, opened + 90 * MIN, "resolution", REPAIR)
            exp.touch((channel, department, f"handoff to {REPAIR}"), "breach")
        m.event("case.resolved", opened + 120 * MIN, REPAIR, "internal", phone, case_id, REPAIR_AGENT, resolution="ok")
        return [120 * MIN]
    return []  # unresolved


def _extras(
    m: _Maker, case_id: str, opened: datetime, channel: str, department: str, agent: str, phone: CustomerRef
) -> list[timedelta]:
    """Complaints, first-response breaches, promises and surveys drawn for a case; delays of answering events."""
    rng, exp = m.rng, m.expected
    staff = (exp.agents[agent], exp.departments[department])
    answered: list[timedelta] = []
    if rng.random() < 0.25:
        m.event(
            "complaint.filed",
            opened + 60 * MIN,
            department,
            channel,
            phone,
            case_id,
            form="verbal",
            category="delivery",
            description="d",
            severity="low",
        )
        exp.touch((channel, department, "first contact"), "complaint")
        for s in staff:
            s.complaints += 1
    if rng.random() < 0.25:
        _breach(m, case_id, opened + 5 * MIN, "first_response", department)
        exp.touch((channel, department, "first contact"), "breach")
    if rng.random() < 0.4:
        promise_id = f"P-{case_id}"

        def on_the_case(kind: str, after: timedelta, **payload: Any) -> None:
            m.event(kind, opened + after, department, "phone", phone, case_id, agent, promise_id=promise_id, **payload)

        on_the_case("callback.promised", 10 * MIN, due_at=(opened + 120 * MIN).isoformat(), reason="r")
        kind = rng.choice(("kept", "late", "never"))
        if kind != "never":
            made = 60 * MIN if kind == "kept" else 180 * MIN
            on_the_case("callback.made", made, outcome="reached")
            answered.append(made)
        for s in staff:
            s.promises["kept" if kind == "kept" else "broken"] += 1
    if rng.random() < 0.3:
        gap = rng.choice((0, 1, 2))
        items = [
            {"dimension": d, "item": f"{d[:3].upper()}-1", "expectation": 6, "perception": 6 - gap}
            for d in ("reliability", "responsiveness", "assurance", "empathy", "tangibles")
        ]
        m.event(
            "survey.servqual_answered",
            opened + 2 * DAY,
            "quality",
            "web",
            phone,
            case_id,
            survey_id=f"S-{case_id}",
            items=items,
        )
        for s in staff:
            s.gaps.append(-gap)
    return answered


def _breach(m: _Maker, case_id: str, at: datetime, metric: str, department: str) -> None:
    m.event(
        "sla.breached",
        at,
        "touchline",
        "internal",
        None,
        case_id,
        clock_id=str(uuid.UUID(int=m.rng.getrandbits(128))),
        metric=metric,
        department=department,
        promise_id=None,
        escalated_to_role=f"{department}-manager",
        clock_started_at=(at - 60 * MIN).isoformat(),
        deadline_at=at.isoformat(),
    )


def _rhythm(m: _Maker, n: int, watched: bool, due: bool) -> None:
    """A customer with a steady rhythm of outbound calls from their account manager, one case declaring their
    segment, and a silence since that ends before (not due) or after (due) their threshold."""
    rng, exp = m.rng, m.expected
    phone, _, _ = m.person(national_id=False)
    name = customer_key(phone) or ""
    manager = f"am-0{n % 2 + 1}"
    gap_days = rng.choice((5, 7, 14, 20))
    threshold = max(3 * gap_days, 30) * DAY
    silence = threshold + rng.randint(0, 10) * DAY if due else threshold - rng.randint(1, 10) * DAY
    last = NOW - silence
    touches = [last - k * gap_days * DAY for k in range(rng.randint(3, 7))][::-1]
    made = [
        m.event("call.received", at, ACCOUNTS, "phone", phone, by=manager, direction="outbound", answered_by="agent")
        for at in touches
    ]
    case_id = f"KA-{n:03d}"
    segment = "key_account" if watched else None
    m.event(
        "case.opened",
        touches[0] + 60 * MIN,
        ACCOUNTS,
        "phone",
        phone,
        case_id,
        manager,
        case_type="inquiry",
        subject="review",
        priority="normal",
        segment=segment,
        description=None,
    )
    m.event("case.resolved", touches[0] + 80 * MIN, ACCOUNTS, "internal", phone, case_id, manager, resolution="ok")
    exp.fcr[case_id] = ("fcr", None)
    for by, key in (("department", ACCOUNTS), ("channel", "phone"), ("agent", manager)):
        exp.by[by][key]["fcr"] += 1
    exp.touch(("phone", ACCOUNTS, "first contact"), volume=1)
    for s in (exp.agents[manager], exp.departments[ACCOUNTS]):
        s.cases += 1
        s.outcomes["fcr"] += 1
        s.responses.append((20 * MIN).total_seconds())
    exp.segments["key_account" if watched else "regular"].add(name)
    if not watched:
        exp.silent_regulars.add(name)
    elif due:
        exp.proactive[name] = (last + threshold, manager, tuple(str(e.event_id) for e in made[::-1][:3]))
    else:
        exp.not_due.add(name)
