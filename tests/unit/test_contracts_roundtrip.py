"""Property: for any valid event, parse(to_canonical_json(event)) == event (hypothesis over several types)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts import (
    CallbackPromised,
    CallbackPromisedPayload,
    CallEnded,
    CallEndedPayload,
    CaseHandedOff,
    CaseHandedOffPayload,
    Channel,
    CustomerIdentifier,
    CustomerRef,
    Envelope,
    IdentifierKind,
    IdentityIdentifiersLinked,
    IdentityIdentifiersLinkedPayload,
    ServqualDimension,
    ServqualItem,
    Source,
    SurveyServqualAnswered,
    SurveyServqualAnsweredPayload,
    parse,
    to_canonical_json,
)

pytestmark = pytest.mark.unit

# Mixed Chinese/English/emoji/whitespace text; NUL and lone surrogates are invalid on the wire and excluded.
_chars = st.one_of(
    st.characters(codec="utf-8", exclude_characters="\x00"),
    st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),
    st.sampled_from(" \n\t，。「」"),
)
labels = st.text(_chars, min_size=1, max_size=40).filter(lambda s: s.strip() != "")
texts = st.text(_chars, min_size=1, max_size=300).filter(lambda s: s.strip() != "")
departments = st.from_regex(r"[a-z][a-z0-9_-]{0,20}", fullmatch=True)
offsets = st.sampled_from([UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5, minutes=-30))])
instants = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=offsets)

sources = st.builds(
    Source,
    department=departments,
    channel=st.sampled_from(Channel),
    system=st.none() | labels,
    site=st.none() | labels,
    agent=st.none() | labels,
)
customers = st.builds(
    CustomerRef,
    customer_number=st.none() | labels,
    phone=st.none() | labels,
    email=st.none() | labels,
    national_id_digest=st.none() | st.from_regex(r"[0-9a-f]{64}", fullmatch=True),
    messaging_id=st.none() | labels,
)


def envelopes(
    cls: type[Envelope], payloads: st.SearchStrategy[object], case_id: bool = False
) -> st.SearchStrategy:
    return st.builds(
        cls,
        event_id=st.uuids(),
        occurred_at=instants,
        source=sources,
        customer=customers,
        case_id=labels if case_id else st.none() | labels,
        correlation_id=st.none() | labels,
        causation_id=st.none() | labels,
        payload=payloads,
    )


callbacks = st.builds(CallbackPromisedPayload, promise_id=labels, due_at=instants, reason=texts)


@st.composite
def handoffs(draw: st.DrawFn) -> CaseHandedOffPayload:
    sender = draw(departments)
    receiver = draw(departments.filter(lambda d: d != sender))
    return CaseHandedOffPayload(
        from_department=sender, to_department=receiver, reason=draw(texts), context_summary=draw(texts)
    )


@st.composite
def calls(draw: st.DrawFn) -> CallEndedPayload:
    duration = draw(st.integers(0, 36_000))
    outcome = draw(st.sampled_from(["resolved", "follow_up", "transferred", "abandoned"]))
    return CallEndedPayload(
        call_id=draw(labels),
        duration_seconds=duration,
        outcome=outcome,
        ivr_seconds=draw(st.none() | st.integers(0, duration)),
        transferred_from_ivr_to_agent=draw(st.booleans()),
        transferred_to_department=draw(departments if outcome == "transferred" else st.none() | departments),
    )


@st.composite
def surveys(draw: st.DrawFn) -> SurveyServqualAnsweredPayload:
    items = []
    for dimension in ServqualDimension:
        for n in range(draw(st.integers(1, 4))):
            scores = st.integers(1, 7)
            items.append(
                ServqualItem(dimension=dimension, item=f"{dimension.value}-{n}", expectation=draw(scores),
                             perception=draw(scores))
            )  # fmt: skip
    return SurveyServqualAnsweredPayload(survey_id=draw(labels), items=tuple(draw(st.permutations(items))))


identifiers = st.builds(CustomerIdentifier, kind=st.sampled_from(IdentifierKind), value=labels)
links = st.builds(
    IdentityIdentifiersLinkedPayload,
    identifiers=st.lists(identifiers, min_size=2, max_size=6, unique=True).map(tuple),
    reason=texts,
    verified=st.booleans(),
)

events = st.one_of(
    envelopes(CallbackPromised, callbacks),
    envelopes(CaseHandedOff, handoffs(), case_id=True),
    envelopes(CallEnded, calls()),
    envelopes(SurveyServqualAnswered, surveys()),
    envelopes(IdentityIdentifiersLinked, links),
)


@settings(database=None, max_examples=300, deadline=None)
@given(events)
def test_canonical_json_round_trips_exactly(event: Envelope) -> None:
    raw = to_canonical_json(event)
    again = parse(raw)
    assert again == event
    assert to_canonical_json(again) == raw
    assert again.summary()


@settings(database=None, max_examples=100, deadline=None)
@given(envelopes(CallbackPromised, callbacks))
def test_offsets_are_kept_as_given(event: CallbackPromised) -> None:
    again = parse(to_canonical_json(event))
    assert isinstance(again, CallbackPromised)
    assert again.occurred_at.utcoffset() == event.occurred_at.utcoffset()
    assert again.payload.due_at.utcoffset() == event.payload.due_at.utcoffset()
