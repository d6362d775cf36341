"""The v1 contracts: examples, validation rules, error locations, canonical JSON and partition keys."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import orjson
import pytest
from pydantic import ValidationError

import contracts
from contracts import (
    EVENT_CLASSES,
    EVENT_TYPES,
    CallbackPromised,
    CaseEnvelope,
    Envelope,
    FieldError,
    InvalidEvent,
    SurveyServqualAnswered,
    parse,
    partition_key,
    to_canonical_json,
)

pytestmark = pytest.mark.unit

ISSUE_EVENT_TYPES = {
    "frontdesk.visit_checked_in", "frontdesk.visit_checked_out", "call.received", "call.ended",
    "web.request_submitted", "repair.order_opened", "repair.visit_scheduled", "repair.visit_completed",
    "case.opened", "case.note_added", "case.handed_off", "case.handoff_accepted", "case.waiting_on_customer",
    "case.customer_responded", "case.escalated", "case.resolved", "case.reopened", "callback.promised",
    "callback.made", "complaint.filed", "compliment.received", "referral.made", "survey.servqual_answered",
    "identity.identifiers_linked", "identity.identifiers_unlinked", "sale.order_placed",
}  # fmt: skip
SLA_EVENT_TYPES = {"sla.policy_published", "sla.warning_raised", "sla.breached", "sla.alert_acknowledged",
                   "sla.alert_retracted", "sla.calendar_gap"}
PRIVACY_EVENT_TYPES = {"privacy.subject_erased"}
CASE_CLASSES = [cls for cls in EVENT_CLASSES if cls.type_key()[0].startswith("case.")]


def example(cls: type[Envelope], **changes: Any) -> dict[str, Any]:
    """The class's example as wire data, with top-level keys replaced (None removes the key)."""
    data = copy.deepcopy(cls.example_data())
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def with_payload(cls: type[Envelope], **changes: Any) -> dict[str, Any]:
    data = example(cls)
    data["payload"].update(changes)
    return data


def errors_of(data: Any) -> list[FieldError]:
    with pytest.raises(InvalidEvent) as caught:
        parse(data)
    return list(caught.value.errors)


def locs(data: Any) -> dict[str, str]:
    """loc -> error type of everything wrong with `data`."""
    return {error.loc: error.type for error in errors_of(data)}


# --- the vocabulary -------------------------------------------------------------------------------


def test_registry_holds_exactly_the_v1_vocabulary() -> None:
    assert {event_type for event_type, _ in EVENT_TYPES} == ISSUE_EVENT_TYPES | SLA_EVENT_TYPES | PRIVACY_EVENT_TYPES
    assert all(version == 1 for _, version in EVENT_TYPES)
    assert [EVENT_TYPES[cls.type_key()] for cls in EVENT_CLASSES] == list(EVENT_CLASSES)


def test_public_api_is_exported() -> None:
    for name in contracts.__all__:
        assert getattr(contracts, name) is not None
    assert {cls.__name__ for cls in EVENT_CLASSES} <= set(contracts.__all__)


@pytest.mark.parametrize("cls", EVENT_CLASSES, ids=lambda cls: cls.type_key()[0])
def test_example_parses_into_its_class_and_has_a_summary(cls: type[Envelope]) -> None:
    event = parse(cls.example_data())

    assert type(event) is cls
    assert event == cls.example()
    assert event.summary().strip()
    assert "\n" not in event.summary()
    assert cls.__doc__ and all(field.description for field in type(event.payload).model_fields.values())


@pytest.mark.parametrize("cls", EVENT_CLASSES, ids=lambda cls: cls.type_key()[0])
def test_example_round_trips_through_canonical_json(cls: type[Envelope]) -> None:
    event = cls.example()
    assert parse(to_canonical_json(event)) == event
    assert parse(to_canonical_json(event).decode("utf-8")) == event
    assert cls.model_validate_json(to_canonical_json(event)) == event  # how the store rebuilds stored events


# --- envelope rules -------------------------------------------------------------------------------


