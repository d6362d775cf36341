"""Identity resolution rules on the in-memory stores: merges, shared identifiers, refusals, explicit link/unlink."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts import CustomerRef, Envelope
from domain.identity.graph import DecisionKind, IdentityGraph, Sighting
from domain.identity.identifiers import (
    Identifier,
    IdentifierKind,
    IdentifierProtector,
    customer_id_for,
    customer_key,
    identifiers_of,
    normalise,
)
from domain.intake import protect
from projections.customers.memory import MemoryCustomerStore
from projections.customers.queries import anchors_of
from projections.timeline.memory import MemoryTimelineStore
from tests.support.builders import call_received, make_event, recorded, visit_checked_in, web_request

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
PROTECTOR = IdentifierProtector(b"test-key")
PHONE, EMAIL, NATIONAL = "13800138000", "Li.Na@Example.cn", "110101199003071234"


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def node(kind: IdentifierKind, raw: str) -> str:
    return customer_id_for(normalise(kind, raw, PROTECTOR))


def link(*identifiers: tuple[str, str], minutes: int, verified: bool = True, reason: str = "confirmed") -> Envelope:
    return make_event("identity.identifiers_linked", occurred_at=at(minutes), payload={
        "identifiers": [{"kind": k, "value": v} for k, v in identifiers], "reason": reason, "verified": verified})


def unlink(identifier: tuple[str, str], source: tuple[str, str], minutes: int) -> Envelope:
    return make_event("identity.identifiers_unlinked", occurred_at=at(minutes), payload={
        "identifier": {"kind": identifier[0], "value": identifier[1]},
        "from_identifier": {"kind": source[0], "value": source[1]}, "reason": "wrong person"})


class World:
    """The customers and timeline projections fed the same events, as the projector does."""

    def __init__(self, threshold: int = 1) -> None:
        self.customers = MemoryCustomerStore(threshold)
        self.timeline = MemoryTimelineStore()
        self.log: list[Envelope] = []

    def add(self, *events: Envelope) -> None:
        start = len(self.log) + 1
        protected = [protect(e, PROTECTOR) for e in events]
        self.log.extend(protected)
        batch = recorded(protected, start=start)
        self.customers.apply(batch)
        self.timeline.apply(batch)

    def customer(self, kind: IdentifierKind, raw: str) -> str:
        found = self.customers.resolve(node(kind, raw))
        assert found is not None
        return found

    def timeline_of(self, customer_id: str) -> list[str]:
        page = self.timeline.page(anchors_of(self.customers, customer_id), limit=500)
        return [e.event_id for e in page.entries]


def test_call_then_confirmed_email_then_national_id_at_the_front_desk_is_one_customer_with_one_timeline() -> None:
    world = World()
    call = call_received(occurred_at=at(0), customer={"phone": PHONE}, channel="phone", department="hotline")
    web = web_request(occurred_at=at(30), customer={"email": EMAIL}, channel="web", department="web")
    world.add(call, web)
    assert world.customer(IdentifierKind.PHONE, PHONE) != world.customer(IdentifierKind.EMAIL, EMAIL)

    confirm = link(("phone", PHONE), ("email", EMAIL), minutes=40, reason="e-mail confirmed on the call")
    visit = visit_checked_in(occurred_at=at(60), customer={"national_id": NATIONAL, "phone": "+86 138 0013 8000"},
                             channel="front_desk", department="frontdesk")
    world.add(confirm, visit)

    customer = world.customer(IdentifierKind.PHONE, PHONE)
    assert customer == node(IdentifierKind.PHONE, PHONE)  # the oldest identifier names the customer
    assert world.customer(IdentifierKind.EMAIL, EMAIL) == customer
    assert world.customer(IdentifierKind.NATIONAL_ID, NATIONAL) == customer
    assert world.timeline_of(customer) == [str(e.event_id) for e in (call, web, visit)]
    kinds = [d.kind for d in world.customers.decisions(customer)]
    assert kinds == [DecisionKind.MERGED, DecisionKind.MERGED]
    lineage = world.customers.decisions(customer)
    assert lineage[0].event_id == str(confirm.event_id) and "linked by agent" in lineage[0].reason
    assert lineage[1].event_id == str(visit.event_id) and lineage[1].others == (node(IdentifierKind.NATIONAL_ID,
                                                                                     NATIONAL),)


def test_a_later_merge_rehomes_earlier_events_in_order() -> None:
    world = World()
    events = [
        web_request(occurred_at=at(5), customer={"email": EMAIL}),
        call_received(occurred_at=at(0), customer={"phone": PHONE}),
        web_request(occurred_at=at(20), customer={"email": EMAIL}),
        call_received(occurred_at=at(10), customer={"phone": PHONE}),
    ]
    world.add(*events)
    world.add(link(("email", EMAIL), ("phone", PHONE), minutes=30))
    merged = world.customer(IdentifierKind.EMAIL, EMAIL)
    assert merged == node(IdentifierKind.EMAIL, EMAIL)  # first seen (log position 1)
    assert world.timeline_of(merged) == [str(events[i].event_id) for i in (1, 0, 3, 2)]
    # An id handed out before the merge is followed to the customer it belongs to now.
    assert world.timeline_of(node(IdentifierKind.PHONE, PHONE)) == world.timeline_of(merged)


def test_two_companies_sharing_a_switchboard_are_not_merged_and_the_switchboard_is_reported() -> None:
    world = World()
    switchboard = "021-6288 0000"
    a = call_received(occurred_at=at(0), customer={"customer_number": "ACME-1", "phone": switchboard})
    a_again = call_received(occurred_at=at(1), customer={"phone": switchboard})
    b = call_received(occurred_at=at(2), customer={"customer_number": "BETA-7", "phone": switchboard})
    anonymous = call_received(occurred_at=at(3), customer={"phone": switchboard})
    world.add(a, a_again, b, anonymous)

    acme = world.customer(IdentifierKind.CUSTOMER_NUMBER, "ACME-1")
    beta = world.customer(IdentifierKind.CUSTOMER_NUMBER, "BETA-7")
    assert acme != beta
    shared_node = node(IdentifierKind.PHONE, switchboard)
    assert world.customer(IdentifierKind.PHONE, switchboard) == shared_node  # detached: its own, not a company's
    (report,) = world.customers.shared()
    assert report.node_id == shared_node and report.kind == "phone" and report.customers == tuple(sorted((acme, beta)))
    assert "*" in report.display and switchboard.replace(" ", "").replace("-", "") not in report.display
    assert world.timeline_of(acme) == [str(a.event_id)]
    assert world.timeline_of(beta) == [str(b.event_id)]
    assert world.timeline_of(shared_node) == [str(a_again.event_id), str(anonymous.event_id)]
    assert DecisionKind.SHARED in [d.kind for d in world.customers.decisions()]


def test_a_weak_identifier_never_merges_two_known_customers() -> None:
    world = World()
    world.add(web_request(occurred_at=at(0), customer={"email": EMAIL}),
              call_received(occurred_at=at(1), customer={"phone": PHONE}),
              web_request(occurred_at=at(2), customer={"email": EMAIL, "phone": PHONE}))
    assert world.customer(IdentifierKind.EMAIL, EMAIL) != world.customer(IdentifierKind.PHONE, PHONE)
    refused = [d for d in world.customers.decisions() if d.kind == DecisionKind.REFUSED]
    assert [d.node_id for d in refused] == [node(IdentifierKind.PHONE, PHONE)]
    assert world.customers.shared() == []  # maybe one person: a refused link to confirm, not a shared phone


def test_a_new_identifier_attaches_to_the_known_customer_it_arrives_with() -> None:
    world = World()
    world.add(call_received(occurred_at=at(0), customer={"phone": PHONE}),
              web_request(occurred_at=at(1), customer={"email": EMAIL, "phone": PHONE}),
              make_event("repair.order_opened", occurred_at=at(2), customer={"device_serial": "SN-99", "email": EMAIL}))
    customer = world.customer(IdentifierKind.PHONE, PHONE)
    assert world.customer(IdentifierKind.EMAIL, EMAIL) == customer
    assert world.customer(IdentifierKind.DEVICE_SERIAL, "SN-99") == customer
    assert len(world.timeline_of(customer)) == 3


def test_different_customer_numbers_merge_only_when_an_agent_links_them() -> None:
    world = World()
    world.add(call_received(occurred_at=at(0), customer={"customer_number": "C1", "email": EMAIL}),
              call_received(occurred_at=at(1), customer={"customer_number": "C2"}),
              call_received(occurred_at=at(2), customer={"customer_number": "C2", "email": EMAIL}))
    assert world.customer(IdentifierKind.CUSTOMER_NUMBER, "C1") != world.customer(IdentifierKind.CUSTOMER_NUMBER, "C2")
    world.add(link(("customer_number", "C1"), ("customer_number", "C2"), minutes=5, reason="duplicate account"))
    assert world.customer(IdentifierKind.CUSTOMER_NUMBER, "C1") == world.customer(IdentifierKind.CUSTOMER_NUMBER, "C2")


def test_unlink_restores_both_timelines_exactly_and_equals_a_rebuild_from_zero() -> None:
    world = World()
    world.add(call_received(occurred_at=at(0), customer={"phone": PHONE}),
              web_request(occurred_at=at(1), customer={"email": EMAIL}),
              call_received(occurred_at=at(2), customer={"phone": PHONE}))
    phone_id, email_id = world.customer(IdentifierKind.PHONE, PHONE), world.customer(IdentifierKind.EMAIL, EMAIL)
    before = {c: world.timeline_of(c) for c in (phone_id, email_id)}
    members_before = {c: world.customers.members(c) for c in (phone_id, email_id)}

    world.add(link(("phone", PHONE), ("email", EMAIL), minutes=3, verified=False, reason="agent guessed"))
    assert world.customer(IdentifierKind.EMAIL, EMAIL) == phone_id
    world.add(unlink(("email", EMAIL), ("phone", PHONE), minutes=4))

    after = {c: world.timeline_of(c) for c in (phone_id, email_id)}
    assert after == before
    assert world.customer(IdentifierKind.EMAIL, EMAIL) == email_id
    assert {c: world.customers.members(c) for c in (phone_id, email_id)} == members_before
    split = [d for d in world.customers.decisions() if d.kind == DecisionKind.SPLIT]
    assert [(d.customer_id, d.others) for d in split] == [(phone_id, (phone_id, email_id))]

    rebuilt = World()
    rebuilt.add(*world.log)
    assert rebuilt.customers.checksum() == world.customers.checksum()
    assert {c: rebuilt.timeline_of(c) for c in (phone_id, email_id)} == before

    # The unlink holds: an ordinary event carrying both does not rejoin them; an explicit link does.
    world.add(web_request(occurred_at=at(5), customer={"email": EMAIL, "phone": PHONE}))
    assert world.customer(IdentifierKind.EMAIL, EMAIL) == email_id
    world.add(link(("phone", PHONE), ("email", EMAIL), minutes=6, reason="verified with ID card"))
    assert world.customer(IdentifierKind.EMAIL, EMAIL) == phone_id


def test_national_ids_reach_the_graph_only_as_digests() -> None:
    world = World()
    world.add(visit_checked_in(occurred_at=at(0), customer={"national_id": NATIONAL}))
    (member,) = world.customers.members(world.customer(IdentifierKind.NATIONAL_ID, NATIONAL))
    assert member.display == "**************1234"
    assert NATIONAL not in repr(world.customers._rows.tables())  # noqa: SLF001 - the rows the checksum covers


IDENTIFIERS = [("phone", "1380013800" + str(i)) for i in range(3)] + [
    ("email", f"u{i}@example.cn") for i in range(3)] + [("customer_number", f"C{i}") for i in range(2)]


def _event(choice: tuple[str, list[int], int], minutes: int) -> Envelope:
    kind, picks, flag = choice
    chosen = [IDENTIFIERS[i] for i in dict.fromkeys(picks)]
    if kind == "link" and len(chosen) >= 2:
        return link(*chosen, minutes=minutes, verified=bool(flag))
    if kind == "unlink" and len(chosen) >= 2:
        return unlink(chosen[0], chosen[1], minutes)
    customer: dict[str, Any] = {}
    for k, v in chosen:
        customer.setdefault(k, v)
    return call_received(occurred_at=at(minutes), customer=customer)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["event", "event", "link", "unlink"]),
                          st.lists(st.integers(0, len(IDENTIFIERS) - 1), min_size=1, max_size=3),
                          st.integers(0, 1)), min_size=1, max_size=40),
       st.integers(1, 7))
def test_any_batching_gives_the_same_customers_and_the_graph_stays_consistent(
    choices: list[tuple[str, list[int], int]], batch: int
) -> None:
    events = [protect(_event(c, i), PROTECTOR) for i, c in enumerate(choices)]
    whole, batched = MemoryCustomerStore(), MemoryCustomerStore()
    whole.apply(recorded(events))
    log = recorded(events)
    for start in range(0, len(log), batch):
        batched.apply(log[start : start + batch])
    assert whole.checksum() == batched.checksum()
    graph: IdentityGraph = whole._graph  # noqa: SLF001 - invariants of the state itself
    for customer_id, members in graph.members.items():
        assert customer_id in members
        assert customer_id == min(members, key=lambda n: graph.nodes[n].age)
        assert all(graph.nodes[n].customer_id == customer_id for n in members)
        assert all(graph.nodes[e.a].customer_id == customer_id == graph.nodes[e.b].customer_id
                   for e in graph.edges[customer_id])
    assert all(len(graph.members[n.node_id]) == 1 for n in graph.nodes.values() if n.shared)


def test_a_sighting_is_keyed_by_the_same_id_the_read_models_store() -> None:
    sighting = Sighting(Identifier(IdentifierKind.PHONE, "+8613800138000"), "+86****8000")
    assert sighting.node_id == customer_id_for(normalise(IdentifierKind.PHONE, PHONE))


def test_customer_keys_are_memoised_by_the_reference_itself_and_by_its_value() -> None:
    first, equal = CustomerRef(phone="+86 138 0013 8000"), CustomerRef(phone="+86 138 0013 8000")
    customer_key.cache_clear()
    assert customer_key(first) == customer_key(first) == customer_key(equal) == customer_id_for(
        identifiers_of(first)[0])
    info = customer_key.cache_info()
    assert (info.misses, info.hits) == (1, 1)  # the same object again is found by identity, an equal one by value
    customer_key.cache_clear()
    assert customer_key.cache_info().currsize == 0
