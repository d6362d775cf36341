"""Time-dependent views of cases as of `now`: the case view with times per department, and department inboxes.

Pure: `now`, the calendars and the acceptance target are arguments; stores hand in the cases.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from domain.cases import (
    CalendarFor,
    CaseState,
    CaseStatus,
    DepartmentTime,
    Handoff,
    HandoffCase,
    HandoffTarget,
    Promise,
    Span,
    acceptance_deadline,
    age_seconds,
    bounced,
    is_broken,
    is_dropped,
    span,
    time_by_department,
)


@dataclass(frozen=True, slots=True)
class HandoffTiming:
    """A handoff with its acceptance deadline and how long the receiver took (or has taken so far)."""

    handoff: Handoff
    deadline: datetime
    dropped: bool
    bounced: bool
    waited: Span  # handed off until it stopped waiting, or until now (receiver's calendar)
    latency: Span | None  # handed off until accepted, once accepted


@dataclass(frozen=True, slots=True)
class PromiseStatus:
    promise: Promise
    broken: bool


@dataclass(frozen=True, slots=True)
class CaseView:
    """A case as of `now`: its state, age, time per department, handoff chain and promises."""

    state: CaseState
    now: datetime
    age_seconds: float
    departments: tuple[DepartmentTime, ...]
    handoffs: tuple[HandoffTiming, ...]
    promises: tuple[PromiseStatus, ...]

    @property
    def broken_promises(self) -> int:
        return sum(1 for p in self.promises if p.broken)


def case_view(state: CaseState, now: datetime, calendar_for: CalendarFor, target: HandoffTarget) -> CaseView:
    back = bounced(state.handoffs)
    timings = tuple(_timing(state, h, h.seq in back, now, calendar_for, target) for h in state.handoffs)
    promises = tuple(PromiseStatus(p, is_broken(p, now)) for p in state.promises)
    return CaseView(state, now, age_seconds(state, now), time_by_department(state, now, calendar_for), timings,
                    promises)


def _timing(state: CaseState, handoff: Handoff, back: bool, now: datetime, calendar_for: CalendarFor,
            target: HandoffTarget) -> HandoffTiming:
    calendar = calendar_for(handoff.to_department)
    case = HandoffCase(state.case_id, handoff.case_type, handoff.priority, handoff.handed_at)
    deadline = acceptance_deadline(handoff.from_department, handoff.to_department, case, handoff.handed_at,
                                   calendar_for, target)
    latency = span(calendar, handoff.handed_at, handoff.accepted_at) if handoff.accepted_at else None
    return HandoffTiming(handoff, deadline, is_dropped(deadline, handoff.ended_at, now), back,
                         span(calendar, handoff.handed_at, handoff.ended_at or now), latency)


@dataclass(frozen=True, slots=True)
class InboxItem:
    """A case in a department's inbox, with the view that carries its context (so nobody asks again).

    `since` is when it reached the department (handed off to it, or the start of its current stint there);
    `overdue` names why it is late: `acceptance` (acceptance target passed) and/or `promise:<id>` (broken).
    """

    view: CaseView
    awaiting: bool  # handed to the department and not yet accepted (else: held open by it)
    since: datetime
    waited: Span
    deadline: datetime | None
    overdue: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Inbox:
    """A department's inbox as of `now`: handed to it and not yet accepted, and held by it and open."""

    department: str
    now: datetime
    awaiting: tuple[InboxItem, ...]
    held: tuple[InboxItem, ...]
    awaiting_total: int
    held_total: int

    @property
    def overdue(self) -> tuple[InboxItem, ...]:
        return tuple(item for item in (*self.awaiting, *self.held) if item.overdue)


def inbox(department: str, awaiting: Iterable[CaseState], held: Iterable[CaseState], now: datetime,
          calendar_for: CalendarFor, target: HandoffTarget, totals: tuple[int, int] | None = None) -> Inbox:
    """The inbox from the cases waiting for the department and the open cases it holds."""
    waiting = _longest_first(_awaiting_item(department, s, now, calendar_for, target) for s in awaiting)
    holding = _longest_first(_held_item(department, s, now, calendar_for, target) for s in held)
    awaiting_total, held_total = totals if totals is not None else (len(waiting), len(holding))
    return Inbox(department, now, waiting, holding, awaiting_total, held_total)


def _longest_first(items: Iterable[InboxItem]) -> tuple[InboxItem, ...]:
    return tuple(sorted(items, key=lambda item: (item.since, item.view.state.case_id)))


def _awaiting_item(department: str, state: CaseState, now: datetime, calendar_for: CalendarFor,
                   target: HandoffTarget) -> InboxItem:
    view = case_view(state, now, calendar_for, target)
    timing = view.handoffs[-1]
    assert timing.handoff.pending and timing.handoff.to_department == department, "not waiting for it"
    overdue = ("acceptance",) if timing.dropped else ()
    return InboxItem(view, True, timing.handoff.handed_at, timing.waited, timing.deadline, overdue)


def _held_item(department: str, state: CaseState, now: datetime, calendar_for: CalendarFor,
               target: HandoffTarget) -> InboxItem:
    assert state.holder == department and state.status is not CaseStatus.RESOLVED, "not held open by it"
    view = case_view(state, now, calendar_for, target)
    since = state.stints[-1].started_at if state.stints else state.opened_at
    assert since is not None
    broken = tuple(f"promise:{p.promise.promise_id}" for p in view.promises if p.broken)
    return InboxItem(view, False, since, span(calendar_for(department), since, now), None, broken)
