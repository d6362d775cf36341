"""Replay: rebuild projections from zero into a fresh place and compare their checksums with the live ones.

A replay writes only to the projection stores it is given: it never runs the SLA ticker, the alert dispatcher or
the webhook sender, and never appends to the event store, so nothing is re-sent and the log is untouched.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Engine

from projections.protocol import ProjectionStore
from services.adapters.collector import fewer_collections
from services.adapters.databases import open_rebuild_target
from services.adapters.store.eventstore import EventStore
from services.application.projector.engine import (
    REBUILD_BATCH,
    REBUILD_FLUSH,
    ProjectionEngine,
    rebuild_together,
)

Progress = Callable[[int, int], None]  # (position reached, last position to reach)


class Checksummed(ProjectionStore, Protocol):
    """A projection store with a deterministic checksum (every store in `projection_stores` has one)."""

    def checksum(self) -> str: ...

    def checksum_at(self) -> tuple[int, str]:
        """(position, checksum) read together, while a projector may be writing."""
        ...


class ReplayError(Exception):
    """A replay target that cannot be used (the live read models themselves, a bad schema name)."""


@dataclass(frozen=True, slots=True)
class Rebuilt:
    """One projection rebuilt: how many events it applied, the position reached and its checksum."""

    name: str
    events: int
    position: int
    checksum: str


@dataclass(frozen=True, slots=True)
class Comparison:
    """Live and rebuilt checksums per projection, each pair at the same log position."""

    live: dict[str, tuple[int, str]]
    rebuilt: dict[str, Rebuilt]

    @property
    def differing(self) -> list[str]:
        return sorted(n for n, (pos, digest) in self.live.items()
                      if (self.rebuilt[n].position, self.rebuilt[n].checksum) != (pos, digest))


def rebuild_target(url: str, schema: str | None = None) -> Engine:
    """An engine on a fresh place for rebuilt read models (services.adapters.databases.open_rebuild_target);
    ReplayError for a schema name that is not plain."""
    try:
        return open_rebuild_target(url, schema)
    except ValueError as exc:
        raise ReplayError(str(exc)) from exc


def replay(
    store: EventStore,
    targets: Mapping[str, Checksummed],
    *,
    stops: Mapping[str, int] | None = None,
    batch_size: int = REBUILD_BATCH,
    flush_every: int = REBUILD_FLUSH,
    progress: Progress | None = None,
) -> dict[str, Rebuilt]:
    """Rebuild `targets` from zero together (each batch read and decoded once for all of them), each up to its
    position in `stops` (default: the log head when called); return their positions and checksums.

    Stores that can hold their state in memory (`rebuilding()`) fold batch after batch and write what changed
    every `flush_every` events and at the end, each flush one transaction with the position reached."""
    head = store.head()
    limits = {name: stops.get(name, head) if stops is not None else head for name in targets}
    counts = rebuild_together(store, targets, limits, batch_size, progress, flush_every)
    with fewer_collections():  # the checksums read every row back: as many objects again
        return {name: _rebuilt(name, counts[name], t) for name, t in targets.items()}


@dataclass(frozen=True, slots=True)
class Opened:
    """What one replay process works with: the event store, the targets it rebuilds, and how to close both."""

    store: EventStore
    targets: Mapping[str, Checksummed]
    close: Callable[[], None]


class ReplayPlace(Protocol):
    """A picklable recipe for the event store and the rebuild targets, opened anew in each replay process."""

    def open(self, names: Sequence[str]) -> Opened: ...


def costs_of(stores: Mapping[str, Any]) -> dict[str, float]:
    """Each store's relative rebuild cost per event (`rebuild_cost`, default 1)."""
    return {name: float(getattr(store, "rebuild_cost", 1.0)) for name, store in stores.items()}


PARALLEL_MIN_EVENTS = 20_000  # below this, starting processes costs more than it saves


def default_jobs(names: Sequence[str], events: int) -> int:
    """One process per projection, at most one per CPU; a single process for short logs."""
    return 1 if events < PARALLEL_MIN_EVENTS else max(1, min(len(names), os.cpu_count() or 1))