def test_naive_datetimes_are_rejected_in_envelope_and_payload() -> None:
    assert locs(example(CallbackPromised, occurred_at="2026-11-25T09:30:00")) == {
        "occurred_at": "timezone_aware"
    }
    naive_due = with_payload(CallbackPromised, due_at="2026-11-26T10:00:00")
    assert locs(naive_due) == {"payload.due_at": "timezone_aware"}


def test_sub_minute_utc_offsets_are_rejected_because_they_would_not_round_trip() -> None:
    odd = datetime(2026, 11, 25, 9, 30, tzinfo=timezone(timedelta(hours=8, seconds=30)))
    assert locs(example(CallbackPromised, occurred_at=odd)) == {"occurred_at": "timezone_offset"}


def test_unknown_fields_are_rejected_where_they_occur() -> None:
    data = example(CallbackPromised)
    data["colour"] = "red"
    data["source"]["colour"] = "red"
    data["customer"]["colour"] = "red"
    data["payload"]["colour"] = "red"
    assert locs(data) == {
        "colour": "extra_forbidden",
        "source.colour": "extra_forbidden",
        "customer.colour": "extra_forbidden",
        "payload.colour": "extra_forbidden",
    }


def test_source_and_customer_errors_carry_dotted_locations() -> None:
    data = example(CallbackPromised)
    data["source"]["department"] = "Customer Service"
    data["customer"]["email"] = "x" * 201
    assert locs(data) == {"source.department": "string_pattern_mismatch", "customer.email": "string_too_long"}


@pytest.mark.parametrize("cls", CASE_CLASSES, ids=lambda cls: cls.type_key()[0])
def test_case_events_require_case_id(cls: type[Envelope]) -> None:
    assert issubclass(cls, CaseEnvelope)
    (error,) = errors_of(example(cls, case_id=None))
    assert (error.loc, error.type) == ("case_id", "missing")


def test_other_events_may_omit_case_id() -> None:
    event = parse(example(CallbackPromised, case_id=None))
    assert event.case_id is None


def test_strings_are_stripped_and_length_limited() -> None:
    event = parse(with_payload(CallbackPromised, promise_id="  P-9  ", reason="\n 請回電 \t"))
    assert isinstance(event, CallbackPromised)
    assert (event.payload.promise_id, event.payload.reason) == ("P-9", "請回電")

    assert locs(with_payload(CallbackPromised, promise_id="   ")) == {
        "payload.promise_id": "string_too_short"
    }
    assert locs(with_payload(CallbackPromised, promise_id="長" * 201)) == {
        "payload.promise_id": "string_too_long"
    }
    assert parse(with_payload(CallbackPromised, reason="x" * 4000))
    assert locs(with_payload(CallbackPromised, reason="x" * 4001)) == {"payload.reason": "string_too_long"}


def test_strings_that_cannot_be_written_as_utf8_json_are_rejected() -> None:
    assert locs(with_payload(CallbackPromised, reason="a\x00b")) == {"payload.reason": "string_nul"}
    assert locs(with_payload(CallbackPromised, reason="a\ud800b")) == {"payload.reason": "string_unicode"}


def test_events_are_frozen() -> None:
    event = CallbackPromised.example()
    with pytest.raises(ValidationError):
        event.case_id = "other"  # type: ignore[misc]


def test_customer_stored_form_requires_a_hex_digest() -> None:
    data = example(
        CallbackPromised, customer={"national_id_digest": "A" * 64, "national_id_masked": "***6789"}
    )
    assert locs(data) == {"customer.national_id_digest": "string_pattern_mismatch"}
    digest = "ab" * 32
    event = parse(
        example(CallbackPromised, customer={"national_id_digest": digest, "national_id_masked": "6789"})
    )
    assert event.customer.national_id_digest == digest and event.customer.national_id is None


def test_error_messages_do_not_echo_personal_data() -> None:
    secret = "A123456789" * 30
    (error,) = errors_of(example(CallbackPromised, customer={"national_id": secret}))
    assert error.loc == "customer.national_id"
    assert "A123456789" not in error.message and "A123456789" not in str(InvalidEvent([error]))


# --- payload rules --------------------------------------------------------------------------------


def test_handoff_to_the_same_department_is_rejected() -> None:
    data = with_payload(contracts.CaseHandedOff, from_department="cards", to_department="cards")
    assert locs(data) == {"payload.to_department": "same_department"}


