"""A generated case data set whose answers are known by construction, not by running the code under test.

Each case is opened at 08:30 on a working Monday-Thursday of March 2026 (no public holidays until Qingming on
4 April) and handed off at 09:00 (09:30 after a redirect) one week apart. With office hours 09-12 and 13-18 and a
target of four business hours, the deadline of a handoff made at 09:00-09:30 falls at 14:00-14:30 the same day, so:
an acceptance within three hours (by 12:30) is always in time; one after six hours or more (15:00 at the earliest)
is always late; a redirect after 30 minutes or a withdrawal after an hour ends the wait in time. The generator
picks each handoff's fate, whether it returns the case to a department it had already been at, each contact's
channel and whether the case is still open, and writes the answers down as it goes.
"""

from __future__ import annotations

import math
import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from contracts import Envelope
from tests.support.builders import make_event

SHANGHAI = timezone(timedelta(hours=8))
DEPARTMENTS = ("loan", "card_centre", "approval_office", "branch", "collections", "fraud")
BASE_DAYS = tuple(date(2026, 3, day) for day in (2, 3, 4, 5, 9, 10, 11, 12))  # Mon-Thu, three weeks to spare
NOW = datetime(2026, 6, 1, tzinfo=SHANGHAI)
CHANNELS = {"call.received": "phone", "web.request_submitted": "web", "frontdesk.visit_checked_in": "front_desk"}
FAST, SLOW = (1, 180), (360, 4320)  # acceptance latency ranges, minutes


@dataclass(frozen=True)
class Handoff:
    case_id: str
    seq: int
    source: str
    to: str
    at: datetime
    fate: str  # "fast", "slow", "never", "superseded", "withdrawn", "closed_late"
    latency_s: float | None  # wall seconds to acceptance, if accepted
    returned: bool
    bounced: bool = False

    @property
    def dropped(self) -> bool:
        return self.fate in ("slow", "never", "closed_late")


@dataclass
class Expected:
    """The answers, written down while generating."""

    cases: int = 0
    handoffs: list[Handoff] = field(default_factory=list)
    contacts_by_case: Counter[str] = field(default_factory=Counter)
    contacts_by_channel: Counter[str] = field(default_factory=Counter)
    contacts_by_department: Counter[str] = field(default_factory=Counter)
    anomalies: Counter[str] = field(default_factory=Counter)

    def matrix(self) -> dict[tuple[str, str], tuple[int, int, int, int, float | None, float | None]]:
        """(count, accepted, dropped, bounced, median, p90) per pair; percentiles by nearest rank."""
        pairs: dict[tuple[str, str], list[Handoff]] = {}
        for h in self.handoffs:
            pairs.setdefault((h.source, h.to), []).append(h)
        return {pair: _pair(listed) for pair, listed in pairs.items()}

    def ping_pong(self) -> dict[str, int]:
        returns = Counter(h.case_id for h in self.handoffs if h.returned)
        return dict(returns)

    def dropped(self) -> set[tuple[str, int]]:
        return {(h.case_id, h.seq) for h in self.handoffs if h.dropped}


def _pair(handoffs: list[Handoff]) -> tuple[int, int, int, int, float | None, float | None]:
    latencies = sorted(h.latency_s for h in handoffs if h.latency_s is not None)

    def rank(percent: int) -> float | None:
        return latencies[math.ceil(len(latencies) * percent / 100) - 1] if latencies else None

    return (len(handoffs), len(latencies), sum(h.dropped for h in handoffs), sum(h.bounced for h in handoffs),
            rank(50), rank(90))


@dataclass(frozen=True)
class Generated:
    events: list[Envelope]  # in log order (by occurrence time)
    expected: Expected


