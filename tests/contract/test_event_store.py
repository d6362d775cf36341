"""The event store adapter behaves the same on SQLite and Postgres."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from eventsourcing.persistence import Tracking
from psycopg.sql import SQL

from contracts import parse, to_canonical_json
from services.adapters.store.eventstore import EventStore, StoreConflict, topic_of
from tests.support.pipeline import touchpoint

pytestmark = pytest.mark.contract


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EventStore]:
    if request.param == "sqlite":
        event_store = EventStore(f"sqlite:///{tmp_path / 'events.db'}")
    else:
        url = request.getfixturevalue("postgres_url")
        event_store = EventStore(url, schema=request.getfixturevalue("pg_schema"))
    yield event_store
    event_store.close()


def events(n: int, start: int = 0) -> list:
    return [parse(touchpoint(start + i, "hotline")) for i in range(n)]


def test_append_then_read_in_log_order(store: EventStore) -> None:
    batch = events(50)
    store.append(batch)
    read = store.read(0, 100)
    assert [r.event for r in read] == batch
    assert [r.position for r in read] == sorted(r.position for r in read)
    assert store.head() == read[-1].position
    assert [r.event_id for r in store.read_raw(read[9].position, 5)] == [e.event_id for e in batch[10:15]]


def test_an_event_id_is_recorded_once(store: EventStore) -> None:
    first = events(3)
    store.append(first)
    with pytest.raises(StoreConflict):
        store.append([*events(2, 100), first[1]])
    assert len(store.read(0, 100)) == 3, "a refused batch writes nothing"
    assert store.recorded_ids([first[0].event_id, uuid.uuid4()]) == {first[0].event_id}


def test_recorded_gives_stored_events_by_id_for_content_comparison(store: EventStore) -> None:
    first = events(3)
    store.append(first)
    found = store.recorded([first[2].event_id, uuid.uuid4(), first[0].event_id, first[0].event_id])
    assert found == {first[0].event_id: first[0], first[2].event_id: first[2]}
    assert store.recorded([]) == {}


def test_tracking_is_written_with_the_events_and_only_moves_forward(store: EventStore) -> None:
    store.append(events(2), Tracking("topic:0", 41))
    assert store.tracked("topic:0") == 41
    with pytest.raises(StoreConflict):
        store.append(events(2, 10), Tracking("topic:0", 41))
    assert len(store.read(0, 100)) == 2
    store.append([], Tracking("topic:0", 50))
    assert store.tracked("topic:0") == 50
    assert store.tracked("topic:1") is None


def test_canonical_bytes_round_trip(store: EventStore) -> None:
    data = touchpoint(7, "web")
    data["payload"]["subject"] = "信用卡寄送查询 / card delivery"
    event = parse(data)
    store.append([event])
    [row] = store.read_raw(0, 10)
    assert parse(row.state) == event
    assert "信用卡".encode() in row.state


def test_stored_bytes_are_exactly_the_canonical_json_whatever_they_hold(store: EventStore) -> None:
    """Quotes, backslashes, commas, brackets, spaces and non-ASCII survive the append as they are (Postgres gets
    the rows in binary: `_insert_in_binary`)."""
    texts = ['say "hi", (then) \\ leave', "\\x41 {not hex} \t tab", "括号（）与引号“”", ""]
    batch = []
    for i, text in enumerate(texts):
        data = touchpoint(i, "web")
        data["payload"]["subject"] = text or "-"
        batch.append(parse(data))
    store.append(batch, Tracking("topic:0", 3))
    rows = store.read_raw(0, 10)
    assert [row.state for row in rows] == [to_canonical_json(event) for event in batch]
    assert [row.topic for row in rows] == [topic_of(event) for event in batch]
    assert [row.event_id for row in rows] == [event.event_id for event in batch]
    assert [r.event for r in store.read(0, 10)] == batch
    assert store.read_raw(rows[0].position, 10, stop=rows[2].position) == rows[1:3]
    assert store.read_raw(rows[0].position, 1) == rows[1:2] and store.read_raw(rows[-1].position, 10) == []
    assert store.tracked("topic:0") == 3


def test_postgres_appends_send_their_rows_in_binary(postgres_url: str, pg_schema: str) -> None:
    store = EventStore(postgres_url, schema=pg_schema)
    try:
        statement = store._recorder.insert_events_statement  # type: ignore[attr-defined]  # noqa: SLF001
        assert "unnest(%b::" in "".join(part.as_string() for part in statement if isinstance(part, SQL))
    finally:
        store.close()