def test_survey_must_cover_all_five_dimensions() -> None:
    data = example(SurveyServqualAnswered)
    data["payload"]["items"] = [item for item in data["payload"]["items"] if item["dimension"] != "tangibles"]
    data["payload"]["items"].append({**data["payload"]["items"][0], "item": "REL-2"})
    (error,) = errors_of(data)
    assert (error.loc, error.type) == ("payload.items", "servqual_dimension_missing")
    assert "tangibles" in error.message


def test_survey_rejects_a_duplicated_item() -> None:
    data = example(SurveyServqualAnswered)
    data["payload"]["items"].append(data["payload"]["items"][0])
    assert locs(data) == {"payload.items": "servqual_item_duplicate"}


def test_errors_inside_list_items_name_the_index() -> None:
    data = example(SurveyServqualAnswered)
    data["payload"]["items"][2]["perception"] = 8
    data["payload"]["items"][4]["dimension"] = "beauty"
    assert locs(data) == {
        "payload.items[2].perception": "less_than_equal",
        "payload.items[4].dimension": "enum",
    }


def test_survey_gap_helpers_are_computed_not_serialized() -> None:
    data = example(SurveyServqualAnswered)
    data["payload"]["items"].append(
        {"dimension": "reliability", "item": "REL-2", "expectation": 7, "perception": 6}
    )
    payload = parse(data).payload
    assert isinstance(payload, contracts.SurveyServqualAnsweredPayload)

    gaps = payload.mean_gap_by_dimension
    assert gaps == {
        contracts.ServqualDimension.RELIABILITY: -1.5,  # (5-7 + 6-7) / 2
        contracts.ServqualDimension.RESPONSIVENESS: 0.0,
        contracts.ServqualDimension.ASSURANCE: 1.0,
        contracts.ServqualDimension.EMPATHY: -1.0,
        contracts.ServqualDimension.TANGIBLES: 1.0,
    }
    assert payload.overall_mean_gap == pytest.approx(-0.1)  # mean of the five dimension gaps
    assert b"gap" not in to_canonical_json(parse(data))


def test_call_transfer_rules() -> None:
    transferred = with_payload(contracts.CallEnded, outcome="transferred")
    assert locs(transferred) == {"payload.transferred_to_department": "transfer_target_missing"}
    event = parse(with_payload(contracts.CallEnded, outcome="transferred", transferred_to_department="cards"))
    assert "to cards" in event.summary() and "IVR to agent" in event.summary()

    too_long_in_ivr = with_payload(contracts.CallEnded, duration_seconds=60, ivr_seconds=61)
    assert locs(too_long_in_ivr) == {"payload.ivr_seconds": "ivr_longer_than_call"}


def test_identity_link_needs_two_distinct_identifiers() -> None:
    cls = contracts.IdentityIdentifiersLinked
    one = [{"kind": "phone", "value": "+886912345678"}]
    assert locs(with_payload(cls, identifiers=one)) == {"payload.identifiers": "too_short"}
    assert locs(with_payload(cls, identifiers=one * 2)) == {"payload.identifiers": "identifier_duplicate"}
    bad_kind = [one[0], {"kind": "passport", "value": "X1"}]
    assert locs(with_payload(cls, identifiers=bad_kind)) == {"payload.identifiers[1].kind": "enum"}


def test_identity_unlink_needs_two_different_identifiers() -> None:
    cls = contracts.IdentityIdentifiersUnlinked
    same = {"kind": "phone", "value": "+886912345678"}
    assert locs(with_payload(cls, identifier=same, from_identifier=same)) == {
        "payload.from_identifier": "identifier_same"
    }


def test_summaries_keep_the_given_text() -> None:
    assert (
        CallbackPromised.example().summary() == "Callback promised by 2026-11-26 10:00 +08:00: 信用卡寄送查詢"
    )
    long_reason = "第一行\n第二行 " + "長" * 300
    summary = parse(with_payload(CallbackPromised, reason=long_reason)).summary()
    assert "第一行 第二行" in summary and "\n" not in summary and len(summary) <= 160


