"""The projector's batches (SQLite): reads grow while they come back full (a backlog), go back to the batch size
once caught up, a few new events are applied at once, and the stores end as a rebuild from zero leaves them.
`positions_of` reads the SQL stores' positions in one query and gives what each store's `position()` says."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from domain.log import RecordedEvent
from projections.protocol import Failure, ProjectionStore
from projections.sqlstore import make_engine, positions_of
from projections.timeline.memory import MemoryTimelineStore
from services.adapters.databases import projection_stores
from services.adapters.store.eventstore import EventStore
from services.application.projector.engine import ProjectionEngine, rebuild_together
from services.application.rebuild import stores_on
from tests.support.replay_data import replay_log


class Counting:
    """A projection store that records the size of each batch it is given (and applies it)."""

    def __init__(self, inner: ProjectionStore) -> None:
        self._inner = inner
        self.name = inner.name
        self.batches: list[int] = []

    def apply(self, events: Sequence[RecordedEvent]) -> int:
        self.batches.append(len(events))
        return self._inner.apply(events)

    def create(self) -> None:
        self._inner.create()

    def position(self) -> int:
        return self._inner.position()

    def reset(self) -> None:
        self._inner.reset()

    def park(self, failure: Failure) -> int:
        return self._inner.park(failure)


def test_reads_grow_while_behind_and_a_rebuild_ends_alike(tmp_path: Path) -> None:
    store = EventStore(f"sqlite:///{tmp_path / 'events.db'}")
    views, rebuilt_views = make_engine(f"sqlite:///{tmp_path / 'views.db'}"), make_engine(
        f"sqlite:///{tmp_path / 'rebuilt.db'}")
    log = replay_log(400)
    store.append(log[:380])
    stores = stores_on(views)
    timeline = Counting(stores["timeline"])
    engine = ProjectionEngine(store, [timeline, *(s for n, s in stores.items() if n != "timeline")],
                              batch_size=10, max_batch_size=80, views=views)
    assert engine.catch_up() == 380
    assert timeline.batches == [10, 20, 40, 80, 80, 80, 70]  # doubling while full, up to the most
    store.append(log[380:383])
    assert engine.run_once() == 3 and timeline.batches[-1] == 3  # caught up: a few events, applied at once
    store.append(log[383:])
    assert engine.run_once() == 10 and engine.run_once() == 7  # back to the batch size, growing again
    assert positions_of(list(stores.values())) == {name: s.position() for name, s in stores.items()}
    assert set(positions_of(list(stores.values())).values()) == {400}

    again = stores_on(rebuilt_views)
    rebuild_together(store, again, dict.fromkeys(again, store.head()))
    assert {n: s.checksum() for n, s in again.items()} == {n: s.checksum() for n, s in stores.items()}
    store.close()
    views.dispose()
    rebuilt_views.dispose()


def test_positions_of_mixes_sql_and_other_stores(tmp_path: Path) -> None:
    views = make_engine(f"sqlite:///{tmp_path / 'views.db'}")
    stores = projection_stores(views, names=["timeline", "cases"])
    memory = MemoryTimelineStore()
    memory.name = "timeline-in-memory"
    assert positions_of([stores["cases"], memory, stores["timeline"]]) == {
        "cases": 0, "timeline-in-memory": 0, "timeline": 0}
    stores["timeline"].apply([RecordedEvent(5, replay_log(2)[1])])
    memory.apply([RecordedEvent(3, replay_log(2)[1])])
    assert positions_of([stores["cases"], memory, stores["timeline"]]) == {
        "cases": 0, "timeline-in-memory": 3, "timeline": 5}
    views.dispose()
