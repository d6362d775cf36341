"""The recorder's rules against a real store: validation, dead letters, dedupe, redelivery, identifier protection."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import orjson
import pytest

from domain.identity.identifiers import IdentifierProtector
from services.adapters.kafka.records import DeadLetter, SourceRecord
from services.adapters.store.eventstore import EventStore
from services.application.recorder import Recorder
from tests.support.pipeline import touchpoint

pytestmark = pytest.mark.integration
KEY = b"test-id-hash-key"


class CollectingSink:
    """A DeadLetterSink that keeps what it was sent."""

    def __init__(self) -> None:
        self.letters: list[DeadLetter] = []

    def send(self, letters: Sequence[DeadLetter]) -> None:
        self.letters.extend(letters)


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EventStore]:
    if request.param == "sqlite":
        event_store = EventStore(f"sqlite:///{tmp_path / 'events.db'}")
    else:
        event_store = EventStore(request.getfixturevalue("postgres_url"), schema=request.getfixturevalue("pg_schema"))
    yield event_store
    event_store.close()


def records(values: Sequence[bytes | None], partition: int = 0, first_offset: int = 0) -> list[SourceRecord]:
    return [SourceRecord("events", partition, first_offset + i, None, v) for i, v in enumerate(values)]


def test_valid_records_are_stored_and_invalid_ones_dead_lettered(store: EventStore) -> None:
    sink = CollectingSink()
    good = [orjson.dumps(touchpoint(i, "hotline")) for i in range(5)]
    bad = orjson.dumps(touchpoint(9, "hotline") | {"occurred_at": "yesterday"})
    result = Recorder(store, sink, IdentifierProtector(KEY)).record(records([*good[:2], bad, None, *good[2:]]))
    assert (result.recorded, result.dead_lettered) == (5, 2)
    assert len(store.read(0, 100)) == 5
    assert [letter.record.offset for letter in sink.letters] == [2, 3]
    assert sink.letters[0].reason.startswith("occurred_at")
    assert orjson.loads(sink.letters[0].errors_json)[0]["loc"] == "occurred_at"
    assert store.tracked("events:0") == 6
    assert result.next_offsets == {("events", 0): 7}


def test_redelivered_and_resubmitted_records_are_recorded_once(store: EventStore) -> None:
    recorder = Recorder(store, CollectingSink(), IdentifierProtector(KEY))
    values = [orjson.dumps(touchpoint(i, "web")) for i in range(10)]
    recorder.record(records(values[:6]))
    again = recorder.record(records(values))  # offsets 0-5 redelivered, 6-9 new
    assert (again.redelivered, again.recorded) == (6, 4)
    resubmitted = recorder.record(records(values[:3] + values[:3], first_offset=10))
    assert (resubmitted.recorded, resubmitted.duplicates) == (0, 6)
    assert len(store.read(0, 100)) == 10
    assert store.tracked("events:0") == 15


def test_partitions_are_tracked_separately(store: EventStore) -> None:
    recorder = Recorder(store, CollectingSink(), IdentifierProtector(KEY))
    batch = records([orjson.dumps(touchpoint(i, "web")) for i in range(3)], partition=0) + records(
        [orjson.dumps(touchpoint(i, "web")) for i in range(3, 5)], partition=4, first_offset=100)
    result = recorder.record(batch)
    assert result.recorded == 5
    assert (store.tracked("events:0"), store.tracked("events:4")) == (2, 101)


def test_a_batch_of_only_bad_records_still_advances_tracking(store: EventStore) -> None:
    sink = CollectingSink()
    Recorder(store, sink, IdentifierProtector(KEY)).record(records([b"[]", b"null"]))
    assert store.tracked("events:0") == 1
    assert len(sink.letters) == 2 and not store.read(0, 10)


def test_national_ids_are_never_stored_in_clear(store: EventStore) -> None:
    data = touchpoint(1, "hotline")
    data["customer"] = {"national_id": "11010519491231002X", "phone": "13800138000"}
    Recorder(store, CollectingSink(), IdentifierProtector(KEY)).record(records([orjson.dumps(data)]))
    [row] = store.read_raw(0, 10)
    assert b"11010519491231002X" not in row.state and b"491231" not in row.state
    [event] = store.read(0, 10)
    assert event.event.customer.national_id is None
    assert event.event.customer.national_id_masked == "**************002X"
    assert event.event.customer.national_id_digest == IdentifierProtector(KEY).digest("11010519491231002x")
