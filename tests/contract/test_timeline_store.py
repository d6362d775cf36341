"""Timeline store contract: one suite, run against the in-memory, SQLite and Postgres implementations."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from domain.identity.identifiers import IdentifierKind, customer_id_for, customer_key, normalise
from domain.log import RecordedEvent
from projections.sqlstore import make_engine, url_with_search_path
from projections.timeline import TimelineEntry, fold, in_timeline_order
from projections.timeline.memory import MemoryTimelineStore
from projections.timeline.queries import InvalidCursor, TimelineStore
from projections.timeline.sql import SqlTimelineStore
from tests.support.builders import (
    call_received,
    case_note_added,
    case_opened,
    recorded,
    visit_checked_in,
    web_request,
)

pytestmark = pytest.mark.contract

TAIPEI = timezone(timedelta(hours=8))
T0 = datetime(2026, 11, 25, 9, 0, tzinfo=TAIPEI)
ALICE = {"phone": "+86 138-0013-8000"}
BOB = {"email": "bob@example.com"}
ALICE_ID = customer_id_for(normalise(IdentifierKind.PHONE, ALICE["phone"]))
BOB_ID = customer_id_for(normalise(IdentifierKind.EMAIL, BOB["email"]))


def story() -> list[RecordedEvent]:
    """Two customers over phone, web and front desk; Alice's case notes carry no identifiers."""
    minute = timedelta(minutes=1)
    return recorded([
        call_received(occurred_at=T0 + 5 * minute, customer=ALICE, department="customer-service"),
        web_request(occurred_at=T0, customer=ALICE, department="digital"),
        case_opened(occurred_at=T0 + 2 * minute, customer=ALICE, case_id="CASE-1", department="cards",
                    channel="phone"),
        case_note_added(occurred_at=T0 + 3 * minute, case_id="CASE-1", department="cards",
                        channel="internal"),
        web_request(occurred_at=T0 + minute, customer=BOB, department="digital"),
        visit_checked_in(occurred_at=T0 + 4 * minute, department="reception"),
        case_note_added(occurred_at=T0 + 2 * minute, case_id="CASE-unknown", department="cards",
                        channel="internal"),
        visit_checked_in(occurred_at=T0 + 6 * minute, customer=ALICE, department="reception"),
    ])


def expected(events: list[RecordedEvent], customer_id: str) -> list[TimelineEntry]:
    """The reference answer: the pure fold, one customer, in timeline order."""
    _, output = fold(events, customer_key)
    return in_timeline_order(e for e in output.entries if e.customer_id == customer_id)


def all_pages(store: TimelineStore, customer_id: str, **filters: object) -> list[TimelineEntry]:
    entries: list[TimelineEntry] = []
    cursor: str | None = None
    while True:
        page = store.page(customer_id, cursor=cursor, **filters)  # type: ignore[arg-type]
        entries.extend(page.entries)
        if page.next_cursor is None:
            return entries
        cursor = page.next_cursor


