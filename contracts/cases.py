"""Case lifecycle events: opened, notes, hand-offs between departments, waiting, escalation, resolution."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar, Literal
from uuid import UUID

from pydantic import Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from contracts.envelope import CaseEnvelope, Payload
from contracts.fields import Department, Label, Positive64, Text

_CASE = "CASE-2026-00417"


class CaseType(StrEnum):
    """Kind of case; an escalation may change it (e.g. inquiry to complaint)."""

    INQUIRY = "inquiry"
    REQUEST = "request"
    COMPLAINT = "complaint"
    INCIDENT = "incident"
    REPAIR = "repair"


class Priority(StrEnum):
    """Urgency of a case."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class CaseOpenedPayload(Payload):
    """A case was opened."""

    case_type: CaseType = Field(description="Kind of case.")
    subject: Label = Field(description="One-line subject of the case.")
    priority: Priority = Field(description="Urgency of the case.")
    description: Text | None = Field(default=None, description="Longer description of the customer's need.")
    segment: Label | None = Field(
        default=None, description="Customer segment (e.g. `vip`, `key-account`); selects service standards."
    )

    def summary(self) -> str:
        return f"{self.case_type.value.capitalize()} case opened ({self.priority.value}): {self.subject}"


class CaseOpened(CaseEnvelope):
    """A case was opened; the envelope's `case_id` names it from now on (and keys its events on Kafka)."""

    event_type: Literal["case.opened"] = "case.opened"
    schema_version: Literal[1] = 1
    payload: CaseOpenedPayload

    EXAMPLE: ClassVar[dict[str, Any]] = {
        "case_id": _CASE,
        "payload": {
            "case_type": "inquiry",
            "subject": "信用卡寄送查詢",
            "priority": "normal",
            "description": "Customer asks where the replacement card is; 已超過七個工作天。",
        },
    }


class CaseNoteAddedPayload(Payload):
    """A note was written on a case."""

    note: Text = Field(description="The note.")
    visibility: Literal["internal", "customer"] = Field(description="Whether the customer may see the note.")

    def summary(self) -> str:
        return f"{self.visibility.capitalize()} note: {self.note}"


class CaseNoteAdded(CaseEnvelope):
    """A note was added to a case."""

    event_type: Literal["case.note_added"] = "case.note_added"
    schema_version: Literal[1] = 1
    payload: CaseNoteAddedPayload

    EXAMPLE: ClassVar[dict[str, Any]] = {
        "case_id": _CASE,
        "payload": {"note": "已向物流確認：卡片退回分行。", "visibility": "internal"},
    }


class CaseHandedOffPayload(Payload):
    """A case moved from one department to another."""

    from_department: Department = Field(description="Department handing the case off.")
    to_department: Department = Field(
        description="Department receiving the case; must differ from the sender."
    )
    reason: Text = Field(description="Why the case is handed off.")
    context_summary: Text = Field(
        description="What the receiving department needs to know, so the customer "
        "does not have to repeat themselves."
    )

    @field_validator("to_department")
    @classmethod
    def _different_department(cls, value: str, info: ValidationInfo) -> str:
        if value == info.data.get("from_department"):
            raise PydanticCustomError("same_department", "to_department must differ from from_department")
        return value

    def summary(self) -> str:
        return f"Handed off from {self.from_department} to {self.to_department}: {self.reason}"


class CaseHandedOff(CaseEnvelope):
    """A case was handed off to another department, with the context it needs."""

    event_type: Literal["case.handed_off"] = "case.handed_off"
    schema_version: Literal[1] = 1
    payload: CaseHandedOffPayload

    EXAMPLE: ClassVar[dict[str, Any]] = {
        "case_id": _CASE,
        "payload": {
            "from_department": "customer-service",
            "to_department": "cards",
            "reason": "卡片需重新寄送",
            "context_summary": "Card returned to branch; customer moved, new address verified by phone.",
        },
    }


class CaseHandoffAcceptedPayload(Payload):
    """The receiving department took the case."""

    department: Department = Field(description="Department that accepted the case.")
    handoff_event_id: UUID | None = Field(
        default=None, description="`event_id` of the accepted `case.handed_off`."
    )

    def summary(self) -> str:
        return f"Handoff accepted by {self.department}"


