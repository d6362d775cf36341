"""Time on a case as of a given `now`: time per department (wall and business), acceptance deadlines, dropped
handoffs and broken promises. Business time comes from an injected `calendar_for(department)`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from domain.cases.model import CaseState, Promise

DEFAULT_HANDOFF_TARGET = timedelta(hours=4)
"""Acceptance target used until SLA policies name one: four hours of the receiving department's business time."""


class Calendar(Protocol):
    """Business time of a department (domain.sla.calendar.BusinessCalendar satisfies it)."""

    def business_seconds_between(self, start: datetime, end: datetime) -> float: ...

    def add_business_seconds(self, start: datetime, seconds: float) -> datetime: ...


CalendarFor = Callable[[str], Calendar]


@dataclass(frozen=True, slots=True)
class HandoffCase:
    """What an acceptance target may depend on besides the two departments."""

    case_id: str
    case_type: str
    priority: str
    handed_at: datetime  # the policy in force at this instant sets the target


@dataclass(frozen=True, slots=True)
class AcceptanceTarget:
    """How long the receiver has to accept: counted in its business time, or in wall-clock (calendar) time."""

    allowed: timedelta
    business_time: bool = True

    def __post_init__(self) -> None:
        if self.allowed < timedelta(0):
            raise ValueError("a handoff target cannot be negative")


HandoffTarget = Callable[[str, str, HandoffCase], AcceptanceTarget]
"""`(from_department, to_department, case) -> target` for accepting a handoff."""


def fixed_target(target: timedelta = DEFAULT_HANDOFF_TARGET) -> HandoffTarget:
    """The same acceptance target (in the receiver's business time) for every handoff."""
    fixed = AcceptanceTarget(target)

    def handoff_target(_from: str, _to: str, _case: HandoffCase) -> AcceptanceTarget:
        return fixed

    return handoff_target


@dataclass(frozen=True, slots=True)
class Span:
    """A duration in wall-clock seconds and in business seconds of one department's calendar."""

    wall_seconds: float
    business_seconds: float

    def __add__(self, other: Span) -> Span:
        return Span(self.wall_seconds + other.wall_seconds, self.business_seconds + other.business_seconds)


ZERO = Span(0.0, 0.0)


def span(calendar: Calendar, start: datetime, end: datetime) -> Span:
    """Time from `start` to `end` (zero when `end` is not after `start`)."""
    if end <= start:
        return ZERO
    return Span((end - start).total_seconds(), calendar.business_seconds_between(start, end))


@dataclass(frozen=True, slots=True)
class DepartmentTime:
    """Time the case spent with one department: owning it (`held`) and unaccepted in its inbox (`awaiting`)."""

    department: str
    held: Span
    awaiting: Span
    stints: int


def time_by_department(state: CaseState, now: datetime, calendar_for: CalendarFor) -> tuple[DepartmentTime, ...]:
    """Per department, in the order the case reached them; open periods run until `now`."""
    held: dict[str, Span] = dict.fromkeys(state.path, ZERO)
    awaiting: dict[str, Span] = dict(held)
    stints: dict[str, int] = dict.fromkeys(held, 0)
    for stint in state.stints:
        end = stint.ended_at or now
        held[stint.department] = held.get(stint.department, ZERO) + span(calendar_for(stint.department),
                                                                          stint.started_at, end)
        stints[stint.department] = stints.get(stint.department, 0) + 1
    for handoff in state.handoffs:
        to = handoff.to_department
        awaiting[to] = awaiting.get(to, ZERO) + span(calendar_for(to), handoff.handed_at, handoff.ended_at or now)
    return tuple(DepartmentTime(d, held[d], awaiting.get(d, ZERO), stints.get(d, 0)) for d in held)


def acceptance_deadline(
    from_department: str, to_department: str, case: HandoffCase, handed_at: datetime,
    calendar_for: CalendarFor, target: HandoffTarget,
) -> datetime:
    """When the receiving department's acceptance target runs out (in its business time unless the target
    counts calendar time)."""
    chosen = target(from_department, to_department, case)
    if not chosen.business_time:
        return handed_at + chosen.allowed
    return calendar_for(to_department).add_business_seconds(handed_at, chosen.allowed.total_seconds())


def is_dropped(deadline: datetime, ended_at: datetime | None, now: datetime) -> bool:
    """Dropped: the deadline has passed and the handoff was still waiting for acceptance at that moment
    (never accepted, or accepted, handed on or closed only after it)."""
    return deadline <= now and (ended_at is None or ended_at > deadline)


def is_broken(promise: Promise, now: datetime) -> bool:
    """A promise is broken once its due time has passed without a callback made by then."""
    return promise.due_at < now and (promise.made_at is None or promise.made_at > promise.due_at)


def age_seconds(state: CaseState, now: datetime) -> float:
    """Wall-clock seconds since the case was opened, until its resolution if resolved (never negative)."""
    if state.opened_at is None:
        return 0.0
    end = state.resolved_at or now
    return max(0.0, (end - state.opened_at).total_seconds())
