"""Every registered projection: its SQL store, fed in uneven batches and rebuilt from zero, holds what its memory
reference holds (equal checksums) on SQLite and Postgres; the registry resolves names and what readers consult."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import Engine, event

from domain.log import RecordedEvent
from projections.registry import (
    NAMES,
    PROJECTIONS,
    UnknownProjection,
    memory_stores,
    projection,
    sql_stores,
    with_consulted,
)
from projections.sqlstore import make_engine, url_with_search_path
from tests.support.credit_card import all_events
from tests.support.replay_data import replay_log
from tests.support.sla import recorded_from

pytestmark = pytest.mark.contract

EVENTS: list[RecordedEvent] = recorded_from([*replay_log(300), *all_events()])


@pytest.mark.parametrize("name", NAMES)
def test_the_sql_store_holds_what_the_memory_reference_holds(views: Engine, name: str) -> None:
    (reference,), (store,) = memory_stores(names=[name]).values(), sql_stores(views, names=[name]).values()
    reference.apply(EVENTS)
    store.create()
    for start in range(0, len(EVENTS), 61):
        store.apply(EVENTS[start:start + 61])

    assert (store.name, store.position()) == (name, EVENTS[-1].position)
    assert store.checksum() == reference.checksum()
    store.reset()
    store.apply(EVENTS)
    assert store.checksum() == reference.checksum()


@pytest.mark.parametrize("name", NAMES)
def test_a_checksum_reads_its_tables_through_a_server_side_cursor_on_postgres(postgres_url: str, pg_schema: str,
                                                                               name: str) -> None:
    """The driver would otherwise fetch a whole table at once: a checksum's memory would grow with the read model."""
    engine = make_engine(url_with_search_path(postgres_url, pg_schema))
    (store,) = sql_stores(engine, names=[name]).values()
    store.create()
    store.apply(EVENTS)
    server_side: list[str] = []
    client_side: list[str] = []

    def seen(_conn: object, cursor: object, statement: str, *_: object) -> None:
        (server_side if isinstance(cursor, psycopg.ServerCursor) else client_side).append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        store.checksum()
    finally:
        event.remove(engine, "before_cursor_execute", seen)
        engine.dispose()
    tables = {table.name for table in store.tables}
    assert {t for t in tables if any(f"FROM {t}" in s for s in server_side)}  # the checksum's tables, streamed
    assert not [s for s in client_side if any(f"FROM {t}" in s for t in tables)]


def test_names_are_unique_and_what_readers_consult_is_registered() -> None:
    assert len(set(NAMES)) == len(PROJECTIONS)
    assert all(set(p.consults) <= set(NAMES) - {p.name} for p in PROJECTIONS)
    assert with_consulted(["timeline"]) == ["timeline", "customers"]
    assert with_consulted(["cases"]) == ["cases", "sla"]
    with pytest.raises(UnknownProjection):
        projection("nope")
    with pytest.raises(UnknownProjection):
        sql_stores(make_engine("sqlite://"), names=["nope"])
