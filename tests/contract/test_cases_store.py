"""Cases store contract: one suite, run against the in-memory, SQLite and Postgres implementations."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from domain.identity.identifiers import customer_key
from domain.log import RecordedEvent
from projections.cases import CaseQuery, ContactQuery, HandoffQuery, InvalidCursor, fold
from projections.cases.memory import MemoryCasesStore
from projections.cases.queries import CasesStore, involves
from projections.cases.sql import SqlCasesStore
from projections.sqlstore import make_engine, url_with_search_path
from tests.support.builders import make_event, recorded
from tests.support.case_events import T0, accepted, ev, handed, opened
from tests.support.case_generator import generate
from tests.support.credit_card import CASE_ID, all_events

pytestmark = pytest.mark.contract

GENERATED = generate(300, seed=7).events


def world() -> list[RecordedEvent]:
    """The credit-card story, a case with anomalies and a bounce (CASE-R-1), and 300 generated cases."""
    odd = [opened(0), handed(1, "loan", "card_centre"), accepted(2, "card_centre"), handed(3, "card_centre", "loan"),
           accepted(4, "approval_office"), ev("case.reopened", 5, reason="open already")]
    return recorded([*all_events(), *odd, *GENERATED])


def reference(events: list[RecordedEvent]) -> MemoryCasesStore:
    store = MemoryCasesStore()
    store.apply(events)
    return store


class CasesStoreContract:
    """What every CasesStore must do; subclasses provide a fresh, created `store`."""

    @pytest.fixture
    def store(self) -> CasesStore:
        raise NotImplementedError

    def test_a_fresh_store_is_empty(self, store: CasesStore) -> None:
        store.create()  # idempotent

        assert (store.name, store.position(), store.case(CASE_ID), store.count(CaseQuery())) == ("cases", 0, None, 0)
        assert (store.handoffs(HandoffQuery()), store.contacts(ContactQuery()), store.anomalies()) == ([], [], [])
        assert store.checksum() == MemoryCasesStore().checksum()

    def test_apply_keeps_each_case_as_the_rules_fold_it(self, store: CasesStore) -> None:
        events = world()

        assert store.apply(events) == len(events)

        assert store.case(CASE_ID) == fold(recorded(all_events()), customer_key, {})[CASE_ID]
        odd = store.case("CASE-R-1")
        assert odd is not None
        assert [a.kind.value for a in odd.anomalies] == ["acceptance_by_other_department", "reopened_while_open"]
        assert store.checksum() == reference(events).checksum()

    def test_batches_in_any_order_with_redeliveries_equal_one_pass(self, store: CasesStore) -> None:
        events = world()
        chunks = [events[i:i + 97] for i in range(0, len(events), 97)]

        for index, chunk in enumerate(chunks):
            store.apply(list(reversed(chunk)) + (chunks[index - 1][-5:] if index else []))
        store.apply(events[:50])

        assert store.position() == len(events)
        assert store.checksum() == reference(events).checksum()

    def test_a_contact_naming_no_case_finds_the_open_case_stored_by_an_earlier_batch(self, store: CasesStore
                                                                                    ) -> None:
        story = recorded(all_events())
        visit = next(r for r in story if r.event.event_type == "call.received" and r.event.case_id is None)

        store.apply([r for r in story if r.position < visit.position])
        store.apply([visit])

        state = store.case(CASE_ID)
        assert state is not None
        assert [(c.position, c.via) for c in state.contacts] == [(visit.position, "customer")]

    def test_case_filters_and_counts(self, store: CasesStore) -> None:
        events = world()
        store.apply(events)
        memory = reference(events)

        queries = [
            CaseQuery(holder="loan"), CaseQuery(statuses=("open", "waiting_on_customer")),
            CaseQuery(statuses=("resolved",), holder="fraud"), CaseQuery(pending_to="card_centre"),
            CaseQuery(customer_id=store.case(CASE_ID).customer_id),  # type: ignore[union-attr]
            CaseQuery(opened_before=T0), CaseQuery(opened_after=T0 - timedelta(days=300)),
            CaseQuery(min_returns=1), CaseQuery(min_repeat_contacts=2), CaseQuery(with_anomalies=True),
        ]
        for query in (replace(q, limit=1000) for q in queries):
            ids = [s.case_id for s in store.cases(query).cases]
            assert ids == [s.case_id for s in memory.cases(query).cases], query
            assert store.count(query) == memory.count(query) == len(ids), query
        assert "CASE-R-1" in [s.case_id for s in store.cases(CaseQuery(with_anomalies=True)).cases]
        assert [s.case_id for s in store.cases(CaseQuery(pending_to="card_centre")).cases] != []

    def test_involving_selects_the_cases_a_department_holds_or_handed_or_was_handed(self, store: CasesStore) -> None:
        events = world()
        store.apply(events)
        every = store.cases(CaseQuery(limit=1000)).cases
        departments = sorted({d for s in every for d in (s.holder, *(h.to_department for h in s.handoffs))})
        assert len(departments) > 2
        for department in departments:
            query = CaseQuery(involving=department, limit=1000)
            ids = [s.case_id for s in store.cases(query).cases]
            assert ids == [s.case_id for s in every if involves(s, department)] != [], department
            assert store.count(query) == len(ids)
        handed_away = next(s for s in every if s.handoffs and s.holder != s.handoffs[0].from_department)
        opener = handed_away.handoffs[0].from_department
        assert handed_away.case_id in [s.case_id for s in store.cases(CaseQuery(involving=opener, limit=1000)).cases]
        assert store.count(CaseQuery(involving="nobody")) == 0

    def test_pages_follow_each_other_without_gaps_across_equal_opening_times(self, store: CasesStore) -> None:
        store.apply(world())
        everything = [s.case_id for s in store.cases(CaseQuery(limit=1000)).cases]

        seen: list[str] = []
        cursor: str | None = None
        while True:
            page = store.cases(CaseQuery(cursor=cursor, limit=7))
            seen.extend(s.case_id for s in page.cases)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor

        assert seen == everything
        assert len(seen) == 302
        openings = [s.opened_at for s in store.cases(CaseQuery(limit=1000)).cases]
        assert openings == sorted(openings)  # type: ignore[type-var]
        assert len(set(openings)) < len(openings)  # ties exist and were paged through

    def test_handoff_contact_and_anomaly_queries(self, store: CasesStore) -> None:
        events = world()
        store.apply(events)
        memory = reference(events)

        for query in (HandoffQuery(), HandoffQuery("loan"), HandoffQuery(to_department="fraud"),
                      HandoffQuery("loan", "card_centre", since=T0 - timedelta(days=300), until=T0),
                      HandoffQuery(pending=True)):
            assert store.handoffs(query) == memory.handoffs(query), query
        for contacts in (ContactQuery(), ContactQuery(department="card_centre"), ContactQuery(channel="web"),
                         ContactQuery(since=T0, until=T0 + timedelta(days=30))):
            assert store.contacts(contacts) == memory.contacts(contacts), contacts
        assert store.anomalies() == memory.anomalies()
        assert [a.case_id for a in store.anomalies("reopened_while_open")] == ["CASE-R-1"]
        assert len(store.handoffs(HandoffQuery(pending=True))) > 0

    def test_reset_forgets_everything_and_a_rebuild_gives_the_same_checksum(self, store: CasesStore) -> None:
        events = world()
        store.apply(events)
        before = store.checksum()

        store.reset()

        assert (store.position(), store.count(CaseQuery()), store.case(CASE_ID)) == (0, 0, None)
        assert store.checksum() == MemoryCasesStore().checksum()
        store.apply(events)
        assert store.checksum() == before

    def test_the_checksum_changes_with_any_row(self, store: CasesStore) -> None:
        store.apply(world())
        before = store.checksum()

        late = make_event("case.note_added", occurred_at=T0 + timedelta(days=1), case_id=CASE_ID,
                          payload={"note": "one more", "visibility": "internal"})
        store.apply([RecordedEvent(store.position() + 1, late)])

        assert store.checksum() != before

    def test_bad_cursors_and_limits_are_refused(self) -> None:
        for cursor in ("not base64!", "bm9wZQ==", ""):
            with pytest.raises(InvalidCursor):
                CaseQuery(cursor=cursor)
        for limit in (0, 1001):
            with pytest.raises(ValueError):
                CaseQuery(limit=limit)


class TestMemoryCasesStore(CasesStoreContract):
    @pytest.fixture
    def store(self) -> CasesStore:
        return MemoryCasesStore()


class TestSqliteCasesStore(CasesStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[CasesStore]:
        engine = make_engine(f"sqlite:///{tmp_path / 'views.db'}")
        store = SqlCasesStore(engine)
        store.create()
        yield store
        engine.dispose()


class TestPostgresCasesStore(CasesStoreContract):
    @pytest.fixture
    def store(self, postgres_url: str, pg_schema: str) -> Iterator[CasesStore]:
        engine = make_engine(url_with_search_path(postgres_url, pg_schema))
        store = SqlCasesStore(engine)
        store.create()
        yield store
        engine.dispose()
