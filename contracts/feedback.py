"""Customer feedback events: complaints, compliments and referrals (the service scorecard counts them)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from contracts.envelope import Envelope, Payload
from contracts.fields import Label, Text


class ComplaintFiledPayload(Payload):
    """A complaint was filed."""

    form: Literal["written", "verbal"] = Field(
        description="Whether the complaint was made in writing or orally."
    )
    category: Label = Field(description="Complaint category, e.g. `delivery`, `staff-attitude`, `billing`.")
    description: Text = Field(description="The complaint in the customer's words.")
    severity: Literal["low", "medium", "high"] = Field(
        description="Severity assessed when the complaint was filed."
    )

    def summary(self) -> str:
        kind = f"{self.severity.capitalize()}-severity {self.form} complaint"
        return f"{kind} ({self.category}): {self.description}"


class ComplaintFiled(Envelope):
    """A customer filed a complaint, written or verbal."""

    event_type: Literal["complaint.filed"] = "complaint.filed"
    schema_version: Literal[1] = 1
    payload: ComplaintFiledPayload

    EXAMPLE: ClassVar[dict[str, Any]] = {
        "case_id": "CASE-2026-00417",
        "payload": {
            "form": "verbal",
            "category": "delivery",
            "severity": "medium",
            "description": "兩週內打了三次電話，卡片仍未寄到。",
        },
    }


class ComplimentReceivedPayload(Payload):
    """A compliment was received."""

    description: Text = Field(description="The compliment in the customer's words.")
    about_agent: Label | None = Field(default=None, description="Staff member the compliment is about.")

    def summary(self) -> str:
        about = f" about {self.about_agent}" if self.about_agent else ""
        return f"Compliment{about}: {self.description}"


class ComplimentReceived(Envelope):
    """A customer paid a compliment."""

    event_type: Literal["compliment.received"] = "compliment.received"
    schema_version: Literal[1] = 1
    payload: ComplimentReceivedPayload

    EXAMPLE: ClassVar[dict[str, Any]] = {
        "source": {"department": "customer-service", "channel": "messaging", "system": "line-oa"},
        "customer": {"messaging_id": "U4af4980629"},
        "payload": {"description": "陳小姐很有耐心，謝謝！Very helpful.", "about_agent": "agent-0042"},
    }


class ReferralMadePayload(Payload):
    """A customer referred someone."""

    description: Text = Field(description="What was referred, in the words of the person who recorded it.")
    referred_party: Label | None = Field(default=None, description="Who was referred (free text).")

    def summary(self) -> str:
        party = f" ({self.referred_party})" if self.referred_party else ""
        return f"Referral made{party}: {self.description}"


class ReferralMade(Envelope):
    """A customer referred someone (a friend, relative or business) to the organisation."""

    event_type: Literal["referral.made"] = "referral.made"
    schema_version: Literal[1] = 1
    payload: ReferralMadePayload

    EXAMPLE: ClassVar[dict[str, Any]] = {
        "source": {"department": "branch-sales", "channel": "front_desk", "site": "taichung"},
        "payload": {"description": "介紹同事辦理薪轉帳戶", "referred_party": "同事 李先生"},
    }
