"""`positions_of` (which log positions a customer's export covers) on the in-memory, SQLite and Postgres timeline
stores: ascending, only the ids asked for, case events without identifiers included, several ids merged."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from domain.identity.identifiers import IdentifierKind, customer_id_for, normalise
from projections.sqlstore import make_engine, url_with_search_path
from projections.timeline.memory import MemoryTimelineStore
from projections.timeline.sql import SqlTimelineStore
from tests.support.builders import call_received, case_note_added, case_opened, recorded, visit_checked_in, web_request

pytestmark = pytest.mark.contract
T0 = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
ALICE, BOB = {"phone": "+86 138 0013 8000"}, {"email": "bob@example.com"}
ALICE_ID = customer_id_for(normalise(IdentifierKind.PHONE, ALICE["phone"]))
BOB_ID = customer_id_for(normalise(IdentifierKind.EMAIL, BOB["email"]))


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MemoryTimelineStore | SqlTimelineStore]:
    if request.param == "memory":
        yield MemoryTimelineStore()
        return
    url = f"sqlite:///{tmp_path / 'views.db'}"
    if request.param == "postgres":
        url = url_with_search_path(request.getfixturevalue("postgres_url"), request.getfixturevalue("pg_schema"))
    engine = make_engine(url)
    sql = SqlTimelineStore(engine)
    sql.create()
    yield sql
    engine.dispose()


def test_positions_of_lists_a_customers_entries_ascending(store: MemoryTimelineStore | SqlTimelineStore) -> None:
    minute = timedelta(minutes=1)
    store.apply(recorded([
        call_received(occurred_at=T0 + 9 * minute, customer=ALICE),  # 1: later occurred_at, earlier position
        web_request(occurred_at=T0, customer=BOB),  # 2
        case_opened(occurred_at=T0 + minute, customer=ALICE, case_id="CASE-A"),  # 3
        visit_checked_in(occurred_at=T0),  # 4: nobody's
        case_note_added(occurred_at=T0 + 2 * minute, case_id="CASE-A"),  # 5: Alice's through her case
        web_request(occurred_at=T0 + 3 * minute, customer=BOB),  # 6
    ]))
    assert store.positions_of([ALICE_ID]) == [1, 3, 5]
    assert store.positions_of([BOB_ID]) == [2, 6]
    assert store.positions_of([BOB_ID, ALICE_ID, ALICE_ID]) == [1, 2, 3, 5, 6]
    assert store.positions_of(["nobody"]) == [] and store.positions_of([]) == []
