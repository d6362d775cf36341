"""Hostile input at the edges, on the pure rules: internal event types, implausible instants and integers,
event-id conflicts, duplicate JSON keys (hardening defects 1, 2, 3 and 5)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from contracts import (
    EVENT_CLASSES,
    INTERNAL_EVENT_TYPES,
    CallbackPromised,
    CallEnded,
    CaseOpened,
    InvalidEvent,
    SlaPolicyPublished,
    check_compatibility,
    parse,
)
from domain.identity.identifiers import IdentifierProtector
from domain.intake import Rejected, admit, split_resends
from services.entrypoints.api.jsonbody import DuplicateKey, UnstorableString, check_duplicate_keys

pytestmark = pytest.mark.unit
PROTECTOR = IdentifierProtector(b"unit-key")
EXTREME = "9999-12-31T23:59-12:00"


def errors_of(data: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(InvalidEvent) as raised:
        parse(data)
    return [(error.loc, error.type) for error in raised.value.errors]


# --- defect 1: touchline's own event types ---------------------------------------------------------


def test_internal_event_types_are_derived_from_the_contract_flag() -> None:
    assert {"sla.policy_published", "sla.warning_raised", "sla.breached",
                                    "sla.alert_acknowledged", "privacy.subject_erased"} == INTERNAL_EVENT_TYPES


@pytest.mark.parametrize("cls", [c for c in EVENT_CLASSES if c.RECORDED_BY_TOUCHLINE],
                         ids=lambda c: c.type_key()[0])
def test_admit_refuses_every_internal_event_type_however_well_formed(cls: Any) -> None:
    outcome = admit(cls.example_data(), PROTECTOR)
    assert isinstance(outcome, Rejected) and outcome.internal
    assert outcome.reason == "internal event type"
    assert [(e.loc, e.type) for e in outcome.errors] == [("event_type", "internal_event_type")]


def test_admit_still_accepts_producers_event_types() -> None:
    assert not isinstance(admit(CallEnded.example_data(), PROTECTOR), Rejected)


# --- defect 2: bounded instants and integers -------------------------------------------------------


def test_a_callback_due_at_the_end_of_time_is_refused_with_its_path() -> None:
    data = CallbackPromised.example_data()
    data["payload"]["due_at"] = EXTREME
    assert errors_of(data) == [("payload.due_at", "datetime_range")]


def test_a_case_opened_at_the_end_of_time_is_refused_with_its_path() -> None:
    assert errors_of(CaseOpened.example_data() | {"occurred_at": EXTREME}) == [("occurred_at", "datetime_range")]


def test_a_policy_version_beyond_int64_is_refused_with_its_path() -> None:
    data = SlaPolicyPublished.example_data()
    data["payload"]["version"] = 2**63
    assert errors_of(data) == [("payload.version", "less_than_equal")]


@pytest.mark.parametrize(("instant", "accepted"), [
    ("1970-01-01T00:00:00Z", True), ("1969-12-31T23:59:59Z", False), ("1970-01-01T08:00:00+08:00", True),
    ("2199-12-31T23:59:59Z", True), ("2200-01-01T00:00:00Z", False), ("2200-01-01T13:59:00+14:00", True),
    ("2026-11-25T09:30:00+14:00", True), ("2026-11-25T09:30:00-14:00", True),
    ("2026-11-25T09:30:00+14:01", False), ("2026-11-25T09:30:00-23:59", False), ("0001-01-01T00:00:00+01:00", False),
])
def test_instants_are_bounded_to_the_plausibility_window(instant: str, accepted: bool) -> None:
    data = CaseOpened.example_data() | {"occurred_at": instant}
    if accepted:
        assert parse(data).occurred_at is not None
    else:
        assert errors_of(data)[0][0] == "occurred_at"


def test_seconds_beyond_int64_and_holidays_beyond_2199_are_refused() -> None:
    call = CallEnded.example_data()
    call["payload"]["duration_seconds"] = 2**63
    assert errors_of(call) == [("payload.duration_seconds", "less_than_equal")]
    policy = SlaPolicyPublished.example_data()
    policy["payload"]["calendars"][0]["holidays"] = ["9999-12-31"]
    assert errors_of(policy) == [("payload.calendars[0].holidays[0]", "date_range")]


def test_the_checker_accepts_the_int64_bound_and_nothing_tighter() -> None:
    old = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 0}}}
    int64 = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1}}}
    tighter = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 0, "maximum": 2**62}}}
    assert check_compatibility(old, int64) == []
    assert check_compatibility(old, tighter) == ["n: maximum tightened from none to 4611686018427387904"]


# --- defect 3: event-id conflicts ------------------------------------------------------------------


def test_resends_in_one_batch_are_split_into_identical_and_conflicting() -> None:
    first = parse(CallEnded.example_data())
    same = parse(CallEnded.example_data())
    other_data = CallEnded.example_data()
    other_data["payload"]["duration_seconds"] += 1
    other, fresh = parse(other_data), parse(CallEnded.example_data() | {"event_id": str(uuid.uuid4())})
    resends = split_resends([(0, first), (1, same), (2, other), (3, fresh)])
    assert (list(resends.first), list(resends.identical), list(resends.conflicting)) == ([0, 3], [1], [2])


# --- defect 5: duplicate keys ----------------------------------------------------------------------


@pytest.mark.parametrize(("body", "path"), [
    (b'{"a": 1, "a": 2}', "a"),
    (b'[{"ok": 1}, {"source": {"department": "x", "department": "y"}}]', "[1].source.department"),
    (b'{"payload": {"items": [{"q": 1}, {"q": 1, "q": 2}]}}', "payload.items[1].q"),
])
def test_a_duplicate_key_is_found_with_its_path(body: bytes, path: str) -> None:
    with pytest.raises(DuplicateKey) as raised:
        check_duplicate_keys(body)
    assert raised.value.path == path


def test_bodies_without_duplicates_or_not_json_pass_the_duplicate_check() -> None:
    check_duplicate_keys(b'{"a": {"a": 1}, "b": [{"a": 1}, {"a": 2}]}')
    check_duplicate_keys(b"{not json")


def test_unstorable_strings_are_found_with_their_path_when_asked() -> None:
    with pytest.raises(UnstorableString) as raised:
        check_duplicate_keys(b'{"customer_id": "a\\u0000b"}', strings=True)
    assert (raised.value.path, raised.value.kind) == ("customer_id", "string_nul")
    with pytest.raises(UnstorableString) as raised:
        check_duplicate_keys(b'{"reason": ["x", "\\ud800"]}', strings=True)
    assert (raised.value.path, raised.value.kind) == ("reason[1]", "string_unicode")
