"""Aggregates over handoff and contact rows: the handoff matrix, dropped handoffs, ping-pong and repeat contacts.

Percentiles use the nearest-rank method (`domain.percentile`): always an observed latency.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from domain.cases import CalendarFor, HandoffCase, HandoffTarget, acceptance_deadline, is_dropped
from domain.percentile import nearest_rank
from projections.cases.rows import ContactRow, HandoffRow


@dataclass(frozen=True, slots=True)
class PairStats:
    """Handoffs from one department to another: how many, how fast accepted, how often bounced straight back."""

    from_department: str
    to_department: str
    count: int
    accepted: int
    dropped: int
    bounced: int
    median_seconds: float | None  # acceptance latency, wall clock
    p90_seconds: float | None
    median_business_seconds: float | None  # acceptance latency in the receiver's business time
    p90_business_seconds: float | None

    @property
    def bounce_rate(self) -> float:
        return self.bounced / self.count if self.count else 0.0


def deadline_of(row: HandoffRow, calendar_for: CalendarFor, target: HandoffTarget) -> datetime:
    case = HandoffCase(row.case_id, row.case_type, row.priority, row.handed_at)
    return acceptance_deadline(row.from_department, row.to_department, case, row.handed_at, calendar_for, target)


def dropped_at(row: HandoffRow, now: datetime, calendar_for: CalendarFor, target: HandoffTarget) -> datetime | None:
    """The handoff's deadline if it is dropped as of `now`, else None."""
    # Business time never runs faster than the wall clock, so the deadline is at least `allowed` after the
    # handoff: ending (or `now`) within that wall-clock window cannot be late, and needs no calendar walk.
    case = HandoffCase(row.case_id, row.case_type, row.priority, row.handed_at)
    earliest = row.handed_at + target(row.from_department, row.to_department, case).allowed
    if now < earliest or (row.ended_at is not None and row.ended_at <= earliest):
        return None
    deadline = deadline_of(row, calendar_for, target)
    return deadline if is_dropped(deadline, row.ended_at, now) else None


def matrix(rows: Iterable[HandoffRow], now: datetime, calendar_for: CalendarFor,
           target: HandoffTarget) -> list[PairStats]:
    """One entry per (from, to) pair that has handoffs, sorted by pair."""
    pairs: dict[tuple[str, str], list[HandoffRow]] = defaultdict(list)
    for row in rows:
        pairs[(row.from_department, row.to_department)].append(row)
    return [_pair(source, to, pairs[(source, to)], now, calendar_for, target) for source, to in sorted(pairs)]


def _pair(source: str, to: str, rows: list[HandoffRow], now: datetime, calendar_for: CalendarFor,
          target: HandoffTarget) -> PairStats:
    calendar = calendar_for(to)
    accepted = [r for r in rows if r.accepted_at is not None]
    wall = [(r.accepted_at - r.handed_at).total_seconds() for r in accepted if r.accepted_at is not None]
    business = [calendar.business_seconds_between(r.handed_at, r.accepted_at)
                for r in accepted if r.accepted_at is not None]
    dropped = sum(1 for r in rows if dropped_at(r, now, calendar_for, target) is not None)
    return PairStats(source, to, len(rows), len(accepted), dropped, sum(r.bounced for r in rows),
                     nearest_rank(wall, 50), nearest_rank(wall, 90), nearest_rank(business, 50),
                     nearest_rank(business, 90))


@dataclass(frozen=True, slots=True)
class DroppedHandoff:
    """A handoff that was still waiting for acceptance when its acceptance target ran out."""

    row: HandoffRow
    deadline: datetime
    late_seconds: float  # from the deadline until it stopped waiting, or until now


def dropped(rows: Iterable[HandoffRow], now: datetime, calendar_for: CalendarFor,
            target: HandoffTarget) -> list[DroppedHandoff]:
    """Dropped handoffs as of `now`, in the order of `rows`."""
    found = []
    for row in rows:
        deadline = dropped_at(row, now, calendar_for, target)
        if deadline is not None:
            late = ((row.ended_at or now) - deadline).total_seconds()
            found.append(DroppedHandoff(row, deadline, max(0.0, late)))
    return found


@dataclass(frozen=True, slots=True)
class PingPongCase:
    case_id: str
    returns: int
    path: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PingPong:
    """Cases that came back to a department they had left, returns per department, direct bounces per pair."""

    cases: tuple[PingPongCase, ...]
    returns_by_department: dict[str, int]
    bounces_by_pair: dict[tuple[str, str], int]

    @property
    def returns(self) -> int:
        return sum(case.returns for case in self.cases)


def ping_pong(rows: Iterable[HandoffRow], department: str | None = None) -> PingPong:
    """From handoff rows ordered by (case, seq): every case with at least one return (to `department`, if
    given); counts are over those cases."""
    by_case: dict[str, list[HandoffRow]] = defaultdict(list)
    for row in rows:
        by_case[row.case_id].append(row)
    cases, departments, pairs = [], Counter[str](), Counter[tuple[str, str]]()
    for case_id, chain in sorted(by_case.items()):
        returned = [r for r in chain if r.returned]
        if not returned or (department is not None and all(r.to_department != department for r in returned)):
            continue
        departments.update(r.to_department for r in returned)
        pairs.update((r.from_department, r.to_department) for r in chain if r.bounced)
        path = (chain[0].from_department, *(r.to_department for r in chain))
        cases.append(PingPongCase(case_id, len(returned), path))
    return PingPong(tuple(cases), dict(sorted(departments.items())), dict(sorted(pairs.items())))


@dataclass(frozen=True, slots=True)
class RepeatContacts:
    """Repeat contacts counted per case, per department reached, per channel and per holding department."""

    total: int
    by_case: dict[str, int]
    by_department: dict[str, int]
    by_channel: dict[str, int]
    by_holder: dict[str, int]


def repeat_contacts(rows: Iterable[ContactRow]) -> RepeatContacts:
    listed = list(rows)

    def count(key: str) -> dict[str, int]:
        return dict(sorted(Counter(getattr(r, key) for r in listed).items()))

    return RepeatContacts(len(listed), count("case_id"), count("department"), count("channel"), count("holder"))
