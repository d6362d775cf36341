"""Field-repair events: an order is opened, a technician visit is scheduled and completed."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from contracts.envelope import Envelope, Payload
from contracts.fields import Label, Text, Timestamp, format_time

_FIELD_SOURCE = {"department": "field-repair", "channel": "field", "system": "fsm", "site": "taipei-north"}


class RepairOrderOpenedPayload(Payload):
    """A repair order was created."""

    order_id: Label = Field(description="Id of the repair order.")
    problem: Text = Field(description="The problem as reported by the customer.")
    device_serial: Label | None = Field(default=None, description="Serial number of the device to repair.")
    product: Label | None = Field(default=None, description="Product name or model.")

    def summary(self) -> str:
        product = f" for {self.product}" if self.product else ""
        return f"Repair order {self.order_id} opened{product}: {self.problem}"


class RepairOrderOpened(Envelope):
    """A repair order was opened for a customer's device or installation."""

    event_type: Literal["repair.order_opened"] = "repair.order_opened"
    schema_version: Literal[1] = 1
    payload: RepairOrderOpenedPayload

    EXAMPLE: ClassVar[dict[str, Any]] = {
        "case_id": "CASE-2026-00418",
        "customer": {"customer_number": "C0012345", "device_serial": "SN-4K-2291-XQ"},
        "payload": {
            "order_id": "RO-55012",
            "problem": "冷氣不冷，室外機有異音",
            "device_serial": "SN-4K-2291-XQ",
            "product": "Inverter AC 4kW",
        },
    }


class RepairVisitScheduledPayload(Payload):
    """A technician visit was booked."""

    order_id: Label = Field(description="Repair order the visit belongs to.")
    scheduled_for: Timestamp = Field(description="Start of the visit window, with UTC offset.")
    window_minutes: int | None = Field(
        default=None, ge=1, le=1440, description="Length of the arrival window."
    )
    technician: Label | None = Field(default=None, description="Technician assigned to the visit.")

    def summary(self) -> str:
        window = f" (+{self.window_minutes} min window)" if self.window_minutes else ""
        return f"Repair visit for {self.order_id} scheduled for {format_time(self.scheduled_for)}{window}"


class RepairVisitScheduled(Envelope):
    """A technician visit was scheduled for a repair order."""

    event_type: Literal["repair.visit_scheduled"] = "repair.visit_scheduled"
    schema_version: Literal[1] = 1
    payload: RepairVisitScheduledPayload

    EXAMPLE: ClassVar[dict[str, Any]] = {
        "case_id": "CASE-2026-00418",
        "source": _FIELD_SOURCE,
        "payload": {
            "order_id": "RO-55012",
            "scheduled_for": "2026-11-27T14:00:00+08:00",
            "window_minutes": 120,
            "technician": "林師傅",
        },
    }


class RepairVisitCompletedPayload(Payload):
    """A technician visit ended."""

    order_id: Label = Field(description="Repair order the visit belongs to.")
    outcome: Literal["fixed", "not_fixed", "needs_parts", "no_access"] = Field(
        description="Result of the visit."
    )
    notes: Text | None = Field(default=None, description="Technician's notes.")

    def summary(self) -> str:
        notes = f": {self.notes}" if self.notes else ""
        return f"Repair visit for {self.order_id} completed, {self.outcome.replace('_', ' ')}{notes}"


class RepairVisitCompleted(Envelope):
    """A technician visit was completed (whether or not the problem was fixed)."""

    event_type: Literal["repair.visit_completed"] = "repair.visit_completed"
    schema_version: Literal[1] = 1
    payload: RepairVisitCompletedPayload

    EXAMPLE: ClassVar[dict[str, Any]] = {
        "occurred_at": "2026-11-27T15:10:00+08:00",
        "case_id": "CASE-2026-00418",
        "source": {**_FIELD_SOURCE, "agent": "tech-017"},
        "payload": {
            "order_id": "RO-55012",
            "outcome": "needs_parts",
            "notes": "壓縮機電容損壞，需調料 (capacitor)",
        },
    }
