"""The envelope every touchpoint event travels in: who sent it, about whom, about which case, the payload."""

from __future__ import annotations

import copy
import uuid
from abc import abstractmethod
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, ClassVar, Self
from uuid import UUID

from pydantic import Field

from contracts.fields import ContractModel, Department, Label, Timestamp, one_line


class Channel(StrEnum):
    """How the customer reached (or was reached by) the organisation."""

    FRONT_DESK = "front_desk"
    PHONE = "phone"
    WEB = "web"
    EMAIL = "email"
    MESSAGING = "messaging"
    FIELD = "field"
    MAIL = "mail"
    INTERNAL = "internal"


class Source(ContractModel):
    """Where the event was recorded: department, channel, and optionally the system, site and agent."""

    department: Department = Field(
        description="Department slug that recorded the event, e.g. `customer-service`."
    )
    channel: Channel = Field(description="Channel of the touchpoint.")
    system: Label | None = Field(default=None, description="Producing system, e.g. `cti`, `crm`, `kiosk`.")
    site: Label | None = Field(default=None, description="Branch, office or call-centre site.")
    agent: Label | None = Field(
        default=None, description="Staff member (id or name) who handled the touchpoint."
    )


class CustomerRef(ContractModel):
    """Every identifier the touchpoint knows about the customer; any subset, possibly none."""

    customer_number: Label | None = Field(default=None, description="Customer number in the core system.")
    phone: Label | None = Field(default=None, description="Phone number as captured (normalised downstream).")
    email: Label | None = Field(default=None, description="E-mail address as captured.")
    national_id: Label | None = Field(
        default=None,
        description="National ID. Accepted on the wire only: touchline replaces it with `national_id_digest` "
        "and `national_id_masked` before anything is stored or logged.",
    )
    national_id_digest: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{64}$",
        description="Keyed HMAC-SHA256 of the normalised national ID (lower-case hex); the stored form.",
    )
    national_id_masked: Label | None = Field(
        default=None, max_length=32, description="Masked national ID showing only the last 4 characters."
    )
    device_serial: Label | None = Field(default=None, description="Serial number of the customer's device.")
    messaging_id: Label | None = Field(default=None, description="Messaging-app user id (LINE, WeChat, ...).")


class Payload(ContractModel):
    """Base of the typed payloads; each says in one line what happened."""

    @abstractmethod
    def summary(self) -> str:
        """A short human line: an English template around the text the producer gave."""


EXAMPLE_ENVELOPE: Mapping[str, Any] = {
    "occurred_at": "2026-11-25T09:30:00+08:00",
    "source": {
        "department": "customer-service",
        "channel": "phone",
        "system": "cti",
        "site": "taipei-hq",
        "agent": "agent-0042",
    },
    "customer": {"customer_number": "C0012345", "phone": "+886912345678"},
}


class Envelope(ContractModel):
    """Abstract base of every event; `parse` only ever returns one of its subclasses (one per event type)."""

    event_id: UUID = Field(
        description="Unique id of the event; the idempotency key (a redelivery is a no-op)."
    )
    event_type: str = Field(description="Dotted `area.past_tense_fact` name, e.g. `call.received`.")
    schema_version: int = Field(description="Version of this event type's schema.")
    occurred_at: Timestamp = Field(
        description="When it happened, ISO 8601 with a UTC offset (naive is refused)."
    )
    source: Source = Field(description="Where the event was recorded.")
    customer: CustomerRef = Field(
        default_factory=CustomerRef, description="Identifiers of the customer, if known."
    )
    case_id: Label | None = Field(
        default=None, description="Case the event belongs to; required for `case.*`."
    )
    correlation_id: Label | None = Field(default=None, description="Id shared by events of one conversation.")
    causation_id: Label | None = Field(
        default=None, description="Id of the event or command that caused this one."
    )
    payload: Payload = Field(description="The event-type specific facts.")

    EXAMPLE: ClassVar[Mapping[str, Any]] = {}
    """Wire-form fields of this type's documentation example, merged over `EXAMPLE_ENVELOPE`."""

    CONCERNS_A_CUSTOMER: ClassVar[bool] = True
    """False for organisational facts (e.g. a policy published) that belong on no customer's timeline."""

    RECORDED_BY_TOUCHLINE: ClassVar[bool] = False
    """True for the facts touchline's own processes record straight into the event store (SLA policies, alerts
    and acknowledgements, erasures). Producers may never send them: HTTP refuses them (403) and the recorder
    dead-letters them, so that no token can forge an acknowledgement, a policy or an erasure."""

    @classmethod
    def type_key(cls) -> tuple[str, int]:
        """`(event_type, schema_version)` of this event class."""
        return cls.model_fields["event_type"].default, cls.model_fields["schema_version"].default

    @classmethod
    def example_data(cls) -> dict[str, Any]:
        """The documentation example of this event type, as wire data (a JSON object)."""
        event_type, version = cls.type_key()
        event_id = uuid.uuid5(uuid.NAMESPACE_URL, f"urn:touchline:example:{event_type}:v{version}")
        return copy.deepcopy(
            {"event_id": str(event_id), "event_type": event_type, "schema_version": version}
            | {**EXAMPLE_ENVELOPE, **cls.EXAMPLE}
        )

    @classmethod
    def example(cls) -> Self:
        """The documentation example, validated (handy for tests of downstream code)."""
        return cls.model_validate(cls.example_data())

    def summary(self) -> str:
        """One human line describing the event (the producer's text kept as given)."""
        return one_line(self.payload.summary())


class CaseEnvelope(Envelope):
    """Base of the `case.*` events: they cannot exist outside a case, so `case_id` is required."""

    case_id: Label = Field(description="Case the event belongs to (required for every `case.*` event).")
