"""Demo data: every event valid, ids stable, times in the past, the seed stories shaped as told."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from contracts import CaseHandedOff, Envelope, parse, to_canonical_json
from services.application.demo import DEMO_DEPARTMENTS, demo_events, demo_stories, publish_demo

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
# Just after, just before midnight in Shanghai, and a non-UTC offset.
NOWS = [NOW, datetime(2026, 11, 24, 16, 0, 1, tzinfo=UTC), datetime(2026, 3, 1, 15, 59, tzinfo=UTC),
        datetime(2026, 7, 4, 9, 0, tzinfo=timezone(timedelta(hours=-5)))]
CHANNEL_OF = {"frontdesk.": "front_desk", "call.": "phone", "web.": "web", "survey.": "web"}


class CollectingPublisher:
    def __init__(self) -> None:
        self.calls: list[list[Envelope]] = []

    def publish(self, events: list[Envelope]) -> None:
        self.calls.append(list(events))


def test_every_demo_event_round_trips_through_the_wire_format() -> None:
    for event in demo_events(NOW):
        assert parse(to_canonical_json(event)) == event


def test_event_ids_are_unique_and_stable() -> None:
    first, second = demo_events(NOW), demo_events(NOW)
    ids = [event.event_id for event in first]
    assert len(set(ids)) == len(ids)
    assert ids == [event.event_id for event in second]
    assert first == second
    assert {event.event_id for event in demo_events(NOW + timedelta(days=3))} == set(ids)


@pytest.mark.parametrize("now", NOWS)
def test_everything_happened_before_now_in_shanghai_time(now: datetime) -> None:
    events = demo_events(now)
    assert all(event.occurred_at < now for event in events)
    assert all(event.occurred_at.utcoffset() == timedelta(hours=8) for event in events)
    assert [event.occurred_at for event in events] == sorted(event.occurred_at for event in events)


def test_each_story_is_told_in_order() -> None:
    for name, events in demo_stories(NOW).items():
        times = [event.occurred_at for event in events]
        assert times == sorted(times), name
        assert 5 <= len(events) <= 20, name


def test_credit_card_story_crosses_three_departments_with_two_handoffs() -> None:
    story = demo_stories(NOW)["credit-card"]
    assert {event.source.department for event in story} == {"loan", "card_centre", "approval_office"}
    handoffs = [event.payload for event in story if isinstance(event, CaseHandedOff)]
    assert [(h.from_department, h.to_department) for h in handoffs] == [
        ("loan", "card_centre"), ("card_centre", "approval_office")]
    assert all(h.reason and h.context_summary for h in handoffs)
    types = [event.event_type for event in story]
    assert types.count("call.received") == 3
    assert len({event.source.agent for event in story if event.event_type == "call.received"}) == 3
    assert types.count("callback.promised") == 2 and "callback.made" not in types
    assert {"case.opened", "case.escalated", "complaint.filed", "case.resolved"} <= set(types)
    assert len({event.case_id for event in story if event.event_type.startswith("case.")}) == 1


def test_every_department_is_a_demo_department() -> None:
    for event in demo_events(NOW):
        assert event.source.department in DEMO_DEPARTMENTS, event.event_type
        for name in ("from_department", "to_department", "department", "host_department",
                     "transferred_to_department"):
            value = getattr(event.payload, name, None)
            assert value is None or value in DEMO_DEPARTMENTS, (event.event_type, name)


def test_channels_match_the_touchpoints() -> None:
    for event in demo_events(NOW):
        for prefix, channel in CHANNEL_OF.items():
            if event.event_type.startswith(prefix):
                assert event.source.channel == channel, event.event_type


def test_exactly_one_event_carries_an_18_digit_national_id() -> None:
    ids = [event.customer.national_id for event in demo_events(NOW) if event.customer.national_id]
    assert len(ids) == 1
    assert re.fullmatch(r"\d{17}[\dX]", ids[0])


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError):
        demo_events(datetime(2026, 11, 25, 11, 0))  # naive on purpose


def test_publish_demo_publishes_every_event_once_in_one_call() -> None:
    publisher = CollectingPublisher()
    count = publish_demo(publisher)
    assert len(publisher.calls) == 1
    published = publisher.calls[0]
    assert count == len(published) == len(demo_events(NOW))
    assert len({event.event_id for event in published}) == count
    assert {event.event_id for event in published} == {event.event_id for event in demo_events(NOW)}
