"""A rebuild that holds its state in memory (`store.rebuilding()`) writes exactly the rows the live projector
writes, whatever its flushes, and whatever it lets go of past its memory bound and reads back (SQLite and
Postgres)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from domain.log import RecordedEvent
from domain.sla.alerts import acknowledgement, alert_events
from projections.cases.memory import MemoryCasesStore
from projections.cases.reducer import CaseFolder
from projections.cases.sql import SqlCasesStore
from projections.cases.sql import weight as case_weight
from projections.sla.memory import MemorySlaStore
from projections.sla.sql import SqlSlaStore
from projections.sla.sql import weight as sla_weight
from projections.sqlstore import HeldRebuild, RebuildChanged, make_engine
from tests.support.credit_card import all_events
from tests.support.replay_data import replay_log
from tests.support.sla import at, recorded_from

pytestmark = pytest.mark.contract

NOW = at("2026-12-31", "12:00")


def log() -> list[RecordedEvent]:
    """Generated cases and touchpoints under a policy, the credit-card story (promises, an escalation), then the
    alerts due by NOW and acknowledgements of a third of them."""
    events = recorded_from([*replay_log(1500), *all_events()])
    sla = MemorySlaStore()
    sla.apply(events)
    alerts = [e for clock in sla.due_clocks(NOW, limit=200) for e in alert_events(clock, NOW)]
    acks = [acknowledgement(a.event_id, a.case_id, "mgr-1", "seen", "ops", NOW) for a in alerts[::3]]
    return [*events, *recorded_from([*alerts, *acks], start=len(events) + 1)]


EVENTS = log()
KINDS: dict[str, Callable[[Engine], Any]] = {"cases": SqlCasesStore, "sla": SqlSlaStore}


def live_checksum(kind: str) -> str:
    """The checksum the live projector reaches, batches of 97 (the memory store's: equal content, equal sums)."""
    reference = MemoryCasesStore() if kind == "cases" else MemorySlaStore()
    for start in range(0, len(EVENTS), 97):
        reference.apply(EVENTS[start:start + 97])
    return reference.checksum()


LIVE = {kind: live_checksum(kind) for kind in KINDS}


def rebuilt(store: Any, batch: int, flush_every: int, **held: int) -> str:
    store.create()
    store.reset()
    rebuild = store.rebuilding(**held)
    for number, start in enumerate(range(0, len(EVENTS), batch), start=1):
        rebuild.apply(EVENTS[start:start + batch])
        if number % flush_every == 0:
            assert rebuild.flush() == EVENTS[min(start + batch, len(EVENTS)) - 1].position
    assert rebuild.flush() == store.position() == EVENTS[-1].position
    if held.get("max_held", 10**6) < 1000:
        assert rebuild.evicted  # (HeldRebuild) it let go of some and read them back
    digest: str = store.checksum()
    return digest


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("batch", "flush_every", "max_held"), [
    (5000, 1, 10**6),  # one flush at the end
    (250, 2, 10**6),  # cases and alerts changed again after they were first written
    (400, 1, 30),  # past the bound after the first flush: the others let go, read back when needed again
    (60, 1, 3),  # a tiny bound: almost every case and alert let go at each flush, and read back
    (17, 3, 3),  # flushes every few events, some of them changing cases and alerts let go before
    (250, 2, 0),  # nothing held past a flush
])
def test_a_held_rebuild_writes_the_live_rows(views: Engine, kind: str, batch: int, flush_every: int,
                                             max_held: int) -> None:
    store = KINDS[kind](views)
    assert rebuilt(store, batch, flush_every, max_held=max_held) == LIVE[kind]
    assert store.apply(EVENTS) == EVENTS[-1].position  # redelivered: nothing changes
    assert store.checksum() == LIVE[kind]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("batch", "max_held"), [(5000, 10**6), (400, 30)])
