"""An SLA clock: start, pause, resume, stop; elapsed time, threshold instants and state at an injected `now`."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

from contracts import SlaBasis, SlaMetric
from domain.evolve import evolve as replace
from domain.sla.calendar import TWENTY_FOUR_SEVEN, BusinessCalendar, CalendarGap

BREACH = 100


class ClockState(StrEnum):
    """Where a clock stands at an instant."""

    RUNNING = "running"
    PAUSED = "paused"  # waiting on the customer
    BREACHED = "breached"  # past its target and still running (or paused after the breach)
    MET = "met"  # stopped within its target
    MISSED = "missed"  # stopped after its target
    CALENDAR_GAP = "calendar_gap"  # its working time reaches a year the calendar has no holidays for


@dataclass(frozen=True, slots=True)
class Pause:
    """A pause; `ended_at` is None while it lasts."""

    started_at: datetime
    ended_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Handover:
    """The clock passed to another department (the case was handed off and accepted) at `at`."""

    at: datetime
    department: str
    escalate_to: str


@dataclass(frozen=True, slots=True)
class Clock:
    """One SLA clock, bound at start to the policy version, rule, target and calendar in force then."""

    clock_id: str
    metric: SlaMetric
    case_id: str | None
    department: str
    policy_version: int
    rule: str
    calendar: BusinessCalendar
    basis: SlaBasis
    target_seconds: float
    warnings: tuple[int, ...]
    escalate_to: str
    started_at: datetime
    start_event_id: str
    agent: str | None = None
    customer_id: str | None = None
    promise_id: str | None = None
    due_at: datetime | None = None  # callback promises: the promised time is the deadline
    pauses: tuple[Pause, ...] = ()
    stopped_at: datetime | None = None
    stop_reason: str | None = None
    alerted: frozenset[int] = frozenset()
    handovers: tuple[Handover, ...] = ()
    standard_seconds: float | None = None  # callback promises: how far ahead the policy lets a promise be made
    # The latest fact that shaped the clock's running time (start, pause, resume, stop): its log position and
    # event id. Alerts wait until the ticker's watermark has passed it (late facts get their allowed lateness).
    changed_at: int = 0
    changed_by: str | None = None
    alerted_at: tuple[tuple[int, datetime], ...] = ()  # standing alerts: (threshold, instant recorded)
    retractions: tuple[int, ...] = ()  # thresholds whose alerts were retracted, once per retraction
    gap_alerted: bool = False  # its `sla.calendar_gap` is recorded

    @property
    def owner(self) -> tuple[str, str]:
        """The department responsible now and the role its breaches escalate to."""
        return self.owner_at(None)

    def owner_at(self, at: datetime | None) -> tuple[str, str]:
        """The department responsible at `at` (None: now) and its escalation role; history, not hindsight."""
        owner = (self.department, self.escalate_to)
        for handover in self.handovers:
            if at is None or handover.at <= at:
                owner = (handover.department, handover.escalate_to)
        return owner

    def handed_over(self, at: datetime, department: str, escalate_to: str) -> Clock:
        if self.stopped_at is not None or self.owner[0] == department:
            return self
        return replace(self, handovers=(*self.handovers, Handover(at, department, escalate_to)))

    @property
    def meter(self) -> BusinessCalendar:
        """The calendar that counts this clock's time (24x7 for calendar-time targets)."""
        return self.calendar if self.basis is SlaBasis.BUSINESS else TWENTY_FOUR_SEVEN

    @property
    def thresholds(self) -> tuple[int, ...]:
        """Warning percentages below 100, then the breach."""
        return (*(p for p in self.warnings if p < BREACH), BREACH)

    @property
    def is_paused(self) -> bool:
        return bool(self.pauses) and self.pauses[-1].ended_at is None and self.stopped_at is None

    def segments(self) -> Iterator[tuple[datetime, datetime | None]]:
        """Running intervals [start, end) in order; the last one is open (None) while the clock runs."""
        return _segments(self.started_at, self.pauses, self.stopped_at)

    def elapsed(self, at: datetime) -> float:
        """Seconds of the clock's basis counted up to `at`."""
        return _elapsed(self.meter, self.segments(), at)

    def percent(self, at: datetime) -> float:
        """Elapsed share of the target at `at`, in percent (may exceed 100)."""
        if self.target_seconds <= 0:
            return float(BREACH)
        return 100.0 * self.elapsed(at) / self.target_seconds

    def instant_of(self, percent: int) -> datetime | None:
        """When `percent` of the target is reached; None if the clock stops or pauses first, or if the instant
        lies where the calendar has no holiday data (see `gap`)."""
        found = self._instant_or_gap(percent)
        return None if isinstance(found, CalendarGap) else found

    def gap(self) -> CalendarGap | None:
        """The calendar gap that keeps a threshold instant from being computed, if any."""
        for found in _instants(self._timed()):
            if isinstance(found, CalendarGap):
                return found
        return None

    def _timed(self) -> _Timing:
        return _Timing(self.calendar, self.basis, self.target_seconds, self.due_at, self.started_at, self.pauses,
                       self.stopped_at, self.warnings)

    def _instant_or_gap(self, percent: int) -> datetime | CalendarGap | None:
        timed = self._timed()
        thresholds = timed.thresholds()
        if percent in thresholds:
            return _instants(timed)[thresholds.index(percent)]
        return timed.instant_or_gap(percent)

    def deadline(self) -> datetime | None:
        """The breach instant as things stand (None while paused before it, or if stopped before it)."""
        return self.instant_of(BREACH)

    def projected_deadline(self, at: datetime) -> datetime:
        """The breach instant if the clock ran without further pauses from `at` (used by explanations)."""
        if self.due_at is not None:
            return self.due_at
        remaining = max(0.0, self.target_seconds - self.elapsed(at))
        return self.meter.add_business_seconds(at, remaining).astimezone(self.calendar.zone)

    def state(self, now: datetime) -> ClockState:
        if self.gap() is not None:
            return ClockState.CALENDAR_GAP
        breach = self.instant_of(BREACH)
        if self.stopped_at is not None and self.stopped_at <= now:
            return ClockState.MET if breach is None else ClockState.MISSED
        if breach is not None and breach <= now:
            return ClockState.BREACHED
        return ClockState.PAUSED if self.is_paused else ClockState.RUNNING

    def due_alerts(self, now: datetime) -> list[tuple[int, datetime]]:
        """Thresholds reached by `now` and not yet alerted, with the instant each was reached."""
        due = []
        for percent in self.thresholds:
            at = self.instant_of(percent)
            if percent not in self.alerted and at is not None and at <= now:
                due.append((percent, at))
        return due

    def wrong_alerts(self) -> list[tuple[int, datetime]]:
        """Standing alerts the clock no longer supports: facts recorded since show the threshold was not reached
        at the recorded instant (the clock stopped or paused before it), with that instant."""
        return [(percent, at) for percent, at in self.alerted_at
                if (now := self.instant_of(percent)) is None or now > at]

    def alert_round(self, percent: int) -> int:
        """How many alerts of `percent` were retracted (a re-raised alert gets a new id)."""
        return self.retractions.count(percent)

    def next_alert_at(self) -> datetime | None:
        """The earliest instant of a threshold not yet alerted, of a wrong alert to retract, or of the start
        of a clock with an unreported calendar gap (None if nothing can be known yet)."""
        timed = self._timed()
        thresholds = timed.thresholds()
        found = _instants(timed)
        instants = [None if isinstance(at, CalendarGap) else at
                    for p, at in zip(thresholds, found, strict=True) if p not in self.alerted]
        instants += [at for _, at in self.wrong_alerts()]
        if not self.gap_alerted and any(isinstance(at, CalendarGap) for at in found):
            instants.append(self.started_at)
        return min((at for at in instants if at is not None), default=None)

    def paused(self, at: datetime) -> Clock:
        if self.stopped_at is not None or self.is_paused:
            return self
        return replace(self, pauses=(*self.pauses, Pause(max(at, self._last_change()))))

    def resumed(self, at: datetime) -> Clock:
        if not self.is_paused:
            return self
        last = self.pauses[-1]
        return replace(self, pauses=(*self.pauses[:-1], Pause(last.started_at, max(at, last.started_at))))

    def stopped(self, at: datetime, reason: str) -> Clock:
        if self.stopped_at is not None:
            return self
        return replace(self, stopped_at=max(at, self._last_change()), stop_reason=reason)

    def alerting(self, percent: int, at: datetime | None = None) -> Clock:
        recorded = self.alerted_at if at is None else (*self.alerted_at, (percent, at))
        return replace(self, alerted=self.alerted | {percent}, alerted_at=recorded)

    def retracting(self, percent: int) -> Clock:
        """The clock once the standing alert of `percent` is retracted (it may be raised again, later)."""
        return replace(self, alerted=self.alerted - {percent}, retractions=(*self.retractions, percent),
                       alerted_at=tuple(pair for pair in self.alerted_at if pair[0] != percent))

    def stamp_new(self, position: int, event_id: str) -> None:
        """Stamp, in place, a clock the event being applied has just made with that event (the fact that last
        shaped its running time): no one holds it yet (nor has hashed it), so it is completed rather than
        copied (a rebuild makes millions of them)."""
        object.__setattr__(self, "changed_at", position)
        object.__setattr__(self, "changed_by", event_id)

    def timing(self) -> tuple[object, ...]:
        """What decides the clock's threshold instants (a fact changing it is stamped by `changed`)."""
        return self.started_at, self.pauses, self.stopped_at

    def _last_change(self) -> datetime:
        """The latest instant already recorded (start or pause boundary): later changes cannot precede it."""
        ends = (p.ended_at for p in self.pauses if p.ended_at is not None)
        return max([self.started_at, *(p.started_at for p in self.pauses), *ends])


