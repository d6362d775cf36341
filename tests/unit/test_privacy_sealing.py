"""Sealing personal values of stored event documents: round trip, determinism, tampering, erased keys, coverage."""

from __future__ import annotations

import base64
import copy
import typing
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from contracts import EVENT_CLASSES, CustomerIdentifier, CustomerRef, Envelope
from domain.identity.identifiers import IdentifierProtector, customer_key
from domain.intake import protect
from domain.privacy.fields import CUSTOMER_FIELDS, IDENTIFIER_FIELDS, PAYLOAD_FIELDS, subject_of
from domain.privacy.sealing import (
    DataKey,
    ErasedKey,
    MalformedToken,
    TamperedValue,
    UnknownKey,
    is_token,
    open_document,
    seal_document,
    sealed_key_ids,
    split_token,
)
from tests.support.builders import make_event

pytestmark = pytest.mark.unit

AT = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
WHO = {"customer_number": "C-100023", "phone": "13800138000", "email": "Wang.Fang@example.cn",
       "national_id": "310104198806152426", "device_serial": "SN-A-7781", "messaging_id": "U4af4980629"}
CLEAR_VALUES = ("C-100023", "13800138000", "Wang.Fang@example.cn", "310104198806152426", "SN-A-7781",
                "U4af4980629", "**************2426")
PROTECTOR = IdentifierProtector(b"unit-test-id-hash-key")
KEY = DataKey("7d3f0a52-4b8e-4c1d-9f6a-2e5b8c9d0a1b", bytes(range(32)))


def document(event: Envelope) -> dict[str, Any]:
    return event.model_dump(mode="json", exclude_none=True)


def call(**customer: str) -> Envelope:
    return protect(make_event("call.received", occurred_at=AT, customer=customer or WHO), PROTECTOR)


def linked(*identifiers: tuple[str, str], customer: dict[str, str] | None = None) -> Envelope:
    return make_event("identity.identifiers_linked", occurred_at=AT, customer=customer,
                      payload={"identifiers": [{"kind": k, "value": v} for k, v in identifiers]})


def sealed(event: Envelope, key: DataKey = KEY) -> dict[str, Any]:
    data = document(event)
    return data if subject_of(data) is None else seal_document(data, key)


def reopened(data: dict[str, Any], event: Envelope, ring: dict[str, Any]) -> Envelope:
    return type(event).model_validate(open_document(copy.deepcopy(data), ring))


def test_every_personal_value_is_sealed_and_opens_back_to_the_same_event() -> None:
    event = call()
    data = sealed(event)
    text = orjson.dumps(data).decode()
    assert not any(value in text for value in CLEAR_VALUES)
    assert event.customer.national_id_digest is not None and event.customer.national_id_digest not in text
    assert all(is_token(value) for value in data["customer"].values())
    assert sealed_key_ids(data) == {KEY.key_id}
    assert reopened(data, event, {KEY.key_id: KEY}) == event


def test_sealing_is_deterministic_per_event_and_differs_between_events() -> None:
    event, other = call(), call()
    assert orjson.dumps(sealed(event)) == orjson.dumps(sealed(event))  # a redelivery seals to the same bytes
    assert sealed(event)["customer"]["phone"] != sealed(other)["customer"]["phone"]  # bound to the event id


def test_a_changed_or_moved_sealed_value_is_refused() -> None:
    event = call()
    data = sealed(event)
    key_id, blob = split_token(data["customer"]["phone"])
    flipped = copy.deepcopy(data)
    changed = bytes([blob[0], blob[1] ^ 1]) + blob[2:]  # one bit of the nonce
    flipped["customer"]["phone"] = f"sealed:v1:{key_id}:{base64.urlsafe_b64encode(changed).decode()}"
    with pytest.raises(TamperedValue, match="customer.phone"):
        open_document(flipped, {KEY.key_id: KEY})
    moved = copy.deepcopy(data)  # a valid token copied into another field does not open there
    moved["customer"]["email"] = data["customer"]["phone"]
    with pytest.raises(TamperedValue, match="customer.email"):
        open_document(moved, {KEY.key_id: KEY})
    other_event = copy.deepcopy(data) | {"event_id": str(uuid.uuid4())}
    with pytest.raises(TamperedValue):
        open_document(other_event, {KEY.key_id: KEY})
    wrong_key = DataKey(KEY.key_id, bytes(32))
    with pytest.raises(TamperedValue):
        open_document(copy.deepcopy(data), {KEY.key_id: wrong_key})
    with pytest.raises(UnknownKey):
        open_document(copy.deepcopy(data), {})
    garbled = copy.deepcopy(data)
    garbled["customer"]["phone"] = "sealed:v1:no-blob"
    with pytest.raises(MalformedToken):
        open_document(garbled, {KEY.key_id: KEY})