def generate(cases: int = 5000, seed: int = 20261125, *, per_month: int | None = None) -> Generated:
    """`cases` generated cases in log order. All open in March 2026 unless `per_month` is given: then the log is a
    longer history at a steady rate, each run of `per_month` cases four weeks before the next (the last in March
    2026), and customers come back (case i's customer is that of case i + 2 * per_month). `expected` is worked out
    for the March log only: nothing checks it against a history, whose other months have public holidays."""
    rng = random.Random(seed)
    expected = Expected(cases=cases)
    timed: list[tuple[datetime, int, Envelope]] = []
    for index in range(cases):
        writer = _CaseWriter(rng, index, expected, timed)
        if per_month is not None:
            writer.move_back(weeks=4 * ((cases - 1 - index) // per_month), customer=index % (2 * per_month))
        writer.write()
    timed.sort(key=lambda item: (item[0], item[1]))
    return Generated([event for _, _, event in timed], expected)


class _CaseWriter:
    """Writes one case's events and its expected answers."""

    def __init__(self, rng: random.Random, index: int, expected: Expected,
                 out: list[tuple[datetime, int, Envelope]]) -> None:
        self.rng, self.index, self.expected, self.out = rng, index, expected, out
        self.case_id = f"GEN-{index:05d}"
        self.customer = {"customer_number": f"G-{index:05d}"}
        self.base = datetime.combine(rng.choice(BASE_DAYS), time(8, 30), SHANGHAI)
        self.holder = rng.choice(DEPARTMENTS)
        self.visited = [self.holder]
        self.chain: list[Handoff] = []

    def move_back(self, weeks: int, customer: int) -> None:
        """Open the case `weeks` earlier (the same weekday), for customer number `customer`."""
        self.base -= timedelta(weeks=weeks)
        self.customer = {"customer_number": f"G-{customer:05d}"}

    def write(self) -> None:
        self.add("case.opened", self.base, self.holder, case_type="inquiry", subject=self.case_id,
                 priority=self.rng.choice(["low", "normal", "high"]))
        slots = self.rng.choices([0, 1, 2, 3, 4], weights=[10, 30, 30, 20, 10])[0]
        last_end = self.base
        for slot in range(slots):
            last_end = self.hand_off(self.base + timedelta(days=7 * slot, minutes=30), slot == slots - 1)
        self.expected.handoffs.extend(self._with_bounces())
        resolved_at = self.resolution(last_end)
        self.contacts(resolved_at or last_end + timedelta(days=3), resolved_at)

    def hand_off(self, at: datetime, last: bool) -> datetime:
        first_choice = None
        if self.rng.random() < 0.1:  # redirected by the sender after 30 minutes, before anyone accepted
            first_choice = self.pick()
            self.handoff(at, first_choice, "superseded", None)
            at += timedelta(minutes=30)
        fate = self.rng.choice(["fast", "fast", "slow", "never", "withdrawn", "closed_late"] if last else
                               ["fast", "fast", "slow"])
        to = self.pick(first_choice)
        event = self.handoff(at, to, fate, self.latency(fate))
        latency = self.chain[-1].latency_s
        if latency is None:
            return at
        accepted_at = at + timedelta(seconds=latency)
        self.add("case.handoff_accepted", accepted_at, to, department=to,
                 handoff_event_id=str(event.event_id) if self.rng.random() < 0.5 else None)
        self.holder = to
        if self.index % 100 == 0:  # a second acceptance of the same handoff: an anomaly, nothing else
            with_id = self.rng.random() < 0.5
            self.add("case.handoff_accepted", accepted_at + timedelta(minutes=1), to, department=to,
                     handoff_event_id=str(event.event_id) if with_id else None)
            kind = "acceptance_of_ended_handoff" if with_id else "acceptance_without_handoff"
            self.expected.anomalies[kind] += 1
        return accepted_at

    def pick(self, besides: str | None = None) -> str:
        """A department other than the holder (and `besides`): one the case has been at (a return) a quarter of
        the time."""
        been = [d for d in dict.fromkeys(self.visited) if d not in (self.holder, besides)]
        fresh = [d for d in DEPARTMENTS if d not in self.visited]
        pool = been if (been and self.rng.random() < 0.25) or not fresh else fresh
        return self.rng.choice(pool)

    def latency(self, fate: str) -> float | None:
        spans = {"fast": FAST, "slow": SLOW}
        return self.rng.randint(*spans[fate]) * 60.0 if fate in spans else None

    def handoff(self, at: datetime, to: str, fate: str, latency: float | None) -> Envelope:
        returned = to in self.visited
        self.visited.append(to)
        self.chain.append(Handoff(self.case_id, len(self.chain) + 1, self.holder, to, at, fate, latency, returned))
        return self.add("case.handed_off", at, self.holder, from_department=self.holder, to_department=to,
                        reason="generated", context_summary="generated")

    def _with_bounces(self) -> list[Handoff]:
        chain = self.chain
        return [Handoff(h.case_id, h.seq, h.source, h.to, h.at, h.fate, h.latency_s, h.returned,
                        i + 1 < len(chain) and chain[i + 1].to == h.source) for i, h in enumerate(chain)]

    def resolution(self, last_end: datetime) -> datetime | None:
        fate = self.chain[-1].fate if self.chain else "fast"
        if fate == "withdrawn":
            resolved_at = self.chain[-1].at + timedelta(hours=1)
        elif fate == "closed_late" or (fate in ("fast", "slow") and self.rng.random() < 0.6):
            resolved_at = last_end + timedelta(days=5)
        else:
            return None
        self.add("case.resolved", resolved_at, self.holder, resolution="done")
        return resolved_at

    def contacts(self, until: datetime, resolved_at: datetime | None) -> None:
        window = int((until - self.base).total_seconds() // 60) - 61
        for _ in range(self.rng.choice([0, 0, 1, 1, 2, 3])):
            self.contact(self.base + timedelta(minutes=60 + self.rng.randrange(window)), counted=True)
        if resolved_at is not None and self.rng.random() < 0.2:
            self.contact(resolved_at + timedelta(days=2), counted=False)  # the case is resolved by then
        if self.rng.random() < 0.2:
            self.add("call.received", self.base + timedelta(minutes=45), self.holder, call_id=f"out-{self.index}",
                     direction="outbound", answered_by="agent")  # we called them: not a contact

    def contact(self, at: datetime, counted: bool) -> None:
        event_type = self.rng.choice(list(CHANNELS))
        department = self.rng.choice(DEPARTMENTS)
        name = f"{self.index}-{at:%m%d%H%M}"
        payloads: dict[str, dict[str, Any]] = {
            "call.received": {"call_id": name, "direction": "inbound", "answered_by": "agent"},
            "web.request_submitted": {"request_id": name, "form": "contact-us", "subject": "again", "body": "still"},
            "frontdesk.visit_checked_in": {"visit_id": name, "purpose": "ask again"},
        }
        named = self.rng.random() < 0.5  # names the case, or only the customer
        self.add(event_type, at, department, case=named, channel=CHANNELS[event_type], **payloads[event_type])
        if counted:
            self.expected.contacts_by_case[self.case_id] += 1
            self.expected.contacts_by_channel[CHANNELS[event_type]] += 1
            self.expected.contacts_by_department[department] += 1

    def add(self, event_type: str, at: datetime, dept: str, case: bool = True,
            channel: str = "internal", **payload: Any) -> Envelope:
        """An event of this case (naming it unless `case` is False) recorded by `dept`."""
        event = make_event(event_type, occurred_at=at, department=dept, channel=channel,
                           customer=self.customer, case_id=self.case_id if case else None, payload=payload,
                           event_id=uuid.UUID(int=self.rng.getrandbits(128), version=4))
        self.out.append((at, len(self.out), event))
        return event
