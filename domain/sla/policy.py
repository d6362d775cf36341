"""SLA policies: versions in force by effective time, rule matching, and the calendars each version carries."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from contracts import SlaCalendar, SlaMetric, SlaPolicyPublishedPayload, SlaRule, SlaTarget
from domain.instants import epoch_us
from domain.sla.calendar import WEEKDAYS, BusinessCalendar, calendar_from_mapping

_DURATION = re.compile(r"^(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?$")
_SELECTIONS_LIMIT = 10_000  # remembered rule selections per policy version (contexts are few in practice)


class PolicyError(ValueError):
    """A policy that cannot be used: unknown calendar, bad duration, version not newer."""


@dataclass(frozen=True, slots=True)
class ClockContext:
    """What a rule looks at when a clock starts."""

    department: str
    case_type: str | None = None
    priority: str | None = None
    segment: str | None = None
    site: str | None = None


@dataclass(frozen=True, slots=True)
class Selection:
    """The rule and target a clock runs under, with the calendar and escalation role of its department."""

    policy_version: int
    rule: str
    target: SlaTarget
    warnings: tuple[int, ...]
    calendar: BusinessCalendar
    manager_role: str


@dataclass(frozen=True, slots=True)
class Policy:
    """One published policy version (the payload as recorded) with its calendars parsed."""

    payload: SlaPolicyPublishedPayload
    calendars: Mapping[str, BusinessCalendar] = field(init=False, repr=False, compare=False)
    # Lookups derived once from the (immutable) payload, and the rule selections made so far.
    _by_site: dict[str, str] = field(init=False, repr=False, compare=False)
    _by_department: dict[str, str] = field(init=False, repr=False, compare=False)
    _roles: dict[str, str] = field(init=False, repr=False, compare=False)
    _selections: dict[tuple[SlaMetric, ClockContext], Selection | None] = field(init=False, repr=False,
                                                                                compare=False)

    def __post_init__(self) -> None:
        parsed = {c.name: calendar_from_mapping(c.name, calendar_mapping(c)) for c in self.payload.calendars}
        object.__setattr__(self, "calendars", MappingProxyType(parsed))
        object.__setattr__(self, "_by_site", {s.site: s.calendar for s in self.payload.sites})
        object.__setattr__(self, "_by_department", {d.department: d.calendar for d in self.payload.departments})
        object.__setattr__(self, "_roles", {d.department: d.manager_role for d in self.payload.departments})
        object.__setattr__(self, "_selections", {})
        named = {self.payload.default_calendar} | {d.calendar for d in self.payload.departments}
        missing = sorted((named | {s.calendar for s in self.payload.sites}) - set(parsed))
        if missing:
            raise PolicyError(f"policy v{self.version} names unknown calendars: {', '.join(missing)}")

    @property
    def version(self) -> int:
        return self.payload.version

    @property
    def effective_at(self) -> datetime:
        return self.payload.effective_at

    def calendar_for(self, department: str, site: str | None = None) -> BusinessCalendar:
        """The site's calendar if it has one, else the department's, else the default calendar."""
        name = self._by_site.get(site or "") or self._by_department.get(department) or self.payload.default_calendar
        return self.calendars[name]

    def manager_role(self, department: str) -> str:
        """The role breaches of `department` escalate to (`<department>-manager` unless configured)."""
        return self._roles.get(department, f"{department}-manager")

    def select(self, metric: SlaMetric, context: ClockContext) -> Selection | None:
        """The first rule accepting `context` that has a target for `metric` (None: no clock); remembered per
        metric and context, as the answer depends on nothing else."""
        key = (metric, context)
        try:
            return self._selections[key]
        except KeyError:
            pass
        chosen = self._select(metric, context)
        if len(self._selections) >= _SELECTIONS_LIMIT:
            self._selections.clear()
        self._selections[key] = chosen
        return chosen

    def _select(self, metric: SlaMetric, context: ClockContext) -> Selection | None:
        for rule in self.payload.rules:
            target = getattr(rule.targets, metric.value)
            if target is not None and _accepts(rule, context):
                warnings = rule.warning_percentages or self.payload.warning_percentages
                return Selection(self.version, rule.name, target, tuple(sorted(set(warnings))),
                                 self.calendar_for(context.department, context.site),
                                 self.manager_role(context.department))
        return None


@dataclass(frozen=True, slots=True)
class PolicyBook:
    """Every recorded policy version; the one in force at an instant is the latest effective by then."""

    policies: tuple[Policy, ...] = ()
    _versions: dict[int, Policy] = field(init=False, repr=False, compare=False)

    _effective: tuple[tuple[int, int, Policy], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        versions: dict[int, Policy] = {}
        for policy in self.policies:
            versions.setdefault(policy.version, policy)  # the first of a version, as `version` always found
        object.__setattr__(self, "_versions", versions)
        object.__setattr__(self, "_effective", tuple((epoch_us(p.effective_at), p.version, p) for p in self.policies))

    def adding(self, policy: Policy) -> PolicyBook:
        """The book with `policy` added (a version already present is kept: history wins)."""
        if any(p.version == policy.version for p in self.policies):
            return self
        return PolicyBook(tuple(sorted((*self.policies, policy), key=lambda p: p.version)))

    def in_force(self, at: datetime) -> Policy | None:
        """The policy for a clock started at `at`: latest effective_at <= at, ties to the higher version."""
        if not self._effective:
            return None
        at_us = epoch_us(at)  # instants compared as UTC microseconds, as aware datetimes compare
        chosen: tuple[int, int, Policy] | None = None
        for candidate in self._effective:
            if candidate[0] <= at_us and (chosen is None or candidate[:2] > chosen[:2]):
                chosen = candidate
        return chosen[2] if chosen is not None else None

    def version(self, number: int) -> Policy | None:
        return self._versions.get(number)

    @property
    def latest(self) -> Policy | None:
        return self.policies[-1] if self.policies else None


def _accepts(rule: SlaRule, context: ClockContext) -> bool:
    match = rule.match
    checks: Iterable[tuple[tuple[Any, ...], str | None]] = (
        (match.departments, context.department),
        (tuple(str(t) for t in match.case_types), context.case_type),
        (tuple(str(p) for p in match.priorities), context.priority),
        (match.segments, context.segment),
    )
    return all(not allowed or value in allowed for allowed, value in checks)


def calendar_mapping(calendar: SlaCalendar) -> dict[str, Any]:
    """The contract form of a calendar as the mapping `calendar_from_mapping` reads."""
    def spans(ranges: Iterable[Any]) -> list[list[str]]:
        return [[r.start, r.end] for r in ranges]

    data: dict[str, Any] = {
        "timezone": calendar.timezone,
        "always_open": calendar.always_open,
        "hours": {day: spans(getattr(calendar, day)) for day in WEEKDAYS},
        "holidays": list(calendar.holidays),
        "makeup_workdays": list(calendar.makeup_workdays),
    }
    if calendar.makeup_hours is not None:
        data["makeup_hours"] = spans(calendar.makeup_hours)
    if calendar.holiday_years is not None:
        data["holiday_years"] = list(calendar.holiday_years)
    return data


def calendar_contract(calendar: BusinessCalendar) -> dict[str, Any]:
    """A parsed calendar in its contract form (for snapshotting the configured calendars into a policy)."""
    def ranges(hours: Iterable[tuple[Any, Any]]) -> list[dict[str, str]]:
        return [{"start": f"{a:%H:%M}", "end": "24:00" if b.hour == b.minute == 0 else f"{b:%H:%M}"}
                for a, b in hours]

    data: dict[str, Any] = {"name": calendar.name, "timezone": calendar.timezone, "always_open": calendar.always_open}
    data |= {day: ranges(calendar.weekly_hours[n]) for n, day in enumerate(WEEKDAYS) if calendar.weekly_hours[n]}
    data["holidays"] = sorted(calendar.holidays)
    data["makeup_workdays"] = sorted(calendar.makeup_workdays)
    if calendar.makeup_hours is not None:
        data["makeup_hours"] = ranges(calendar.makeup_hours)
    if calendar.holiday_years is not None:
        data["holiday_years"] = list(calendar.holiday_years)
    return data


def parse_duration(value: Any) -> int:
    """Seconds from an int or from `"4h"`, `"30m"`, `"1h30m"`, `"90s"` (days are ambiguous in business time)."""
    if isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    else:
        match = _DURATION.match(str(value).strip())
        if match is None or not any(match.groups()):
            raise PolicyError(f"{value!r} is not a duration such as 4h, 30m or 1h30m")
        hours, minutes, secs = (int(part or 0) for part in match.groups())
        seconds = hours * 3600 + minutes * 60 + secs
    if seconds <= 0:
        raise PolicyError(f"duration {value!r} must be positive")
    return seconds
