"""Touchpoint events of the front desk, the phone line and the web forms."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from contracts.envelope import Envelope, Payload
from contracts.fields import Count64, Department, Label, Text, format_duration


class FrontdeskVisitCheckedInPayload(Payload):
    """A visitor signed in at reception."""

    visit_id: Label = Field(description="Id of the visit in the front-desk system.")
    purpose: Label = Field(description="Purpose of the visit as stated by the visitor.")
    host_department: Department | None = Field(
        default=None, description="Department the visitor came to see."
    )
    visitor_count: int | None = Field(
        default=None, ge=1, le=1000, description="Number of people in the party."
    )

    def summary(self) -> str:
        host = f" (for {self.host_department})" if self.host_department else ""
        return f"Visitor checked in{host}: {self.purpose}"


class FrontdeskVisitCheckedIn(Envelope):
    """A customer arrived at a front desk and was checked in."""

    event_type: Literal["frontdesk.visit_checked_in"] = "frontdesk.visit_checked_in"
    schema_version: Literal[1] = 1
    payload: FrontdeskVisitCheckedInPayload

    EXAMPLE: ClassVar[dict[str, Any]] = {
        "source": {
            "department": "reception",
            "channel": "front_desk",
            "system": "kiosk",
            "site": "taipei-hq",
        },
        "payload": {
            "visit_id": "V-20261125-017",
            "purpose": "補辦信用卡",
            "host_department": "cards",
            "visitor_count": 1,
        },
    }


class FrontdeskVisitCheckedOutPayload(Payload):
    """A visitor signed out at reception."""

    visit_id: Label = Field(description="Id of the visit being closed (as in `frontdesk.visit_checked_in`).")
    outcome: Text | None = Field(default=None, description="What the visit achieved, in the desk's words.")

    def summary(self) -> str:
        return f"Visitor checked out: {self.outcome}" if self.outcome else "Visitor checked out"


class FrontdeskVisitCheckedOut(Envelope):
    """The visitor left the front desk."""

    event_type: Literal["frontdesk.visit_checked_out"] = "frontdesk.visit_checked_out"
    schema_version: Literal[1] = 1
    payload: FrontdeskVisitCheckedOutPayload

    EXAMPLE: ClassVar[dict[str, Any]] = {
        "occurred_at": "2026-11-25T10:05:00+08:00",
        "source": {
            "department": "reception",
            "channel": "front_desk",
            "system": "kiosk",
            "site": "taipei-hq",
        },
        "payload": {"visit_id": "V-20261125-017", "outcome": "New card ordered; 新卡七個工作天內寄達"},
    }


class CallReceivedPayload(Payload):
    """A call connected, to the IVR or to an agent."""

    call_id: Label = Field(description="Id of the call in the telephony system.")
    direction: Literal["inbound", "outbound"] = Field(
        description="Who dialled: the customer or the organisation."
    )
    queue: Label | None = Field(default=None, description="ACD queue the call entered.")
    ivr_path: Label | None = Field(
        default=None, description="Menu path taken in the IVR, e.g. `main>cards>2`."
    )
    wait_seconds: Count64 | None = Field(
        default=None, description="Seconds the caller waited before an answer."
    )
    answered_by: Literal["ivr", "agent"] = Field(description="Who picked up first: the IVR or a human agent.")

    def summary(self) -> str:
        queue = f" in queue {self.queue}" if self.queue else ""
        answered = "the IVR" if self.answered_by == "ivr" else "an agent"
        return f"{self.direction.capitalize()} call answered by {answered}{queue}"


class CallReceived(Envelope):
    """A phone call was answered.

    `answered_by` says who picked up first. A call that starts in the IVR is recorded with
    `answered_by: "ivr"`; if the caller then reaches an agent, the matching `call.ended` carries
    `transferred_from_ivr_to_agent: true` (and `ivr_seconds`), so no separate transfer event is needed.
    """

    event_type: Literal["call.received"] = "call.received"
    schema_version: Literal[1] = 1
    payload: CallReceivedPayload

    EXAMPLE: ClassVar[dict[str, Any]] = {
        "correlation_id": "call-7f3a9c",
        "source": {
            "department": "customer-service",
            "channel": "phone",
            "system": "cti",
            "site": "taipei-hq",
        },
        "payload": {
            "call_id": "call-7f3a9c",
            "direction": "inbound",
            "queue": "cards",
            "ivr_path": "main>cards>2",
            "wait_seconds": 42,
            "answered_by": "ivr",
        },
    }


class CallEndedPayload(Payload):
    """A call finished; how long it took and how it ended."""

    call_id: Label = Field(description="Id of the call (as in `call.received`).")
    duration_seconds: Count64 = Field(description="Total length of the call in seconds, IVR time included.")
    outcome: Literal["resolved", "follow_up", "transferred", "abandoned"] = Field(
        description="How the call ended; `transferred` means handed to another department "
        "(`transferred_to_department` is then required)."
    )
    ivr_seconds: Count64 | None = Field(default=None, description="Seconds spent in the IVR, if any.")
    transferred_from_ivr_to_agent: bool = Field(
        description="True when the caller started in the IVR and was then connected to a human agent."
    )
    transferred_to_department: Department | None = Field(
        default=None, validate_default=True, description="Department the call was transferred to."
    )

    @field_validator("ivr_seconds")
    @classmethod
    def _ivr_within_call(cls, value: int | None, info: ValidationInfo) -> int | None:
        duration = info.data.get("duration_seconds")
        if value is not None and duration is not None and value > duration:
            raise PydanticCustomError("ivr_longer_than_call", "ivr_seconds cannot exceed duration_seconds")
        return value

    @field_validator("transferred_to_department")
    @classmethod
    def _transfer_target(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("outcome") == "transferred":
            raise PydanticCustomError(
                "transfer_target_missing", "a transferred call needs transferred_to_department"
            )
        return value

    def summary(self) -> str:
        parts = [
            f"Call ended after {format_duration(self.duration_seconds)}: {self.outcome.replace('_', ' ')}"
        ]
        if self.transferred_to_department:
            parts.append(f"to {self.transferred_to_department}")
        if self.transferred_from_ivr_to_agent:
            parts.append("(IVR to agent)")
        return " ".join(parts)


class CallEnded(Envelope):
    """A phone call ended.

    The IVR-to-agent transfer is expressed here: `transferred_from_ivr_to_agent` is true when the call was
    first answered by the IVR (`call.received` with `answered_by: "ivr"`) and the caller then reached an
    agent; `ivr_seconds` is the part of `duration_seconds` spent in the IVR. A hand-over to another
    department is the separate `outcome: "transferred"` with `transferred_to_department`.
    """

    event_type: Literal["call.ended"] = "call.ended"
    schema_version: Literal[1] = 1
    payload: CallEndedPayload

    EXAMPLE: ClassVar[dict[str, Any]] = {
        "occurred_at": "2026-11-25T09:36:30+08:00",
        "correlation_id": "call-7f3a9c",
        "payload": {
            "call_id": "call-7f3a9c",
            "duration_seconds": 390,
            "outcome": "resolved",
            "ivr_seconds": 75,
            "transferred_from_ivr_to_agent": True,
        },
    }


class WebRequestSubmittedPayload(Payload):
    """A web form was submitted."""

    request_id: Label = Field(description="Id of the submission in the web system.")
    form: Label = Field(description="Which form was used, e.g. `contact-us`, `card-replacement`.")
    subject: Label = Field(description="Subject line entered by the customer.")
    body: Text = Field(description="Message entered by the customer.")

    def summary(self) -> str:
        return f"Web request via {self.form}: {self.subject}"


class WebRequestSubmitted(Envelope):
    """A customer submitted a request through a web form."""

    event_type: Literal["web.request_submitted"] = "web.request_submitted"
    schema_version: Literal[1] = 1
    payload: WebRequestSubmittedPayload

    EXAMPLE: ClassVar[dict[str, Any]] = {
        "source": {"department": "digital", "channel": "web", "system": "website"},
        "customer": {"email": "wang.xiaoming@example.com"},
        "payload": {
            "request_id": "W-88123",
            "form": "contact-us",
            "subject": "帳單地址變更",
            "body": "您好，我搬家了，請協助更新帳單地址。Thanks!",
        },
    }
