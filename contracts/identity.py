"""Identity events: identifiers confirmed to belong to one customer, or a link found to be wrong."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar, Literal

from pydantic import Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from contracts.envelope import Envelope, Payload
from contracts.fields import ContractModel, Label, Text


class IdentifierKind(StrEnum):
    """Kinds of customer identifier, matching the fields of `CustomerRef`."""

    CUSTOMER_NUMBER = "customer_number"
    PHONE = "phone"
    EMAIL = "email"
    NATIONAL_ID = "national_id"
    DEVICE_SERIAL = "device_serial"
    MESSAGING_ID = "messaging_id"


class CustomerIdentifier(ContractModel):
    """One identifier of a customer (a `national_id` value is protected like `CustomerRef.national_id`)."""

    kind: IdentifierKind = Field(description="Kind of identifier.")
    value: Label = Field(description="The identifier as captured (normalised downstream).")


class IdentityIdentifiersLinkedPayload(Payload):
    """Identifiers that belong to the same customer."""

    identifiers: tuple[CustomerIdentifier, ...] = Field(
        min_length=2,
        max_length=20,
        description="The identifiers now known to belong to one customer (2 or more).",
    )
    reason: Text = Field(description="How the link was established.")
    verified: bool = Field(
        description="Whether the link was verified (e.g. by an identity check) or is inferred."
    )

    @field_validator("identifiers")
    @classmethod
    def _distinct(cls, identifiers: tuple[CustomerIdentifier, ...]) -> tuple[CustomerIdentifier, ...]:
        if len(set(identifiers)) != len(identifiers):
            raise PydanticCustomError("identifier_duplicate", "identifiers must be distinct")
        return identifiers

    def summary(self) -> str:
        # Only the kinds: identifier values are personal data and summaries end up in logs.
        kinds = ", ".join(identifier.kind.value for identifier in self.identifiers)
        verified = "verified" if self.verified else "unverified"
        return f"Linked {kinds} ({verified}): {self.reason}"


class IdentityIdentifiersLinked(Envelope):
    """Two or more identifiers were found to belong to the same customer (their timelines merge)."""

    event_type: Literal["identity.identifiers_linked"] = "identity.identifiers_linked"
    schema_version: Literal[1] = 1
    payload: IdentityIdentifiersLinkedPayload

    EXAMPLE: ClassVar[dict[str, Any]] = {
        "payload": {
            "identifiers": [
                {"kind": "customer_number", "value": "C0012345"},
                {"kind": "messaging_id", "value": "U4af4980629"},
            ],
            "reason": "客戶於 LINE 完成帳戶綁定 (OTP verified)",
            "verified": True,
        },
    }


class IdentityIdentifiersUnlinkedPayload(Payload):
    """An identifier detached from another one."""

    identifier: CustomerIdentifier = Field(
        description="The identifier that no longer belongs with the other."
    )
    from_identifier: CustomerIdentifier = Field(description="The identifier it is detached from.")
    reason: Text = Field(description="Why the link was wrong or ended.")

    @field_validator("from_identifier")
    @classmethod
    def _different(cls, value: CustomerIdentifier, info: ValidationInfo) -> CustomerIdentifier:
        if value == info.data.get("identifier"):
            raise PydanticCustomError("identifier_same", "from_identifier must differ from identifier")
        return value

    def summary(self) -> str:
        return f"Unlinked {self.identifier.kind.value} from {self.from_identifier.kind.value}: {self.reason}"


class IdentityIdentifiersUnlinked(Envelope):
    """An identifier was detached from another (a wrong merge, a phone number that changed hands)."""

    event_type: Literal["identity.identifiers_unlinked"] = "identity.identifiers_unlinked"
    schema_version: Literal[1] = 1
    payload: IdentityIdentifiersUnlinkedPayload

    EXAMPLE: ClassVar[dict[str, Any]] = {
        "payload": {
            "identifier": {"kind": "phone", "value": "+886912345678"},
            "from_identifier": {"kind": "customer_number", "value": "C0012345"},
            "reason": "門號已轉讓給他人 (number reassigned by carrier)",
        },
    }