def test_a_flush_writing_its_rows_a_few_at_a_time_writes_the_live_rows(
        views: Engine, monkeypatch: pytest.MonkeyPatch, kind: str, batch: int, max_held: int) -> None:
    monkeypatch.setattr(HeldRebuild, "rows_chunk", 7)
    store = KINDS[kind](views)
    assert rebuilt(store, batch, 1, max_held=max_held) == LIVE[kind]


@pytest.mark.parametrize("kind", KINDS)
def test_the_live_store_in_small_batches_writes_the_same_rows(views: Engine, kind: str) -> None:
    """The live path skips decoding documents it wrote itself and rewrites only the clocks and promises that
    changed: still the same rows."""
    store = KINDS[kind](views)
    store.create()
    for start in range(0, len(EVENTS), 61):
        store.apply(EVENTS[start:start + 61])
    assert store.checksum() == LIVE[kind]
    again = [RecordedEvent(EVENTS[-1].position + n + 1, r.event) for n, r in enumerate(EVENTS[1000:1300])]
    store.apply(again)  # the cases it last wrote, touched again
    reference = MemoryCasesStore() if kind == "cases" else MemorySlaStore()
    reference.apply([*EVENTS, *again])
    assert store.checksum() == reference.checksum() != LIVE[kind]


@pytest.mark.parametrize("kind", KINDS)
def test_a_rebuild_that_someone_else_overtook_refuses_to_flush(tmp_path: Path, kind: str) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'views.db'}")
    store, other = KINDS[kind](engine), KINDS[kind](engine)
    store.create()
    store.reset()
    rebuild = store.rebuilding()
    rebuild.apply(EVENTS[:300])
    other.apply(EVENTS[:10])
    with pytest.raises(RebuildChanged):
        rebuild.flush()
    assert store.position() == 10
    engine.dispose()


@pytest.mark.parametrize("kind", KINDS)
def test_a_store_that_is_not_empty_is_rebuilt_batch_by_batch(tmp_path: Path, kind: str) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'views.db'}")
    store = KINDS[kind](engine)
    store.create()
    store.apply(EVENTS[:100])
    rebuild = store.rebuilding()
    assert rebuild.apply(EVENTS[:1000]) == store.position() == 1000  # written at once
    assert rebuild.flush() == 1000
    rebuild.apply(EVENTS)
    assert store.checksum() == LIVE[kind]
    engine.dispose()


def test_the_log_covers_what_the_held_writes_distinguish() -> None:
    kinds = {r.event.event_type for r in EVENTS}
    assert {"sla.warning_raised", "sla.breached", "sla.alert_acknowledged", "callback.promised"} <= kinds


def held_weight(rebuild: Any) -> int:
    """The weight of what a rebuild holds, worked out afresh from its held items."""
    folder = rebuild._folder  # noqa: SLF001 - the rebuild's own state, weighed from scratch
    if isinstance(folder, CaseFolder):
        return sum(map(case_weight, folder.cases.values()))
    return sum(map(sla_weight, folder.cases.values())) + len(folder.alerts)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("batch", "max_held"), [(250, 10**6), (60, 400), (17, 3)])
def test_a_held_rebuild_weighs_what_it_holds_and_stays_within_its_bound(views: Engine, kind: str, batch: int,
                                                                         max_held: int) -> None:
    """The weight kept up to date batch by batch is that of what is held (its cases with their parts), never more
    than the bound after a batch, at most half of it after a flush; the rows are still the live ones."""
    store = KINDS[kind](views)
    store.create()
    store.reset()
    rebuild = store.rebuilding(max_held=max_held)
    for number, start in enumerate(range(0, len(EVENTS), batch), start=1):
        rebuild.apply(EVENTS[start:start + batch])
        weight = rebuild._held()  # noqa: SLF001
        assert weight == held_weight(rebuild) and weight <= max_held
        if number % 5 == 0:
            rebuild.flush()
            assert rebuild._held() == held_weight(rebuild) <= max_held // 2  # noqa: SLF001
    rebuild.flush()
    assert rebuild.evicted is (max_held < 10**6)
    assert store.checksum() == LIVE[kind]
