"""SLA events recorded by touchline itself: policy versions, warnings, breaches, retractions, calendar gaps and
acknowledgements."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

from pydantic import Field, StringConstraints

from contracts.cases import CaseType, Priority
from contracts.envelope import Envelope, Payload
from contracts.fields import (
    ContractModel,
    Count64,
    Day,
    Department,
    Label,
    Positive64,
    Text,
    Timestamp,
    format_duration,
    format_time,
)

HourMinute = Annotated[str, StringConstraints(pattern=r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$")]
"""Local wall-clock time `HH:MM`; `24:00` ends a day."""

Percent = Annotated[int, Field(ge=1, le=99)]
Year = Annotated[int, Field(ge=1970, le=2199)]  # the years of the plausibility window (docs/events.md)
_MAX_TARGET = 366 * 24 * 3600
_SYSTEM = {"department": "touchline", "channel": "internal", "system": "sla-ticker"}
_CASE = "CASE-2026-00417"
_CLOCK = "3f1c9f0e-8f5d-5d33-9a55-2b7f3f1f6a10"


class SlaMetric(StrEnum):
    """What an SLA clock measures."""

    FIRST_RESPONSE = "first_response"  # case opened -> first agent contact
    NEXT_RESPONSE = "next_response"  # customer wrote or answered -> next agent contact
    RESOLUTION = "resolution"  # case opened (or reopened) -> resolved; paused while waiting on the customer
    CALLBACK_PROMISE = "callback_promise"  # callback promised -> callback made; the deadline is the promised time
    HANDOFF_ACCEPTANCE = "handoff_acceptance"  # handed off -> accepted by the receiving department
    CUSTOMER_UPDATE = "customer_update"  # last agent contact -> next one, while the case is open


class SlaBasis(StrEnum):
    """Whether a target counts working time of the department's calendar or every second."""

    BUSINESS = "business"
    CALENDAR = "calendar"


class SlaTarget(ContractModel):
    """A target duration and how it is counted."""

    seconds: int = Field(gt=0, le=_MAX_TARGET, description="Target in seconds (of business or calendar time).")
    basis: SlaBasis = Field(default=SlaBasis.BUSINESS, description="Business time (the calendar) or calendar time.")


class SlaTargets(ContractModel):
    """Targets of one rule; a missing metric falls through to the next matching rule."""

    first_response: SlaTarget | None = Field(default=None, description="Case opened to first agent contact.")
    next_response: SlaTarget | None = Field(default=None, description="Customer contact to the next agent contact.")
    resolution: SlaTarget | None = Field(default=None, description="Case opened or reopened to resolved.")
    callback_promise: SlaTarget | None = Field(
        default=None,
        description="Tracks promised callbacks: the deadline is the promised `due_at`; `seconds` is the standard "
        "for how far ahead a callback may be promised (a later promise is flagged when explained).",
    )
    handoff_acceptance: SlaTarget | None = Field(default=None, description="Handed off to accepted.")
    customer_update: SlaTarget | None = Field(
        default=None, description="Longest time without an update to the customer while the case is open."
    )


class SlaMatch(ContractModel):
    """Which clocks a rule applies to; an empty list accepts anything."""

    departments: tuple[Department, ...] = Field(default=(), description="Departments the rule applies to.")
    case_types: tuple[CaseType, ...] = Field(default=(), description="Case types the rule applies to.")
    priorities: tuple[Priority, ...] = Field(default=(), description="Priorities the rule applies to.")
    segments: tuple[Label, ...] = Field(default=(), description="Customer segments the rule applies to.")


class SlaRule(ContractModel):
    """A named set of targets for the clocks its match accepts; rules are tried in order."""

    name: Label = Field(description="Name of the rule, shown when a clock is explained.")
    match: SlaMatch = Field(default_factory=SlaMatch, description="Which clocks the rule applies to.")
    targets: SlaTargets = Field(description="Targets per metric.")
    warning_percentages: tuple[Percent, ...] | None = Field(
        default=None, description="Overrides the policy's warning percentages for this rule."
    )


class SlaTimeRange(ContractModel):
    """Working time of one day, local time."""

    start: HourMinute = Field(description="Opening time, `HH:MM`.")
    end: HourMinute = Field(description="Closing time, `HH:MM` (`24:00` for midnight).")


