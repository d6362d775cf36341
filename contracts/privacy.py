"""Privacy events recorded by touchline itself: a customer's personal data erased (their data keys destroyed)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal
from uuid import UUID

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from contracts.envelope import CustomerRef, Envelope, Payload
from contracts.fields import Text

MAX_KEYS = 10_000


class PrivacySubjectErasedPayload(Payload):
    """Which data keys were destroyed, and why; nothing that identifies the customer."""

    erasure_id: UUID = Field(
        description="Random id of the erasure; erased values read as the pseudonym `erased-<erasure_id>`."
    )
    key_ids: tuple[UUID, ...] = Field(
        min_length=1, max_length=MAX_KEYS, description="Random ids of the data keys destroyed."
    )
    reason: Text = Field(
        description="Why (e.g. the request's ticket number); must not contain the customer's identifiers."
    )

    def summary(self) -> str:
        keys = "key" if len(self.key_ids) == 1 else "keys"
        return f"Personal data erased ({len(self.key_ids)} {keys} destroyed): {self.reason}"


class PrivacySubjectErased(Envelope):
    """A customer's personal data was erased (their data keys destroyed).

    Every personal value sealed under those keys now reads as a pseudonym, in the store and in the read models
    rebuilt after this event (docs/audit.md, "Erasure"). The event names no customer."""

    event_type: Literal["privacy.subject_erased"] = "privacy.subject_erased"
    schema_version: Literal[1] = 1
    payload: PrivacySubjectErasedPayload

    RECORDED_BY_TOUCHLINE: ClassVar[bool] = True

    CONCERNS_A_CUSTOMER: ClassVar[bool] = False

    EXAMPLE: ClassVar[dict[str, Any]] = {
        "occurred_at": "2026-12-03T10:15:00+08:00",
        "source": {"department": "touchline", "channel": "internal", "system": "touchline-api", "agent": "admin"},
        "customer": {},
        "payload": {
            "erasure_id": "0b7d5a8e-3c1f-4d2a-9e47-6f1b2c3d4e5f",
            "key_ids": ["5e0f8c1a-7b2d-4e9f-a3c4-d5e6f7a8b9c0", "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"],
            "reason": "PIPL deletion request DSR-2026-0117",
        },
    }

    @field_validator("customer")
    @classmethod
    def _names_no_one(cls, customer: CustomerRef) -> CustomerRef:
        if customer != CustomerRef():
            raise PydanticCustomError("customer_forbidden", "an erasure record must not name the customer")
        return customer