class _Timing(NamedTuple):
    """What decides a clock's threshold instants (the key of their memo): its calendar and basis, target,
    promised time, running segments and warnings."""

    calendar: BusinessCalendar
    basis: SlaBasis
    target_seconds: float
    due_at: datetime | None
    started_at: datetime
    pauses: tuple[Pause, ...]
    stopped_at: datetime | None
    warnings: tuple[int, ...]

    def thresholds(self) -> tuple[int, ...]:
        return (*(p for p in self.warnings if p < BREACH), BREACH)

    def meter(self) -> BusinessCalendar:
        return self.calendar if self.basis is SlaBasis.BUSINESS else TWENTY_FOUR_SEVEN

    def instant_or_gap(self, percent: int, run: list[float] | None = None) -> datetime | CalendarGap | None:
        """When `percent` of the target is reached, or the calendar gap that keeps it from being known; `run`
        holds the seconds a stopped clock ran once they are counted (shared by the thresholds of one clock)."""
        try:
            return self._instant_of(percent, [] if run is None else run)
        except CalendarGap as gap:
            return gap

    def _instant_of(self, percent: int, run: list[float]) -> datetime | None:
        need = self.target_seconds * percent / 100
        if percent >= BREACH and self.due_at is not None:
            reached: datetime | None = self.due_at
        elif self.stopped_at is not None and need > self._run_seconds(run):
            return None  # a stopped clock never reaches more than it ran: no calendar walk needed
        else:
            reached = _walk(self.meter(), self.segments(), need)
        if reached is None or (self.stopped_at is not None and reached >= self.stopped_at):
            return None
        return reached.astimezone(self.calendar.zone)

    def segments(self) -> Iterator[tuple[datetime, datetime | None]]:
        return _segments(self.started_at, self.pauses, self.stopped_at)

    def _run_seconds(self, run: list[float]) -> float:
        """Seconds a stopped clock ran in all (counted once into `run`)."""
        if not run:
            assert self.stopped_at is not None
            run.append(_elapsed(self.meter(), self.segments(), self.stopped_at))
        return run[0]