class SlaCalendar(ContractModel):
    """A business calendar as it was in force: weekly hours, holidays and make-up working days."""

    name: Label = Field(description="Calendar name, e.g. `default` or `hotline-24x7`.")
    timezone: Label = Field(default="Asia/Shanghai", description="IANA time zone of the working hours.")
    always_open: bool = Field(default=False, description="24x7: every second is working time.")
    mon: tuple[SlaTimeRange, ...] = Field(default=(), description="Monday working hours.")
    tue: tuple[SlaTimeRange, ...] = Field(default=(), description="Tuesday working hours.")
    wed: tuple[SlaTimeRange, ...] = Field(default=(), description="Wednesday working hours.")
    thu: tuple[SlaTimeRange, ...] = Field(default=(), description="Thursday working hours.")
    fri: tuple[SlaTimeRange, ...] = Field(default=(), description="Friday working hours.")
    sat: tuple[SlaTimeRange, ...] = Field(default=(), description="Saturday working hours.")
    sun: tuple[SlaTimeRange, ...] = Field(default=(), description="Sunday working hours.")
    makeup_hours: tuple[SlaTimeRange, ...] | None = Field(
        default=None, description="Hours of make-up working days (default: Monday's)."
    )
    holidays: tuple[Day, ...] = Field(default=(), description="Public holidays (no working time).")
    makeup_workdays: tuple[Day, ...] = Field(default=(), description="Weekend days worked in exchange for holidays.")
    holiday_years: tuple[Year, Year] | None = Field(
        default=None,
        description="First and last year the holiday data covers; working time in any other year cannot be "
        "counted (a clock reaching there raises `sla.calendar_gap`). None: the calendar needs no holiday data.",
    )


class SlaDepartment(ContractModel):
    """A department's calendar and the role its breaches escalate to."""

    department: Department = Field(description="Department slug.")
    calendar: Label = Field(description="Name of the department's calendar.")
    manager_role: Label = Field(description="Role that breaches of this department escalate to.")


class SlaSite(ContractModel):
    """A site (branch, call centre) whose calendar overrides its department's."""

    site: Label = Field(description="Site as in the envelope's `source.site`.")
    calendar: Label = Field(description="Name of the site's calendar.")


class SlaPolicyPublishedPayload(Payload):
    """A version of the SLA policy, complete with the calendars and departments it uses."""

    version: Positive64 = Field(description="Policy version; each version is published once.")
    effective_at: Timestamp = Field(description="Clocks started at or after this instant use this version.")
    description: Text | None = Field(default=None, description="What changed in this version.")
    warning_percentages: tuple[Percent, ...] = Field(
        default=(50, 75), description="Elapsed percentages that raise a warning (breach is always 100)."
    )
    rules: tuple[SlaRule, ...] = Field(min_length=1, description="Rules, tried in order.")
    calendars: tuple[SlaCalendar, ...] = Field(min_length=1, description="Calendars the policy uses.")
    default_calendar: Label = Field(default="default", description="Calendar of departments not listed.")
    departments: tuple[SlaDepartment, ...] = Field(default=(), description="Departments' calendars and managers.")
    sites: tuple[SlaSite, ...] = Field(default=(), description="Site calendars overriding department ones.")

    def summary(self) -> str:
        return f"SLA policy v{self.version} published, effective {format_time(self.effective_at)}"


class SlaPolicyPublished(Envelope):
    """A new SLA policy version was published; it applies to clocks started at or after `effective_at`."""

    event_type: Literal["sla.policy_published"] = "sla.policy_published"
    schema_version: Literal[1] = 1
    payload: SlaPolicyPublishedPayload

    RECORDED_BY_TOUCHLINE: ClassVar[bool] = True

    CONCERNS_A_CUSTOMER: ClassVar[bool] = False

    EXAMPLE: ClassVar[dict[str, Any]] = {
        "source": {"department": "touchline", "channel": "internal", "system": "touchline-api", "agent": "ops"},
        "payload": {
            "version": 2,
            "effective_at": "2026-12-01T00:00:00+08:00",
            "description": "Complaints: resolution within 2 business days",
            "rules": [{"name": "complaints", "match": {"case_types": ["complaint"]},
                       "targets": {"resolution": {"seconds": 57600, "basis": "business"}}}],
            "calendars": [{"name": "default", "mon": [{"start": "09:00", "end": "18:00"}]}],
            "departments": [{"department": "card_centre", "calendar": "default",
                             "manager_role": "card_centre-manager"}],
        },
    }