def replay_jobs(
    place: ReplayPlace,
    names: Sequence[str],
    stops: Mapping[str, int],
    *,
    jobs: int,
    costs: Mapping[str, float] | None = None,
    batch_size: int = REBUILD_BATCH,
    flush_every: int = REBUILD_FLUSH,
    progress: Progress | None = None,
) -> dict[str, Rebuilt]:
    """Rebuild `names` from zero, each up to its position in `stops`, split over `jobs` processes (`shares`:
    by their relative `costs`, default equal).

    Each process opens the store and its targets from `place`, reads and decodes the log itself and rebuilds its
    share of the projections with `replay`: the log is decoded once per process instead of once in all, and the
    projections' own work, which dominates, runs on as many CPUs. The results are those of one `replay` of all
    (every projection is a function of the log alone); `jobs=1` runs here, in this process. A failing process
    fails the whole replay (ReplayFailed, with its traceback) after the others are stopped."""
    groups = shares(names, jobs, costs or {})
    if len(groups) <= 1:
        opened = place.open(list(names))
        try:
            return replay(opened.store, opened.targets, stops=stops, batch_size=batch_size, flush_every=flush_every,
                          progress=progress)
        finally:
            opened.close()
    context = multiprocessing.get_context("spawn")  # never fork a process holding database connections
    reports: Any = context.Queue()
    workers = [context.Process(target=_replay_share, name=f"replay-{index}", daemon=True,
                               args=(place, group, {n: stops[n] for n in group}, index, batch_size, flush_every,
                                     reports)) for index, group in enumerate(groups)]
    for worker in workers:
        worker.start()
    try:
        results = _collect(workers, reports, max((stops[n] for n in names), default=0), progress)
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
            worker.join()
        reports.close()
    return {name: results[name] for name in names}


def shares(names: Sequence[str], jobs: int, costs: Mapping[str, float]) -> list[list[str]]:
    """`names` split into at most `jobs` non-empty groups of nearly equal total cost (largest first, each to the
    group with the least so far; ties keep the order given); each group lists its names in the order given."""
    count = min(max(jobs, 1), len(names))
    groups: list[list[str]] = [[] for _ in range(count)]
    totals = [0.0] * count
    for name in sorted(names, key=lambda n: -costs.get(n, 1.0)):
        least = totals.index(min(totals))
        groups[least].append(name)
        totals[least] += costs.get(name, 1.0)
    order = {name: i for i, name in enumerate(names)}
    return [sorted(group, key=order.__getitem__) for group in groups if group]


class ReplayFailed(RuntimeError):
    """A replay process failed (its traceback is the message); the other processes were stopped."""


def _replay_share(place: ReplayPlace, names: list[str], stops: dict[str, int], index: int, batch_size: int,
                  flush_every: int, reports: Any) -> None:
    """A replay process: rebuild `names`, reporting progress, then the results or the failure, to `reports`."""
    try:
        opened = place.open(names)
        try:
            rebuilt = replay(opened.store, opened.targets, stops=stops, batch_size=batch_size,
                             flush_every=flush_every, progress=lambda at, _last: reports.put(("at", index, at)))
        finally:
            opened.close()
    except BaseException:  # reported whole: the exception itself may not pickle
        reports.put(("failed", index, traceback.format_exc()))
        raise
    reports.put(("done", index, rebuilt))


def _collect(workers: list[Any], reports: Any, last: int, progress: Progress | None) -> dict[str, Rebuilt]:
    """The results of every process, calling `progress` as they report; ReplayFailed as soon as one fails or
    ends without a result (killed: its last words would be in the queue before its exit code is set)."""
    reached = [0] * len(workers)
    results: dict[str, Rebuilt] = {}
    finished: set[int] = set()
    ended: set[int] = set()
    while len(finished) < len(workers):
        try:
            kind, index, value = reports.get(timeout=1.0)
        except queue.Empty:
            lost = [w.name for i, w in enumerate(workers) if i in ended and i not in finished]
            if lost:
                raise ReplayFailed(f"replay process {', '.join(lost)} ended without a result") from None
            ended = {i for i, w in enumerate(workers) if w.exitcode is not None}  # lost if still silent next time
            continue
        if kind == "failed":
            raise ReplayFailed(f"replay process {workers[index].name} failed:\n{value}")
        if kind == "done":
            results.update(value)
            finished.add(index)
        else:
            reached[index] = max(reached[index], value)
            if progress is not None:
                progress(min(reached), last)
    return results


def _rebuilt(name: str, events: int, target: Checksummed) -> Rebuilt:
    return Rebuilt(name, events, target.position(), target.checksum())


def compare(
    store: EventStore,
    live: Mapping[str, Checksummed],
    place: ReplayPlace,
    *,
    jobs: int | None = None,
    batch_size: int = REBUILD_BATCH,
    progress: Progress | None = None,
) -> Comparison:
    """Catch the live projections up to the log head, note each one's (position, checksum), rebuild them from
    zero in `place` to exactly those positions (`replay_jobs`; default jobs: `default_jobs`), and pair the
    checksums."""
    ProjectionEngine(store, list(live.values()), batch_size).catch_up()
    noted = {name: projection.checksum_at() for name, projection in live.items()}
    names = list(noted)
    rebuilt = replay_jobs(place, names, {n: pos for n, (pos, _) in noted.items()},
                          jobs=jobs or default_jobs(names, max((pos for pos, _ in noted.values()), default=0)),
                          costs=costs_of(live), batch_size=batch_size, progress=progress)
    return Comparison(noted, rebuilt)