def test_identity_summaries_do_not_reveal_identifier_values() -> None:
    summary = contracts.IdentityIdentifiersLinked.example().summary()
    assert "customer_number" in summary and "C0012345" not in summary


# --- parse() dispatch and input errors ------------------------------------------------------------


def test_parse_accepts_bytes_str_and_mappings() -> None:
    data = CallbackPromised.example_data()
    raw = orjson.dumps(data)
    assert parse(raw) == parse(raw.decode()) == parse(data) == parse(bytearray(raw))


@pytest.mark.parametrize(
    ("raw", "loc", "kind"),
    [
        (b"{not json", "", "json_invalid"),
        (b"\xff\xfe", "", "json_invalid"),
        (b"[1, 2]", "", "object_type"),
        (b"42", "", "object_type"),
        (b'{"schema_version": 1}', "event_type", "missing"),
        (b'{"event_type": "call.teleported", "schema_version": 1}', "event_type", "unknown_event_type"),
        (b'{"event_type": 7, "schema_version": 1}', "event_type", "unknown_event_type"),
        (b'{"event_type": "call.received"}', "schema_version", "missing"),
        (b'{"event_type": "call.received", "schema_version": 2}', "schema_version", "unknown_schema_version"),
        (
            b'{"event_type": "call.received", "schema_version": "1"}',
            "schema_version",
            "unknown_schema_version",
        ),
        (
            b'{"event_type": "call.received", "schema_version": true}',
            "schema_version",
            "unknown_schema_version",
        ),
    ],
)
def test_parse_reports_unusable_input(raw: bytes, loc: str, kind: str) -> None:
    (error,) = errors_of(raw)
    assert (error.loc, error.type) == (loc, kind)
    assert error.message


def test_parse_reports_every_problem_at_once() -> None:
    data = example(CallbackPromised, event_id="not-a-uuid", source=None)
    data["payload"].pop("reason")
    assert locs(data) == {"event_id": "uuid_parsing", "source": "missing", "payload.reason": "missing"}


def test_field_errors_serialize_for_dead_letter_headers() -> None:
    errors = errors_of(example(CallbackPromised, occurred_at="2026-11-25T09:30:00"))
    header = orjson.loads(orjson.dumps([error.as_dict() for error in errors]))
    assert header == [{"loc": "occurred_at", "message": errors[0].message, "type": "timezone_aware"}]
    assert orjson.dumps(errors) == orjson.dumps([error.as_dict() for error in errors])


# --- canonical JSON and partition key -------------------------------------------------------------


def test_canonical_json_is_sorted_compact_utf8_without_nulls() -> None:
    event = parse(example(CallbackPromised, correlation_id=None))
    raw = to_canonical_json(event)

    decoded = orjson.loads(raw)
    assert list(decoded) == sorted(decoded)
    assert list(decoded["payload"]) == sorted(decoded["payload"])
    assert b"null" not in raw and b"correlation_id" not in raw and b" " not in raw.replace(b"+08:00", b"")
    assert "信用卡寄送查詢".encode() in raw  # raw UTF-8, not \u escapes


def test_chinese_and_english_text_round_trip_unchanged() -> None:
    text = "客戶說：「卡片還沒收到」 — customer says the card hasn't arrived 🙂"
    event = parse(with_payload(contracts.CaseNoteAdded, note=text))
    again = parse(to_canonical_json(event))
    assert again == event
    assert isinstance(again, contracts.CaseNoteAdded) and again.payload.note == text


def test_partition_key_is_the_case_id_else_the_event_id() -> None:
    with_case = CallbackPromised.example()
    assert partition_key(with_case) == b"CASE-2026-00417"

    without_case = parse(example(CallbackPromised, case_id=None))
    assert partition_key(without_case) == str(without_case.event_id).encode()
    assert UUID(partition_key(without_case).decode()) == without_case.event_id


def test_example_data_is_a_fresh_copy_each_time() -> None:
    from contracts import WebRequestSubmitted

    first = WebRequestSubmitted.example_data()
    first["payload"]["subject"] = "changed by a caller"
    first["source"]["department"] = "elsewhere"
    second = WebRequestSubmitted.example_data()
    assert second["payload"]["subject"] != "changed by a caller"
    assert second["source"]["department"] != "elsewhere"