class TimelineStoreContract:
    """What every TimelineStore must do; subclasses provide a fresh, created `store`."""

    @pytest.fixture
    def store(self) -> TimelineStore:
        raise NotImplementedError

    def test_a_fresh_store_is_empty(self, store: TimelineStore) -> None:
        store.create()  # idempotent

        assert (store.name, store.position(), store.count_entries(), store.count_unattributed()) == (
            "timeline", 0, 0, 0)
        assert store.page(ALICE_ID).entries == ()

    def test_apply_then_page_in_time_order(self, store: TimelineStore) -> None:
        events = story()

        assert store.apply(events) == 8

        page = store.page(ALICE_ID)
        assert list(page.entries) == expected(events, ALICE_ID)
        assert [e.position for e in page.entries] == [2, 3, 4, 1, 8]
        assert page.next_cursor is None
        assert page.entries[0].occurred_at.utcoffset() == timedelta(hours=8)
        assert [e.position for e in store.page(BOB_ID).entries] == [5]
        assert (store.position(), store.count_entries(), store.count_unattributed()) == (8, 6, 2)

    def test_a_case_learned_in_one_batch_attributes_later_batches(self, store: TimelineStore) -> None:
        events = story()
        later = recorded([case_note_added(occurred_at=T0 + timedelta(hours=1), case_id="CASE-1")], start=9)

        store.apply(events[:4])
        store.apply(events[4:])
        store.apply(later)

        assert [e.position for e in store.page(ALICE_ID).entries] == [2, 3, 4, 1, 8, 9]

    def test_pagination_across_ties_yields_each_entry_once(self, store: TimelineStore) -> None:
        same_time = [call_received(occurred_at=T0, customer=ALICE) for _ in range(7)]
        events = recorded([*same_time, web_request(occurred_at=T0 - timedelta(seconds=1), customer=ALICE),
                           web_request(occurred_at=T0 + timedelta(microseconds=1), customer=ALICE)])
        store.apply(events)

        for limit in (1, 2, 3, 9, 50):
            seen = [e.position for e in all_pages(store, ALICE_ID, limit=limit)]
            assert seen == [8, 1, 2, 3, 4, 5, 6, 7, 9], limit

    def test_recent_is_newest_first_and_cut_before_until(self, store: TimelineStore) -> None:
        events = story()
        store.apply(events)
        in_order = [e.position for e in expected(events, ALICE_ID)]  # ascending by time

        assert [e.position for e in store.recent([ALICE_ID], 3)] == in_order[::-1][:3]
        third = expected(events, ALICE_ID)[2]
        before_third = [e.position for e in store.recent([ALICE_ID], 10, until=third.occurred_at)]
        assert before_third == in_order[:2][::-1]
        assert store.recent([ALICE_ID], 10, until=third.occurred_at + timedelta(microseconds=1))[0].position == \
            third.position

    def test_page_filters(self, store: TimelineStore) -> None:
        store.apply(story())

        def positions(**filters: object) -> list[int]:
            return [e.position for e in store.page(ALICE_ID, **filters).entries]  # type: ignore[arg-type]

        assert positions(channel="web") == [2]
        assert positions(department="cards") == [3, 4]
        assert positions(department="cards", channel="internal") == [4]
        assert positions(since=T0 + timedelta(minutes=3)) == [4, 1, 8]
        assert positions(until=T0 + timedelta(minutes=3)) == [2, 3]
        assert positions(since=T0 + timedelta(minutes=2), until=T0 + timedelta(minutes=5)) == [3, 4]
        assert positions(since=datetime(2026, 11, 25, 1, 3, tzinfo=UTC)) == [4, 1, 8]
        assert positions(channel="mail") == []

    def test_filters_combine_with_the_cursor(self, store: TimelineStore) -> None:
        store.apply(story())

        entries = all_pages(store, ALICE_ID, department="cards", limit=1)

        assert [e.position for e in entries] == [3, 4]

    def test_reapplying_a_batch_changes_nothing(self, store: TimelineStore) -> None:
        events = story()
        store.apply(events)
        before = (store.page(ALICE_ID), store.page(BOB_ID), store.count_entries(), store.count_unattributed())

        assert store.apply(events) == 8
        assert store.apply(events[2:5]) == 8

        after = (store.page(ALICE_ID), store.page(BOB_ID), store.count_entries(), store.count_unattributed())
        assert after == before

    def test_an_overlapping_batch_applies_only_what_is_new(self, store: TimelineStore) -> None:
        events = story()

        store.apply(events[:5])
        assert store.apply(list(reversed(events[3:]))) == 8

        assert list(store.page(ALICE_ID).entries) == expected(events, ALICE_ID)
        assert (store.count_entries(), store.count_unattributed()) == (6, 2)

    def test_reset_empties_for_a_rebuild(self, store: TimelineStore) -> None:
        events = story()
        store.apply(events)

        store.reset()

        assert (store.position(), store.count_entries(), store.count_unattributed()) == (0, 0, 0)
        assert store.page(ALICE_ID).entries == ()
        assert store.apply(events) == 8
        assert list(store.page(ALICE_ID).entries) == expected(events, ALICE_ID)

    def test_equal_content_gives_the_reference_checksum_whatever_the_batches(self, store: TimelineStore) -> None:
        events = story()
        reference = MemoryTimelineStore()
        assert store.checksum() == reference.checksum()
        reference.apply(events)
        store.apply(events[:3])
        store.apply(list(reversed(events)))
        assert store.checksum() == reference.checksum()
        other = MemoryTimelineStore()
        other.apply(events[:-1])
        assert other.checksum() != reference.checksum()

    def test_a_malformed_cursor_is_refused(self, store: TimelineStore) -> None:
        store.apply(story())

        for cursor in ("not base64!", "bm9wZQ==", "MTo=", "", "MTIzOmFiYw==", "MTox\n"):
            with pytest.raises(InvalidCursor):
                store.page(ALICE_ID, cursor=cursor)
        with pytest.raises(ValueError):
            store.page(ALICE_ID, limit=0)

    def test_a_batch_of_5000_events_applies_in_one_call(self, store: TimelineStore) -> None:
        events = big_batch(5000)
        _, output = fold(events, customer_key)

        assert store.apply(events) == 5000

        assert store.position() == 5000
        assert store.count_entries() == len(output.entries) == 4500
        assert store.count_unattributed() == len(output.unattributed) == 500
        customer = output.entries[0].customer_id
        assert all_pages(store, customer, limit=7) == expected(events, customer)


def big_batch(size: int) -> list[RecordedEvent]:
    """Cases of ten events over 100 customers; every tenth event has neither identifiers nor a known case."""
    events = []
    for i in range(size):
        at, case_id = T0 + timedelta(seconds=i % 97), f"CASE-{i // 10}"
        customer = {"phone": f"+86 138 {i % 100:04d} 0000"}
        if i % 10 == 0:
            events.append(case_opened(occurred_at=at, customer=customer, case_id=case_id))
        elif i % 10 == 9:
            events.append(case_note_added(occurred_at=at, case_id=f"ORPHAN-{i}"))
        elif i % 2:
            events.append(case_note_added(occurred_at=at, case_id=case_id))
        else:
            events.append(call_received(occurred_at=at, customer=customer, case_id=case_id))
    return recorded(events)


class TestMemoryTimelineStore(TimelineStoreContract):
    @pytest.fixture
    def store(self) -> TimelineStore:
        return MemoryTimelineStore()


class TestSqliteTimelineStore(TimelineStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[TimelineStore]:
        engine = make_engine(f"sqlite:///{tmp_path / 'views.db'}")
        store = SqlTimelineStore(engine)
        store.create()
        yield store
        engine.dispose()


class TestPostgresTimelineStore(TimelineStoreContract):
    @pytest.fixture
    def store(self, postgres_url: str, pg_schema: str) -> Iterator[TimelineStore]:
        engine = make_engine(url_with_search_path(postgres_url, pg_schema))
        store = SqlTimelineStore(engine)
        store.create()
        yield store
        engine.dispose()
