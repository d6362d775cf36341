"""Cases reducer: routing events to cases, batches folding like one pass, lossless state codec, rows."""

from __future__ import annotations

from datetime import timedelta

import pytest

from contracts import Envelope
from domain.cases import CaseState
from domain.identity.identifiers import customer_key
from projections.cases import fold, needs, rows_of
from projections.cases.codec import canonical_json, decode, encode, to_data
from tests.support.builders import make_event, recorded
from tests.support.case_events import T0, accepted, handed, opened
from tests.support.credit_card import CASE_ID, all_events

pytestmark = pytest.mark.unit

ANN = {"customer_number": "C-ANN"}


def case_of(case_id: str, minutes: float, customer: dict[str, str] | None = ANN) -> list[Envelope]:
    return [make_event("case.opened", occurred_at=T0 + timedelta(minutes=minutes), department="loan",
                       customer=customer, case_id=case_id,
                       payload={"case_type": "inquiry", "subject": case_id, "priority": "normal"})]


def call(minutes: float, customer: dict[str, str] = ANN, case_id: str | None = None) -> Envelope:
    return make_event("call.received", occurred_at=T0 + timedelta(minutes=minutes), department="card_centre",
                      channel="phone", customer=customer, case_id=case_id,
                      payload={"call_id": f"c-{minutes}", "direction": "inbound", "answered_by": "agent"})


def resolved(case_id: str, minutes: float) -> Envelope:
    return make_event("case.resolved", occurred_at=T0 + timedelta(minutes=minutes), department="loan",
                      case_id=case_id, payload={"resolution": "done"})


def test_a_contact_naming_no_case_goes_to_the_customers_latest_open_case() -> None:
    events = recorded([*case_of("A", 0), *case_of("B", 5), *case_of("C", 6), resolved("C", 7), call(30)])

    cases = fold(events, customer_key, {})

    assert [len(cases[c].contacts) for c in "ABC"] == [0, 1, 0]
    assert cases["B"].contacts[0].via == "customer"


def test_a_contact_from_a_customer_without_an_open_case_changes_nothing() -> None:
    first = fold(recorded([*case_of("A", 0), resolved("A", 5)]), customer_key, {})

    assert fold(recorded([call(30)], start=3), customer_key, first) == {}
    assert fold(recorded([call(30, {"customer_number": "C-OTHER"})], start=3), customer_key, first) == {}


def test_a_case_learns_its_customer_from_the_first_event_that_names_one() -> None:
    events = recorded([*case_of("A", 0, customer=None), call(5, case_id="A"), call(6, {"customer_number": "X"},
                                                                                   case_id="A")])

    (state,) = fold(events, customer_key, {}).values()

    assert state.customer_id == customer_key(make_event("call.received", occurred_at=T0, customer=ANN).customer)


def test_needs_names_the_batch_cases_and_the_customers_of_contacts_without_a_case() -> None:
    events = recorded([*case_of("A", 0), call(5), call(6, case_id="B"), make_event(
        "call.ended", occurred_at=T0, customer={"customer_number": "C-END"})])

    wanted = needs(events, customer_key)

    assert wanted.case_ids == {"A", "B"}
    assert wanted.customer_ids == {customer_key(events[1].event.customer)}


def test_folding_in_batches_through_the_codec_equals_one_pass() -> None:
    events = recorded(all_events())
    whole = fold(events, customer_key, {})

    for size in (1, 2, 5):
        states: dict[str, CaseState] = {}
        for start in range(0, len(events), size):
            loaded = {k: decode(encode(v)) for k, v in states.items()}
            states.update(fold(events[start:start + size], customer_key, loaded))
        assert states == whole, size


def test_the_codec_is_lossless_and_canonical() -> None:
    (state,) = fold(recorded(all_events()), customer_key, {}).values()

    text = encode(state)

    assert text == canonical_json(to_data(state))  # orjson's fast path writes what the json module writes
    assert decode(text) == state
    assert encode(decode(text)) == text
    assert "信用卡申请两个月未收到" in text  # characters kept as given


def test_rows_mark_returns_and_straight_bounces() -> None:
    a_b, b_a = handed(1, "loan", "card_centre"), handed(3, "card_centre", "loan")
    (state,) = fold(recorded([opened(), a_b, accepted(2, "card_centre"), b_a]), customer_key, {}).values()

    rows = rows_of(state)

    assert [(h.from_department, h.to_department, h.returned, h.bounced, h.outcome) for h in rows.handoffs] == [
        ("loan", "card_centre", 0, 1, "accepted"), ("card_centre", "loan", 1, 0, "pending")]
    assert (rows.case.holder, rows.case.pending_to, rows.case.returns, rows.case.handoffs) == (
        "card_centre", "loan", 1, 2)


def test_the_credit_card_case_has_its_rows() -> None:
    (state,) = fold(recorded(all_events()), customer_key, {}).values()

    rows = rows_of(state)

    assert (rows.case.case_id, rows.case.status, rows.case.repeat_contacts, rows.case.anomalies) == (
        CASE_ID, "resolved", 3, 0)
    assert [c.via for c in rows.contacts] == ["customer", "case", "case"]
