"""Test event builders: valid contract events from each type's documentation example, overridden per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from contracts import EVENT_TYPES, CustomerRef, Envelope
from contracts.envelope import CaseEnvelope
from domain.log import RecordedEvent

Customer = CustomerRef | Mapping[str, str] | None


def make_event(
    event_type: str,
    *,
    occurred_at: datetime,
    department: str | None = None,
    channel: str | None = None,
    customer: Customer = None,
    case_id: str | None = None,
    payload: Mapping[str, Any] | None = None,
    event_id: uuid.UUID | str | None = None,
    schema_version: int = 1,
    **envelope: Any,
) -> Envelope:
    """A valid event of `event_type`, built on its contract example.

    - `customer`: a CustomerRef or a mapping of its fields; None means no identifiers at all.
    - `case_id`: None keeps the example's case only for `case.*` events (which require one), else no case.
    - `payload`: merged over the example payload (shallow), so a test names only the fields it cares about.
    - `department`/`channel` default to the example's source; other envelope fields (`site`, `agent`,
      `correlation_id`, ...) can be given as keywords. `event_id` defaults to a fresh uuid4.
    """
    cls = EVENT_TYPES[(event_type, schema_version)]
    data = cls.example_data()
    data["event_id"] = str(event_id or uuid.uuid4())
    data["occurred_at"] = occurred_at.isoformat()
    data["source"] = _source(data["source"], department, channel, envelope)
    data["customer"] = _customer(customer)
    data["case_id"] = case_id if case_id is not None else _default_case(cls, data)
    data["payload"] = {**data["payload"], **(payload or {})}
    data.update(envelope)
    return cls.model_validate({k: v for k, v in data.items() if v is not None})


def recorded(events: Iterable[Envelope], start: int = 1) -> list[RecordedEvent]:
    """Events as the store would hand them to projections: consecutive log positions from `start`."""
    return [RecordedEvent(position, event) for position, event in enumerate(events, start=start)]


def call_received(**kwargs: Any) -> Envelope:
    return make_event("call.received", **kwargs)


def call_ended(**kwargs: Any) -> Envelope:
    return make_event("call.ended", **kwargs)


def case_opened(**kwargs: Any) -> Envelope:
    return make_event("case.opened", **kwargs)


def case_note_added(**kwargs: Any) -> Envelope:
    return make_event("case.note_added", **kwargs)


def case_resolved(**kwargs: Any) -> Envelope:
    return make_event("case.resolved", **kwargs)


def callback_promised(**kwargs: Any) -> Envelope:
    return make_event("callback.promised", **kwargs)


def web_request(**kwargs: Any) -> Envelope:
    return make_event("web.request_submitted", **kwargs)


def visit_checked_in(**kwargs: Any) -> Envelope:
    return make_event("frontdesk.visit_checked_in", **kwargs)


def _source(example: Mapping[str, Any], department: str | None, channel: str | None,
            envelope: dict[str, Any]) -> dict[str, Any]:
    source = dict(example)
    overrides: dict[str, Any] = {"department": department, "channel": channel,
                 **{key: envelope.pop(key) for key in ("system", "site", "agent") if key in envelope}}
    source.update({key: value for key, value in overrides.items() if value is not None})
    return source


def _customer(customer: Customer) -> dict[str, Any]:
    if customer is None:
        return {}
    if isinstance(customer, CustomerRef):
        return customer.model_dump(exclude_none=True)
    return dict(customer)


def _default_case(cls: type[Envelope], data: Mapping[str, Any]) -> str | None:
    return data.get("case_id") if issubclass(cls, CaseEnvelope) else None