def test_an_erased_key_opens_to_one_pseudonymous_customer_that_still_validates() -> None:
    events = [call(), call(phone="13800138000"), call(**WHO)]
    ring = {KEY.key_id: ErasedKey(KEY.key_id, "erased-1f0c")}
    opened = [reopened(sealed(event), event, ring) for event in events]
    assert all(event.customer.model_dump(exclude_none=True) == {"customer_number": "erased-1f0c"}
               for event in opened)
    assert len({customer_key(event.customer) for event in opened}) == 1
    assert [e.payload for e in opened] == [e.payload for e in events]  # non-personal facts unchanged
    assert [(e.event_id, e.occurred_at, e.source, e.case_id) for e in opened] == [
        (e.event_id, e.occurred_at, e.source, e.case_id) for e in events]


def test_identity_identifiers_are_sealed_under_the_subject_and_erased_ones_stay_distinct() -> None:
    event = linked(("phone", "13800138000"), ("customer_number", "C-100023"), ("email", "wang.fang@example.cn"))
    data = sealed(event)
    assert subject_of(document(event)) == customer_key(CustomerRef(customer_number="C-100023"))  # the strongest
    assert not any(value in orjson.dumps(data).decode() for value in ("13800138000", "C-100023", "wang.fang"))
    assert reopened(data, event, {KEY.key_id: KEY}) == event
    erased = reopened(data, event, {KEY.key_id: ErasedKey(KEY.key_id, "erased-9")})
    identifiers = erased.payload.identifiers  # type: ignore[attr-defined]
    assert [(i.kind.value, i.value) for i in identifiers] == [
        ("phone", "erased-9-3"), ("customer_number", "erased-9"), ("email", "erased-9-2")]  # strongest first


def test_an_unlink_with_both_identifiers_erased_still_validates() -> None:
    event = make_event("identity.identifiers_unlinked", occurred_at=AT)
    erased = reopened(sealed(event), event, {KEY.key_id: ErasedKey(KEY.key_id, "erased-u")})
    assert erased.payload.identifier.value != erased.payload.from_identifier.value  # type: ignore[attr-defined]


def test_a_repair_order_s_device_serial_is_sealed_and_left_out_once_erased() -> None:
    event = make_event("repair.order_opened", occurred_at=AT, customer={"customer_number": "C-9"},
                       payload={"device_serial": "SN-A-7781"})
    data = sealed(event)
    assert is_token(data["payload"]["device_serial"]) and "SN-A-7781" not in orjson.dumps(data).decode()
    assert reopened(data, event, {KEY.key_id: KEY}) == event
    erased = reopened(data, event, {KEY.key_id: ErasedKey(KEY.key_id, "erased-r")})
    assert erased.payload.device_serial is None and erased.payload.problem == event.payload.problem  # type: ignore


def test_events_naming_no_one_are_stored_as_they_are() -> None:
    event = make_event("sla.policy_published", occurred_at=AT, customer=None)
    data = sealed(event)
    assert subject_of(document(event)) is None and data == document(event) and sealed_key_ids(data) == set()


def test_a_producer_value_that_looks_like_a_token_is_sealed_like_any_other() -> None:
    event = call(customer_number="sealed:v1:forged:AAAA")
    data = sealed(event)
    assert split_token(data["customer"]["customer_number"])[0] == KEY.key_id
    assert reopened(data, event, {KEY.key_id: KEY}) == event


def test_values_recorded_before_sealing_are_read_as_they_are() -> None:
    event = call()
    assert reopened(document(event), event, {}) == event


def test_the_field_lists_cover_every_contract() -> None:
    """A new contract field holding an identifier must be added to domain.privacy.fields, or it is stored clear."""
    for cls in EVENT_CLASSES:
        event_type, _ = cls.type_key()
        payload = typing.get_type_hints(cls)["payload"]
        for name, info in payload.model_fields.items():
            if CustomerIdentifier in _types_in(info.annotation):
                assert name in IDENTIFIER_FIELDS.get(event_type, ()), f"{event_type}.payload.{name}"
            elif name in CUSTOMER_FIELDS:
                assert name in PAYLOAD_FIELDS.get(event_type, {}), f"{event_type}.payload.{name}"
    assert set(CUSTOMER_FIELDS) == {"customer_number", "phone", "email", "national_id", "national_id_digest",
                                    "national_id_masked", "device_serial", "messaging_id"}


def _types_in(annotation: Any) -> set[Any]:
    found = {annotation}
    for argument in typing.get_args(annotation):
        found |= _types_in(argument)
    return found


def test_the_device_serials_of_an_order_are_sealed_in_every_line() -> None:
    items = [{"sku": "AC-1", "quantity": 1, "amount": 100, "device_serial": "SN-SALE-1"},
             {"sku": "INSTALL", "quantity": 1, "amount": 50},
             {"sku": "AC-2", "quantity": 1, "amount": 100, "device_serial": "SN-SALE-2"}]
    event = make_event("sale.order_placed", occurred_at=AT, customer={"customer_number": "C-100023"},
                       payload={"order_id": "SO-1", "items": items, "amount": 250, "currency": "CNY"})
    data = sealed(event)
    text = orjson.dumps(data).decode()
    assert "SN-SALE-1" not in text and "SN-SALE-2" not in text
    assert is_token(data["payload"]["items"][0]["device_serial"]) and "device_serial" not in data["payload"]["items"][1]
    assert reopened(data, event, {KEY.key_id: KEY}) == event