class CaseHandoffAccepted(CaseEnvelope):
    """The department a case was handed off to accepted it."""

    event_type: Literal["case.handoff_accepted"] = "case.handoff_accepted"
    schema_version: Literal[1] = 1
    payload: CaseHandoffAcceptedPayload

    EXAMPLE: ClassVar[dict[str, Any]] = {
        "case_id": _CASE,
        "source": {"department": "cards", "channel": "internal", "system": "crm", "agent": "agent-0107"},
        "payload": {"department": "cards", "handoff_event_id": "0b5e7d2e-3c1f-5b7a-9a43-6d1f0f2e8c11"},
    }


class CaseWaitingOnCustomerPayload(Payload):
    """The case now waits for the customer."""

    reason: Text = Field(description="What is needed from the customer.")

    def summary(self) -> str:
        return f"Waiting on customer: {self.reason}"


class CaseWaitingOnCustomer(CaseEnvelope):
    """The case is waiting on the customer; the SLA clock pauses until `case.customer_responded`."""

    event_type: Literal["case.waiting_on_customer"] = "case.waiting_on_customer"
    schema_version: Literal[1] = 1
    payload: CaseWaitingOnCustomerPayload

    EXAMPLE: ClassVar[dict[str, Any]] = {"case_id": _CASE, "payload": {"reason": "請客戶提供新地址證明文件"}}


class CaseCustomerRespondedPayload(Payload):
    """The customer answered."""

    note: Text | None = Field(default=None, description="What the customer said or sent.")

    def summary(self) -> str:
        return f"Customer responded: {self.note}" if self.note else "Customer responded"


class CaseCustomerResponded(CaseEnvelope):
    """The customer responded on a case that was waiting on them; the SLA clock resumes."""

    event_type: Literal["case.customer_responded"] = "case.customer_responded"
    schema_version: Literal[1] = 1
    payload: CaseCustomerRespondedPayload

    EXAMPLE: ClassVar[dict[str, Any]] = {
        "case_id": _CASE,
        "source": {"department": "customer-service", "channel": "email", "system": "mailbox"},
        "payload": {"note": "Proof of address attached (水電帳單)."},
    }


class CaseEscalatedPayload(Payload):
    """A case was escalated."""

    from_type: CaseType = Field(description="Case type before the escalation.")
    to_type: CaseType = Field(
        description="Case type after it (may equal `from_type` when only the level rises)."
    )
    reason: Text = Field(description="Why the case was escalated.")
    level: Positive64 | None = Field(default=None, description="Escalation level reached (1 = first line).")

    def summary(self) -> str:
        level = f", level {self.level}" if self.level else ""
        return f"Escalated from {self.from_type.value} to {self.to_type.value}{level}: {self.reason}"


class CaseEscalated(CaseEnvelope):
    """A case was escalated, possibly changing its type (an inquiry becomes a complaint)."""

    event_type: Literal["case.escalated"] = "case.escalated"
    schema_version: Literal[1] = 1
    payload: CaseEscalatedPayload

    EXAMPLE: ClassVar[dict[str, Any]] = {
        "case_id": _CASE,
        "payload": {
            "from_type": "inquiry",
            "to_type": "complaint",
            "reason": "第三次來電仍未收到卡片",
            "level": 2,
        },
    }


class CaseResolvedPayload(Payload):
    """A case was resolved."""

    resolution: Text = Field(description="How the case was resolved.")
    first_contact_resolution: bool = Field(default=False, description="Resolved during the first contact.")

    def summary(self) -> str:
        fcr = " on first contact" if self.first_contact_resolution else ""
        return f"Resolved{fcr}: {self.resolution}"


class CaseResolved(CaseEnvelope):
    """A case was resolved; the SLA clock stops."""

    event_type: Literal["case.resolved"] = "case.resolved"
    schema_version: Literal[1] = 1
    payload: CaseResolvedPayload

    EXAMPLE: ClassVar[dict[str, Any]] = {
        "case_id": _CASE,
        "payload": {"resolution": "新卡已以掛號寄至新地址 (tracking RR123456789TW)。"},
    }


class CaseReopenedPayload(Payload):
    """A resolved case was reopened."""

    reason: Text = Field(description="Why the case was reopened.")

    def summary(self) -> str:
        return f"Reopened: {self.reason}"


class CaseReopened(CaseEnvelope):
    """A resolved case was reopened; the SLA clock runs again."""

    event_type: Literal["case.reopened"] = "case.reopened"
    schema_version: Literal[1] = 1
    payload: CaseReopenedPayload

    EXAMPLE: ClassVar[dict[str, Any]] = {"case_id": _CASE, "payload": {"reason": "客戶表示新卡無法開卡"}}
