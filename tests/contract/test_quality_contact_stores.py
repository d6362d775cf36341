"""Contacts store contract: the memory, SQLite and Postgres stores hold the same facts (equal checksums), give the
generated log's known answers, and a rebuild from zero equals the store applied batch by batch."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from domain.log import RecordedEvent
from projections.contacts import ContactsStore
from projections.contacts.memory import MemoryContactsStore
from projections.contacts.sql import SqlContactsStore
from projections.sqlstore import make_engine, url_with_search_path
from tests.support.quality_contacts_check import check_all, views
from tests.support.quality_contacts_data import NOW, generate

pytestmark = pytest.mark.contract

DATA = generate(cases=90, key_accounts=6, seed=5)


def in_batches(store: ContactsStore, events: list[RecordedEvent], size: int = 37) -> None:
    for start in range(0, len(events), size):
        store.apply(events[start : start + size])


def reference(events: list[RecordedEvent]) -> str:
    store = MemoryContactsStore()
    store.apply(events)
    return store.checksum()


class ContactsStoreContract:
    @pytest.fixture
    def store(self) -> ContactsStore:
        raise NotImplementedError

    def test_a_fresh_store_is_empty(self, store: ContactsStore) -> None:
        store.create()  # idempotent

        assert (store.name, store.position(), store.facts()) == ("contacts", 0, [])
        assert store.checksum() == MemoryContactsStore().checksum()

    def test_batches_give_the_known_answers_and_the_reference_checksum(self, store: ContactsStore) -> None:
        events = DATA.recorded()

        in_batches(store, events)

        assert store.position() == len(events)
        assert store.checksum() == reference(events)
        check_all(views(store, events), DATA, events)

    def test_events_at_or_below_the_position_are_skipped(self, store: ContactsStore) -> None:
        events = DATA.recorded()
        store.apply(events[:100])

        assert store.apply(events[:150]) == 150
        assert store.apply(events[:120]) == 150
        store.apply(events[150:])
        assert store.checksum() == reference(events)

    def test_a_rebuild_from_zero_equals_the_store_applied_in_batches(self, store: ContactsStore) -> None:
        events = DATA.recorded()
        in_batches(store, events)
        live = store.checksum()

        store.reset()
        assert (store.position(), store.facts()) == (0, [])
        store.apply(events)

        assert store.checksum() == live

    def test_views_as_of_an_earlier_instant_see_only_what_had_occurred(self, store: ContactsStore) -> None:
        events = DATA.recorded()
        store.apply(events)
        then = NOW - timedelta(days=20)
        earlier = MemoryContactsStore()
        earlier.apply([r for r in events if r.event.occurred_at <= then])

        now_store, then_store = views(store, events, then), views(earlier, events, then)

        assert now_store.fcr() == then_store.fcr()
        assert now_store.proactive() == then_store.proactive()
        assert now_store.staff() == then_store.staff()
        assert now_store.fcr() != views(store, events).fcr()


class TestMemoryContactsStore(ContactsStoreContract):
    @pytest.fixture
    def store(self) -> ContactsStore:
        return MemoryContactsStore()


class TestSqliteContactsStore(ContactsStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[ContactsStore]:
        engine = make_engine(f"sqlite:///{tmp_path / 'views.db'}")
        store = SqlContactsStore(engine)
        store.create()
        yield store
        engine.dispose()


class TestPostgresContactsStore(ContactsStoreContract):
    @pytest.fixture
    def store(self, postgres_url: str, pg_schema: str) -> Iterator[ContactsStore]:
        engine = make_engine(url_with_search_path(postgres_url, pg_schema))
        store = SqlContactsStore(engine)
        store.create()
        yield store
        engine.dispose()
