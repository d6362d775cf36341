"""Timeline reducer: given recorded events, when folded, then entries and anomalies."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts import CustomerRef
from domain.identity.identifiers import (
    Identifier,
    IdentifierKind,
    IdentifierProtector,
    customer_id_for,
    customer_key,
)
from domain.instants import epoch_us
from domain.log import RecordedEvent
from projections.timeline import (
    EMPTY,
    TimelineOutput,
    TimelineState,
    UnattributedReason,
    fold,
    in_timeline_order,
    needed_case_ids,
    reduce,
    unapplied,
)
from tests.support.builders import (
    call_received,
    case_note_added,
    case_opened,
    recorded,
    visit_checked_in,
    web_request,
)

pytestmark = pytest.mark.unit

TAIPEI = timezone(timedelta(hours=8))
T0 = datetime(2026, 11, 25, 9, 0, tzinfo=TAIPEI)
PHONE = {"phone": "+86 138 0013 8000"}
PHONE_ID = customer_id_for(Identifier(IdentifierKind.PHONE, "+8613800138000"))


def test_entries_sort_by_occurrence_time_then_log_position() -> None:
    events = recorded([
        call_received(occurred_at=T0 + timedelta(minutes=5), customer=PHONE),
        web_request(occurred_at=T0, customer=PHONE),
        visit_checked_in(occurred_at=T0, customer=PHONE),
        # 02:00 UTC is 10:00 in Taipei: later than everything above despite the smaller wall-clock hour.
        call_received(occurred_at=datetime(2026, 11, 25, 2, 0, tzinfo=UTC), customer=PHONE),
    ])

    _, output = fold(events, customer_key)

    assert [e.position for e in in_timeline_order(output.entries)] == [2, 3, 1, 4]
    assert {e.customer_id for e in output.entries} == {PHONE_ID}


def test_an_entry_carries_what_the_timeline_shows() -> None:
    event = call_received(occurred_at=T0, customer=PHONE, department="cards", channel="phone", agent="a-7",
                          case_id="CASE-1")

    _, output = reduce(EMPTY, RecordedEvent(7, event), customer_key)

    (entry,) = output.entries
    assert (entry.position, entry.event_id, entry.event_type) == (7, str(event.event_id), "call.received")
    assert (entry.channel, entry.department) == ("phone", "cards")
    assert (entry.site, entry.agent) == ("taipei-hq", "a-7")
    assert (entry.summary, entry.case_id) == (event.summary(), "CASE-1")
    assert entry.occurred_at == T0 and entry.occurred_at.utcoffset() == timedelta(hours=8)
    assert entry.occurred_us == epoch_us(T0) == int(T0.timestamp()) * 1_000_000


def test_events_without_identifiers_join_the_customer_of_their_case() -> None:
    events = recorded([
        case_opened(occurred_at=T0, customer=PHONE, case_id="CASE-1"),
        case_note_added(occurred_at=T0 + timedelta(hours=1), case_id="CASE-1"),
    ])

    state, output = fold(events, customer_key)

    assert [(e.customer_id, e.position) for e in output.entries] == [(PHONE_ID, 1), (PHONE_ID, 2)]
    assert state.customer_of_case("CASE-1") == PHONE_ID
    assert [(link.case_id, link.position) for link in output.case_links] == [("CASE-1", 1)]


def test_an_event_with_identifiers_keeps_its_own_customer_and_the_case_keeps_its_first() -> None:
    other = {"email": "someone@example.com"}
    events = recorded([
        case_opened(occurred_at=T0, customer=PHONE, case_id="CASE-1"),
        call_received(occurred_at=T0, customer=other, case_id="CASE-1"),
    ])

    state, output = fold(events, customer_key)

    assert [e.customer_id for e in output.entries] == [PHONE_ID, customer_key(CustomerRef(**other))]
    assert state.customer_of_case("CASE-1") == PHONE_ID
    assert len(output.case_links) == 1


@pytest.mark.parametrize(
    ("case_id", "customer", "reason"),
    [
        (None, None, UnattributedReason.NO_CUSTOMER),
        (None, {"phone": "not a number"}, UnattributedReason.NO_CUSTOMER),
        ("CASE-unknown", None, UnattributedReason.UNKNOWN_CASE),
    ],
)
def test_events_with_no_customer_are_kept_as_unattributed(
    case_id: str | None, customer: dict[str, str] | None, reason: UnattributedReason
) -> None:
    event = call_received(occurred_at=T0, customer=customer, case_id=case_id)

    state, output = reduce(EMPTY, RecordedEvent(3, event), customer_key)

    assert output.entries == () and state == EMPTY
    assert [(u.position, u.event_id, u.reason, u.case_id) for u in output.unattributed] == [
        (3, str(event.event_id), reason, case_id)
    ]


def test_the_key_function_is_injected() -> None:
    def by_number(customer: CustomerRef) -> str | None:
        return f"resolved-{customer.customer_number}" if customer.customer_number else None

    events = recorded([
        case_opened(occurred_at=T0, customer={"customer_number": "C1", "phone": PHONE["phone"]}, case_id="K"),
        case_note_added(occurred_at=T0, case_id="K"),
        call_received(occurred_at=T0, customer=PHONE),
    ])

    _, output = fold(events, by_number)

    assert [e.customer_id for e in output.entries] == ["resolved-C1", "resolved-C1"]
    assert [u.position for u in output.unattributed] == [3]


def test_folding_is_deterministic_and_equals_chained_reduce() -> None:
    events = _story()

    first, second = fold(events, customer_key), fold(events, customer_key)
    state, outputs = EMPTY, []
    for event in events:
        state, output = reduce(state, event, customer_key)
        outputs.append(output)

    assert first == second
    assert first[0] == state
    assert first[1].entries == tuple(e for o in outputs for e in o.entries)


def test_state_is_immutable() -> None:
    state, _ = fold(_story(), customer_key)

    with pytest.raises(TypeError):
        state.cases["CASE-1"] = "someone else"  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.cases = {}  # type: ignore[misc]


def test_a_national_id_never_appears_in_clear() -> None:
    protector = IdentifierProtector(b"k")
    customer = protector.protect(CustomerRef(national_id="a123 456 789"))
    event = visit_checked_in(occurred_at=T0, customer=customer, case_id="CASE-9")

    state, output = fold(recorded([event]), customer_key)

    assert "123456789" not in repr(output) + repr(state)


def test_a_clear_national_id_that_slipped_through_is_not_used() -> None:
    event = visit_checked_in(occurred_at=T0, customer={"national_id": "A123456789"})

    _, output = fold(recorded([event]), customer_key)

    assert output.entries == ()
    assert "A123456789" not in repr(output)


def test_needed_case_ids_and_unapplied() -> None:
    events = _story()

    assert needed_case_ids(events) == {"CASE-1", "CASE-2"}
    assert [e.position for e in unapplied([events[3], events[1], events[3], events[2]], after=1)] == [2, 3, 4]
    assert unapplied(events, after=len(events)) == []


def test_epoch_us_needs_an_aware_datetime() -> None:
    assert epoch_us(datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC)) == 1
    with pytest.raises(ValueError, match="aware"):
        epoch_us(datetime(2026, 1, 1))


@settings(max_examples=50, deadline=None)
@given(st.integers(min_value=0, max_value=8))
def test_folding_in_batches_equals_folding_at_once(split: int) -> None:
    events = _story()

    state, whole = fold(events, customer_key)
    middle, head = fold(events[:split], customer_key)
    end, tail = fold(events[split:], customer_key, middle)

    assert end == state
    assert head.entries + tail.entries == whole.entries
    assert head.unattributed + tail.unattributed == whole.unattributed


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=7), max_size=8))
def test_the_state_of_the_needed_cases_is_enough(picked: list[int]) -> None:
    events = _story()
    batch = recorded([events[i].event for i in picked], start=100)
    known, _ = fold(events, customer_key)
    full = TimelineState({**known.cases, "CASE-OTHER": "someone"})
    partial = TimelineState({c: full.cases[c] for c in needed_case_ids(batch) if c in full.cases})

    assert fold(batch, customer_key, partial)[1] == fold(batch, customer_key, full)[1]


def _story() -> list[RecordedEvent]:
    email = {"email": "li@example.com"}
    return recorded([
        case_opened(occurred_at=T0, customer=PHONE, case_id="CASE-1"),
        call_received(occurred_at=T0 + timedelta(minutes=1), customer=PHONE),
        case_note_added(occurred_at=T0 + timedelta(minutes=2), case_id="CASE-1"),
        case_note_added(occurred_at=T0 + timedelta(minutes=3), case_id="CASE-2"),
        web_request(occurred_at=T0 + timedelta(minutes=3), customer=email),
        case_opened(occurred_at=T0 + timedelta(minutes=4), customer=email, case_id="CASE-2"),
        case_note_added(occurred_at=T0 + timedelta(minutes=5), case_id="CASE-2"),
        visit_checked_in(occurred_at=T0 + timedelta(minutes=6)),
    ])


def test_organisational_facts_stay_off_timelines_and_are_no_anomaly() -> None:
    from contracts import SlaPolicyPublished

    policy = SlaPolicyPublished.example()
    assert policy.CONCERNS_A_CUSTOMER is False
    _, output = fold([RecordedEvent(1, policy)], customer_key)
    assert output == TimelineOutput()
