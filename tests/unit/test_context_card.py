"""The context card's shaping and the segment rules, on in-memory read models (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from contracts import Envelope
from domain.identity.identifiers import IdentifierKind, customer_id_for, normalise
from domain.identity.segments import SegmentFacts, parse_rules, segment_of
from projections.cases.memory import MemoryCasesStore
from projections.customers.card import CardSettings
from projections.customers.memory import MemoryCustomerStore
from projections.timeline.memory import MemoryTimelineStore
from services.application.customers import CustomerViews
from tests.support.builders import call_received, case_opened, make_event, recorded, visit_checked_in, web_request

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
RULES = parse_rules([{"name": "key_account", "declared": ["Key-Account"]},
                     {"name": "new", "first_contact_within_days": 90},
                     {"name": "loyal", "min_contacts_365d": 5}, {"name": "regular"}])


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def views_over(events: list[Envelope]) -> CustomerViews:
    log = recorded(events)
    directory, timeline, cases = MemoryCustomerStore(), MemoryTimelineStore(), MemoryCasesStore()
    for store in (directory, timeline, cases):
        store.apply(log)
    return CustomerViews(directory, timeline, cases, None, CardSettings(3, 90, RULES))


def test_a_third_visit_in_sixty_days_with_its_open_case_and_recent_interactions() -> None:
    me = {"phone": "13800138000"}
    events = [
        call_received(occurred_at=days_ago(200), customer=me),
        visit_checked_in(occurred_at=days_ago(59.5), customer=me, channel="front_desk"),
        web_request(occurred_at=days_ago(30), customer=me, channel="web"),
        case_opened(occurred_at=days_ago(29), customer=me, case_id="K-1", department="loan"),
        visit_checked_in(occurred_at=days_ago(10), customer=me, channel="front_desk"),
        make_event("complaint.filed", occurred_at=days_ago(5), customer=me),
        visit_checked_in(occurred_at=days_ago(0.01), customer=me, channel="front_desk"),
        call_received(occurred_at=days_ago(400), customer={"phone": "13900000000"}),
    ]
    views = views_over(events)
    resolved = views.resolve_identifier(normalise(IdentifierKind.PHONE, "13800138000"))
    assert resolved is not None and resolved.customer_id == customer_id_for(normalise(IdentifierKind.PHONE,
                                                                                      "13800138000"))
    card = views.card(resolved, NOW)
    assert card.recognition.text == "3rd visit in 60 days"
    assert card.recognition.visits == 3 and card.recognition.by_channel == {"front_desk": 3, "phone": 1, "web": 1}
    assert card.complaints_365d == 1
    assert [c.case_id for c in card.open_cases] == ["K-1"] and card.open_cases[0].holder == "loan"
    assert [e.event_type for e in card.recent] == ["frontdesk.visit_checked_in", "complaint.filed",
                                                   "frontdesk.visit_checked_in"]
    assert card.segment == "loyal"  # first contact 200 days ago, 5 contacts in the last year
    assert card.first_contact_at == days_ago(200)


def test_an_unknown_customer_has_no_card() -> None:
    assert views_over([call_received(occurred_at=NOW, customer={"phone": "13800138000"})]).resolve("nobody") is None


@pytest.mark.parametrize(("declared", "first_days", "contacts", "segment"), [
    (frozenset({"key-account"}), 400, 0, "key_account"),
    (frozenset(), 30, 9, "new"),
    (frozenset(), 120, 5, "loyal"),
    (frozenset(), 120, 4, "regular"),
    (frozenset(), None, 0, "regular"),
])
def test_segment_rules_apply_in_order(declared: frozenset[str], first_days: int | None, contacts: int,
                                      segment: str) -> None:
    first = None if first_days is None else int((days_ago(first_days) - datetime(1970, 1, 1, tzinfo=UTC))
                                                 / timedelta(microseconds=1))
    rule = segment_of(RULES, SegmentFacts(declared, first, contacts), NOW)
    assert rule is not None and rule.name == segment


def test_segment_rules_refuse_unknown_conditions() -> None:
    with pytest.raises(ValueError, match="unknown keys"):
        parse_rules([{"name": "vip", "min_spend": 1000}])
