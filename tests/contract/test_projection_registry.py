"""Every registered projection: its SQL store, fed in uneven batches and rebuilt from zero, holds what its memory
reference holds (equal checksums) on SQLite and Postgres; the registry resolves names and what readers consult."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

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
from projections.sqlstore import make_engine
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


def test_names_are_unique_and_what_readers_consult_is_registered() -> None:
    assert len(set(NAMES)) == len(PROJECTIONS)
    assert all(set(p.consults) <= set(NAMES) - {p.name} for p in PROJECTIONS)
    assert with_consulted(["timeline"]) == ["timeline", "customers"]
    assert with_consulted(["cases"]) == ["cases", "sla"]
    with pytest.raises(UnknownProjection):
        projection("nope")
    with pytest.raises(UnknownProjection):
        sql_stores(make_engine("sqlite://"), names=["nope"])
