"""Repeat contacts follow the customer, not only the identifier a case was filed under: a front-desk visit that
carries a national ID and the phone a case was opened by is a repeat contact on that case."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from contracts import CustomerRef
from domain.identity.identifiers import IdentifierProtector, customer_key
from domain.log import RecordedEvent
from projections.cases import ContactQuery, fold
from projections.cases.memory import MemoryCasesStore
from projections.cases.sql import SqlCasesStore
from projections.customers.memory import MemoryCustomerStore
from projections.sqlstore import make_engine
from tests.support.builders import call_received, case_opened, recorded, visit_checked_in

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
PHONE = "13800138000"
PROTECTED = IdentifierProtector(b"test-key").protect(CustomerRef(national_id="310104198806152426", phone=PHONE))


def story() -> list[RecordedEvent]:
    linked = call_received(occurred_at=T0 - timedelta(days=30), customer=PROTECTED)  # phone + national ID: one
    call = call_received(occurred_at=T0, customer={"phone": PHONE})
    opened = case_opened(occurred_at=T0 + timedelta(minutes=1), customer={"phone": PHONE}, case_id="CASE-P-1",
                         payload={"segment": None})
    visit = visit_checked_in(occurred_at=T0 + timedelta(days=2), customer=PROTECTED)
    return recorded([linked, call, opened, visit])


def test_the_identifiers_resolve_to_one_customer_and_the_visit_is_anchored_elsewhere() -> None:
    events = story()
    customers = MemoryCustomerStore()
    customers.apply(events)
    visit_anchor, case_anchor = customer_key(PROTECTED), customer_key(CustomerRef(phone=PHONE))

    assert visit_anchor != case_anchor
    assert customers.resolve(visit_anchor or "") == customers.resolve(case_anchor or "") is not None


def test_a_visit_with_national_id_and_phone_is_a_repeat_contact_on_the_case_opened_by_phone() -> None:
    events = story()

    case = fold(events, customer_key, {})["CASE-P-1"]

    assert [(c.event_type, c.via) for c in case.contacts] == [("frontdesk.visit_checked_in", "customer")]


def test_the_stores_count_it_too() -> None:
    store = MemoryCasesStore()
    store.apply(story())

    assert [c.event_type for c in store.contacts(ContactQuery())] == ["frontdesk.visit_checked_in"]


def test_the_sql_store_counts_it_too(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'views.db'}")
    store = SqlCasesStore(engine)
    store.create()
    store.apply(story()[:3])
    store.apply(story()[3:])  # the visit alone in its batch: the case is loaded through the phone it carries

    assert [c.event_type for c in store.contacts(ContactQuery())] == ["frontdesk.visit_checked_in"]
    engine.dispose()