class SlaAlertPayload(Payload):
    """What every alert says about its clock."""

    clock_id: Label = Field(description="Id of the clock (stable across rebuilds).")
    metric: SlaMetric = Field(description="What the clock measures.")
    threshold_percent: int = Field(ge=1, le=100, description="Elapsed percentage reached (100 = breach).")
    department: Department = Field(description="Department responsible for the clock.")
    agent: Label | None = Field(default=None, description="Staff member responsible (e.g. who promised).")
    policy_version: Positive64 = Field(description="Policy version the clock runs under.")
    rule: Label = Field(description="Rule of that policy that set the target.")
    calendar: Label = Field(description="Calendar the clock counts in.")
    basis: SlaBasis = Field(description="Business or calendar time.")
    target_seconds: Count64 = Field(description="Target of the clock in seconds of its basis.")
    clock_started_at: Timestamp = Field(description="When the clock started.")
    deadline_at: Timestamp = Field(description="When the target is (or was) reached if the clock keeps running.")
    promise_id: Label | None = Field(default=None, description="Promise of a callback-promise clock.")

    def summary(self) -> str:
        return (f"SLA {self.metric.value.replace('_', ' ')} at {self.threshold_percent}% for {self.department}, "
                f"deadline {format_time(self.deadline_at)}")


class SlaWarningRaisedPayload(SlaAlertPayload):
    """A clock crossed a warning threshold."""

    def summary(self) -> str:
        return f"Warning: {super().summary()}"


class SlaBreachedPayload(SlaAlertPayload):
    """A clock reached its target without being stopped."""

    escalated_to_role: Label = Field(description="Manager role the breach is escalated to.")

    def summary(self) -> str:
        target = format_duration(self.target_seconds)
        return (f"Breached: {self.metric.value.replace('_', ' ')} target {target} ({self.basis.value}) "
                f"for {self.department}, escalated to {self.escalated_to_role}")


_ALERT_EXAMPLE: dict[str, Any] = {
    "clock_id": _CLOCK,
    "metric": "callback_promise",
    "department": "card_centre",
    "agent": "card-0117",
    "policy_version": 1,
    "rule": "default",
    "calendar": "default",
    "basis": "business",
    "target_seconds": 79200,
    "clock_started_at": "2026-11-05T10:03:00+08:00",
    "deadline_at": "2026-11-08T18:00:00+08:00",
    "promise_id": "P-003-1",
}


class SlaWarningRaised(Envelope):
    """An SLA clock reached a warning percentage of its target (default 50% and 75%); `occurred_at` is that
    instant. The event id is derived from the clock and threshold, so it is recorded at most once."""

    event_type: Literal["sla.warning_raised"] = "sla.warning_raised"
    schema_version: Literal[1] = 1
    payload: SlaWarningRaisedPayload

    RECORDED_BY_TOUCHLINE: ClassVar[bool] = True

    EXAMPLE: ClassVar[dict[str, Any]] = {
        "occurred_at": "2026-11-06T18:00:00+08:00",
        "source": _SYSTEM,
        "case_id": _CASE,
        "correlation_id": _CLOCK,
        "payload": {**_ALERT_EXAMPLE, "threshold_percent": 50},
    }


class SlaBreached(Envelope):
    """An SLA clock reached 100% of its target; the breach is escalated to the department's manager role.
    `occurred_at` is the breach instant; the event id is derived from the clock."""

    event_type: Literal["sla.breached"] = "sla.breached"
    schema_version: Literal[1] = 1
    payload: SlaBreachedPayload

    RECORDED_BY_TOUCHLINE: ClassVar[bool] = True

    EXAMPLE: ClassVar[dict[str, Any]] = {
        "occurred_at": "2026-11-08T18:00:00+08:00",
        "source": _SYSTEM,
        "case_id": _CASE,
        "correlation_id": _CLOCK,
        "payload": {**_ALERT_EXAMPLE, "threshold_percent": 100, "escalated_to_role": "card_centre-manager"},
    }


class SlaAlertAcknowledgedPayload(Payload):
    """Someone took an alert in hand."""

    alert_id: UUID = Field(description="`event_id` of the `sla.warning_raised` or `sla.breached`.")
    acknowledged_by: Label = Field(description="The person who acknowledged it.")
    note: Text | None = Field(default=None, description="What they will do.")

    def summary(self) -> str:
        note = f": {self.note}" if self.note else ""
        return f"SLA alert acknowledged by {self.acknowledged_by}{note}"


class SlaAlertAcknowledged(Envelope):
    """A person acknowledged an SLA alert (once per alert)."""

    event_type: Literal["sla.alert_acknowledged"] = "sla.alert_acknowledged"
    schema_version: Literal[1] = 1
    payload: SlaAlertAcknowledgedPayload

    RECORDED_BY_TOUCHLINE: ClassVar[bool] = True

    EXAMPLE: ClassVar[dict[str, Any]] = {
        "occurred_at": "2026-11-08T18:05:00+08:00",
        "source": {"department": "card_centre", "channel": "internal", "system": "touchline-api",
                   "agent": "王经理"},
        "case_id": _CASE,
        "payload": {"alert_id": "8c0d6f3a-51a4-5b6e-a0a9-5cf3e0f1d2b4", "acknowledged_by": "王经理",
                    "note": "今天下班前亲自回电客户"},
    }


