"""The recorded event's id as text and instant in epoch microseconds: worked out once, never part of what it is."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime

import pytest

from domain.instants import epoch_us
from domain.log import RecordedEvent
from tests.support.builders import make_event

pytestmark = pytest.mark.unit


def test_the_id_and_instant_are_those_of_the_event_and_leave_equality_and_hashing_alone() -> None:
    event = make_event("call.received", occurred_at=datetime(2026, 3, 2, 9, 30, 0, 250, tzinfo=UTC),
                       department="card_centre", channel="phone",
                       payload={"call_id": "c-1", "direction": "inbound", "answered_by": "agent"})
    fresh, asked = RecordedEvent(7, event), RecordedEvent(7, event)
    assert (asked.event_id, asked.occurred_us) == (str(event.event_id), epoch_us(event.occurred_at))
    assert asked.event_id is asked.event_id  # worked out once
    assert asked == fresh and hash(asked) == hash(fresh) and repr(asked) == repr(fresh)
    copied = pickle.loads(pickle.dumps(asked))
    assert copied == fresh and copied.event_id == str(event.event_id)
