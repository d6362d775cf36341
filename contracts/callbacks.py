"""Callback promises: a promise to call the customer back by a due time, and the call that keeps it."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from contracts.envelope import Envelope, Payload
from contracts.fields import Label, Text, Timestamp, format_time


class CallbackPromisedPayload(Payload):
    """A callback was promised."""

    promise_id: Label = Field(description="Id of the promise; `callback.made` refers to it.")
    due_at: Timestamp = Field(description="Deadline of the promised callback, with UTC offset.")
    reason: Text = Field(description="What the callback is about.")

    def summary(self) -> str:
        return f"Callback promised by {format_time(self.due_at)}: {self.reason}"


class CallbackPromised(Envelope):
    """An agent promised to call the customer back by `due_at` (not kept in time, the promise is broken)."""

    event_type: Literal["callback.promised"] = "callback.promised"
    schema_version: Literal[1] = 1
    payload: CallbackPromisedPayload

    EXAMPLE: ClassVar[dict[str, Any]] = {
        "case_id": "CASE-2026-00417",
        "payload": {
            "promise_id": "P-0001",
            "due_at": "2026-11-26T10:00:00+08:00",
            "reason": "信用卡寄送查詢",
        },
    }


class CallbackMadePayload(Payload):
    """A promised callback was attempted."""

    promise_id: Label = Field(description="Promise being kept (as in `callback.promised`).")
    outcome: Literal["reached", "no_answer", "left_message"] = Field(
        description="Result of the call attempt."
    )

    def summary(self) -> str:
        return f"Callback {self.promise_id} made: {self.outcome.replace('_', ' ')}"


class CallbackMade(Envelope):
    """The promised callback was made; `outcome` says whether the customer was reached."""

    event_type: Literal["callback.made"] = "callback.made"
    schema_version: Literal[1] = 1
    payload: CallbackMadePayload

    EXAMPLE: ClassVar[dict[str, Any]] = {
        "occurred_at": "2026-11-26T09:40:00+08:00",
        "case_id": "CASE-2026-00417",
        "payload": {"promise_id": "P-0001", "outcome": "reached"},
    }