class SlaAlertRetractedPayload(Payload):
    """A later fact showed that a recorded warning or breach was wrong."""

    alert_id: UUID = Field(description="`event_id` of the retracted `sla.warning_raised` or `sla.breached`.")
    clock_id: Label = Field(description="Id of the alert's clock.")
    metric: SlaMetric = Field(description="What the clock measures.")
    threshold_percent: int = Field(ge=1, le=100, description="Threshold of the retracted alert (100 = breach).")
    department: Department = Field(description="Department of the retracted alert.")
    reason: Text = Field(description="Why the alert was wrong, e.g. the clock stopped before the threshold.")
    fact_event_id: UUID | None = Field(default=None, description="`event_id` of the fact that showed it.")
    promise_id: Label | None = Field(default=None, description="Promise of a callback-promise clock.")

    def summary(self) -> str:
        return (f"SLA {self.metric.value.replace('_', ' ')} alert at {self.threshold_percent}% retracted "
                f"for {self.department}: {self.reason}")


class SlaAlertRetracted(Envelope):
    """An SLA warning or breach was retracted: a fact recorded after it (a resolution or pause that occurred
    before the threshold instant) showed the threshold was not reached then. The event id is derived from the
    alert, so an alert is retracted at most once; `occurred_at` is when the ticker found it out."""

    event_type: Literal["sla.alert_retracted"] = "sla.alert_retracted"
    schema_version: Literal[1] = 1
    payload: SlaAlertRetractedPayload

    EXAMPLE: ClassVar[dict[str, Any]] = {
        "occurred_at": "2026-11-08T18:10:00+08:00",
        "source": _SYSTEM,
        "case_id": _CASE,
        "correlation_id": _CLOCK,
        "payload": {"alert_id": "8c0d6f3a-51a4-5b6e-a0a9-5cf3e0f1d2b4", "clock_id": _CLOCK,
                    "metric": "resolution", "threshold_percent": 100, "department": "card_centre",
                    "reason": "case resolved at 2026-11-08T17:20:00+08:00, before the threshold",
                    "fact_event_id": "0b7e4b8e-3c1f-4a53-9d8e-6f1f2f0c9a11"},
    }


class SlaCalendarGapPayload(Payload):
    """A clock's working time reaches a year its calendar has no holiday data for, so it cannot be counted."""

    clock_id: Label = Field(description="Id of the clock (stable across rebuilds).")
    metric: SlaMetric = Field(description="What the clock measures.")
    department: Department = Field(description="Department responsible for the clock.")
    agent: Label | None = Field(default=None, description="Staff member responsible (e.g. who promised).")
    policy_version: int = Field(ge=1, description="Policy version the clock runs under.")
    rule: Label = Field(description="Rule of that policy that set the target.")
    calendar: Label = Field(description="Calendar lacking holiday data.")
    year: int = Field(description="The year without holiday data.")
    covered_from: int = Field(description="First year the calendar's holiday data covers.")
    covered_to: int = Field(description="Last year the calendar's holiday data covers.")
    target_seconds: int = Field(ge=0, description="Target of the clock in seconds of business time.")
    clock_started_at: Timestamp = Field(description="When the clock started.")
    escalated_to_role: Label = Field(description="Manager role the gap is escalated to.")
    promise_id: Label | None = Field(default=None, description="Promise of a callback-promise clock.")

    def summary(self) -> str:
        return (f"SLA calendar gap: {self.calendar} has no holidays for {self.year} "
                f"(covers {self.covered_from}-{self.covered_to}); {self.metric.value.replace('_', ' ')} clock of "
                f"{self.department} cannot be counted")


class SlaCalendarGap(Envelope):
    """An SLA clock needs working time in a year its calendar has no holiday data for: its thresholds are not
    computed (never counting holidays as working days) until a policy with the year's holidays is published.
    The event id is derived from the clock; `occurred_at` is the clock's start."""

    event_type: Literal["sla.calendar_gap"] = "sla.calendar_gap"
    schema_version: Literal[1] = 1
    payload: SlaCalendarGapPayload

    EXAMPLE: ClassVar[dict[str, Any]] = {
        "occurred_at": "2026-12-31T17:00:00+08:00",
        "source": _SYSTEM,
        "case_id": _CASE,
        "correlation_id": _CLOCK,
        "payload": {"clock_id": _CLOCK, "metric": "resolution", "department": "card_centre", "policy_version": 1,
                    "rule": "default", "calendar": "default", "year": 2027, "covered_from": 2001,
                    "covered_to": 2026, "target_seconds": 57600, "clock_started_at": "2026-12-31T17:00:00+08:00",
                    "escalated_to_role": "card_centre-manager"},
    }