def _segments(started_at: datetime, pauses: tuple[Pause, ...],
              stopped_at: datetime | None) -> Iterator[tuple[datetime, datetime | None]]:
    """Running intervals [start, end) in order; the last one is open (None) while the clock runs."""
    start: datetime | None = started_at
    for pause in pauses:
        if start is not None and (stopped_at is None or pause.started_at < stopped_at):
            yield start, pause.started_at
        start = pause.ended_at
    if start is not None and (stopped_at is None or start < stopped_at):
        yield start, stopped_at


def _elapsed(meter: BusinessCalendar, segments: Iterator[tuple[datetime, datetime | None]], at: datetime) -> float:
    return sum(meter.business_seconds_between(a, min(b, at) if b else at) for a, b in segments)


def _walk(meter: BusinessCalendar, segments: Iterator[tuple[datetime, datetime | None]],
          need: float) -> datetime | None:
    """The instant at which `need` seconds have run, walking the running segments."""
    for start, end in segments:
        available = meter.business_seconds_between(start, end) if end is not None else None
        if available is None or need <= available:
            return meter.add_business_seconds(start, need)
        need -= available
    return None


@functools.lru_cache(maxsize=32_768)  # bounded low: a rebuild's memory stays flat
def _instants(timed: _Timing) -> tuple[datetime | CalendarGap | None, ...]:
    """The instant (or calendar gap) of each threshold, in order. Memoised by what decides them, not by the
    whole clock: an alert, a handover or a learnt customer makes a new clock with the same instants, and
    projections re-derive them for every clock that changed (business-calendar walks are the costly part)."""
    run: list[float] = []
    return tuple(timed.instant_or_gap(percent, run) for percent in timed.thresholds())
