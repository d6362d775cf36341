"""Sales: an order placed, what the service scorecard counts as (repeat) business."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from contracts.envelope import Envelope, Payload
from contracts.fields import ContractModel, Count64, Label, Positive64


class SaleItem(ContractModel):
    """One line of an order: a product, how many, for how much, and the serial of the device sold if any."""

    sku: Label = Field(description="Product code (SKU) or name.")
    quantity: Positive64 = Field(description="Units ordered.")
    amount: Count64 = Field(description="Line amount in minor units of `currency` (fen, cents).")
    device_serial: Label | None = Field(
        default=None,
        description="Serial number of the device sold on this line (an identifier of the customer: sealed in "
        "the store like the envelope's).",
    )


class SaleOrderPlacedPayload(Payload):
    """An order was placed."""

    order_id: Label = Field(description="Id of the order in the sales system (the same order counts once).")
    items: tuple[SaleItem, ...] = Field(min_length=1, max_length=500, description="Order lines.")
    amount: Count64 = Field(description="Order total in minor units of `currency` (fen, cents).")
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 currency code, e.g. `CNY`.")

    @field_validator("items")
    @classmethod
    def _distinct_serials(cls, items: tuple[SaleItem, ...]) -> tuple[SaleItem, ...]:
        serials = [item.device_serial for item in items if item.device_serial is not None]
        if len(set(serials)) != len(serials):
            raise PydanticCustomError("sale_serial_duplicate", "a device serial may be sold once per order")
        return items

    def summary(self) -> str:
        units = sum(item.quantity for item in self.items)
        return f"Order {self.order_id} placed: {units} unit(s), {self.amount / 100:.2f} {self.currency}"


class SaleOrderPlaced(Envelope):
    """A customer placed an order; buying again is repeat business on the service scorecard.

    The customer reference should carry the customer number; each line may carry the serial of the device sold."""

    event_type: Literal["sale.order_placed"] = "sale.order_placed"
    schema_version: Literal[1] = 1
    payload: SaleOrderPlacedPayload

    EXAMPLE: ClassVar[dict[str, Any]] = {
        "source": {"department": "sales", "channel": "front_desk", "system": "pos", "site": "xian-store-2"},
        "customer": {"customer_number": "C0012345"},
        "payload": {
            "order_id": "SO-2026-118204",
            "items": [
                {"sku": "AC-INV-4KW", "quantity": 1, "amount": 459900, "device_serial": "SN-4K-3307-QA"},
                {"sku": "INSTALL-STD", "quantity": 1, "amount": 30000},
            ],
            "amount": 489900,
            "currency": "CNY",
        },
    }
