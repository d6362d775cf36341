"""Projection engine: read the global log in batches, decode once, apply to every projection behind it.

An erasure (`privacy.subject_erased`) makes earlier batches stale: they may hold personal values read before the
customer's keys were destroyed. After applying a batch in which some projection met such an event, the engine
rebuilds every projection from zero in place (every batch it then reads was read after the keys were destroyed),
then carries on. Being the one projector, it cannot race itself; a crash during the rebuild resumes from the
positions reached and meets the erasure event again, which starts the rebuild over.

An event a projection cannot apply is parked (services.application.projector.isolation): recorded in
`projection_failures`, skipped by that projection, while it and the others go on. A retry asked for by an operator
(API or CLI: a flag on
the parked rows) is done here, by the one writer: the projection is rebuilt from zero in place, which applies the
parked events with the fixed code (resolved) or parks them again. Errors that are not the events' (a lost
database) fail the batch for that projection only; the others are still applied, and the batch is retried.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence

from sqlalchemy import Engine

from contracts import PrivacySubjectErased
from domain.log import RecordedEvent
from projections.failures import retry_requests, settle, unresolved_counts, unresolved_positions
from projections.protocol import ProjectionStore
from projections.sqlstore import DirectRebuild, Rebuild, positions_of
from services.adapters.clock import Clock, utc_now
from services.adapters.collector import fewer_collections, keep_survivors
from services.adapters.metrics import LOG_HEAD, PROJECTION_FAILURES, PROJECTION_POSITION
from services.adapters.store.eventstore import EventStore
from services.adapters.supervision import Liveness, StepLoop, run_loop
from services.application.projector.isolation import Isolation, Unreadable, not_the_events, read_events

log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]  # (position reached, head)
REBUILD_FLUSH = 100_000  # events a rebuild holding its state folds between two writes
REBUILD_BATCH = 10_000  # events read (and decoded) at a time by a rebuild
RETRY_CHECK_S = 1.0  # seconds between two looks for the retries operators asked for


class ProjectionsFailing(RuntimeError):
    """A batch could not be applied to some projections for a reason other than its events (retried)."""


class ProjectionEngine:
    """Keeps projection stores caught up with the store's log, one transaction per batch per projection.

    A read asks for `batch_size` events; while reads come back full (the projections are behind the log), the
    next asks for twice as many, up to `max_batch_size`: each batch costs a transaction per projection and the
    loading and writing of the rows it changes, once per batch however many events change them, so a backlog
    is applied faster in larger batches. A read that finds fewer events than asked (caught up) goes back to
    `batch_size`; whatever a read finds is applied at once, however few.

    `views` (the read-model database) is where retries are asked for and parked events counted; without it
    (stores in memory) there are no retries."""

    def __init__(self, store: EventStore, projections: Sequence[ProjectionStore], batch_size: int = 2000, *,
                 rebuild_after_erasure: bool = True, views: Engine | None = None, clock: Clock = utc_now,
                 retry_check_s: float = RETRY_CHECK_S, max_batch_size: int = REBUILD_BATCH) -> None:
        self._store = store
        self._projections = list(projections)
        self._batch_size = batch_size
        self._max_batch_size = max(batch_size, max_batch_size)
        self._limit = batch_size  # events the next read asks for: grows while reads come back full (behind)
        self._rebuild_after_erasure = rebuild_after_erasure
        self._views = views
        self._clock = clock
        self._isolation = Isolation(clock)
        self._counted = -1  # parked events when the gauge was last set (-1: never)
        self._retry_check_s = retry_check_s
        self._retries_seen: float | None = None  # monotonic time retry requests were last looked for

    @property
    def projections(self) -> list[ProjectionStore]:
        return list(self._projections)

    def run_once(self) -> int:
        """Do the retries asked for, then apply one batch to the projections that are furthest behind; return
        how many events were read."""
        if self._views is not None and (self._retries_seen is None
                                        or time.monotonic() - self._retries_seen >= self._retry_check_s):
            self._retries_seen = time.monotonic()
            self.do_retries()
        positions = positions_of(self._projections)
        lowest = min(positions.values(), default=0)
        read = read_events(self._store, lowest, self._limit)
        events = read.events
        self._limit = (min(self._limit * 2, self._max_batch_size) if len(events) >= self._limit
                       else self._batch_size)
        if not events and read.unreadable is None:
            self._count_failures()
            return 0
        erased, failing = False, dict[str, Exception]()
        with fewer_collections():  # a batch's objects are acyclic: the collector need not walk the whole heap
            for projection in self._projections:
                behind = [e for e in events if e.position > positions[projection.name]]
                if behind:
                    try:
                        PROJECTION_POSITION.labels(projection.name).set(self._isolation.apply(projection, behind))
                    except Exception as error:  # noqa: BLE001 - not the events': retried, the others go on
                        failing[projection.name] = error
                        continue
                    erased = erased or _has_erasure(behind)
        if read.unreadable is not None:
            for projection in self._projections:
                if projection.name not in failing and positions[projection.name] < read.unreadable.row.position:
                    self._isolation.park_unreadable(projection, read.unreadable)
        LOG_HEAD.set(read.last(lowest))
        self._count_failures()
        if failing:
            raise ProjectionsFailing(f"batch after {lowest} failed for {', '.join(failing)}") from next(
                iter(failing.values()))
        if erased and self._rebuild_after_erasure:
            self.rebuild_all()
        return len(events) + (read.unreadable is not None)

    def rebuild_all(self, progress: Progress | None = None) -> int:
        """Rebuild every projection from zero in place up to the log head, reading each batch once for all (held
        rebuilds where a store has one, as `touchline rebuild all` does); return the events replayed."""
        log.info("rebuilding %s from zero after an erasure", ", ".join(p.name for p in self._projections))
        return self._rebuild([p.name for p in self._projections], progress)[0]

    def retry(self, name: str) -> set[int]:
        """Retry a projection's parked events: rebuild it from zero in place up to the log head (which applies
        each parked event again, with the code as it is now); return the positions now resolved."""
        log.info("retrying the parked events of %s: rebuilding it from zero", name)
        return self._rebuild([name])[1].get(name, set())

    def _rebuild(self, names: Sequence[str], progress: Progress | None = None) -> tuple[int, dict[str, set[int]]]:
        """Rebuild `names` from zero in place; the parked events a rebuild applied are resolved, and the retries
        asked for them done. Return the events replayed and the positions resolved per projection."""
        chosen = {p.name: p for p in self._projections if p.name in names}
        before = {name: unresolved_positions(self._views, name) for name in chosen} if self._views else {}
        isolation = Isolation(self._clock)
        counts = rebuild_together(self._store, chosen, dict.fromkeys(chosen, self._store.head()),
                                  max(self._batch_size, REBUILD_BATCH), progress, isolation=isolation)
        resolved = {name: positions - isolation.parked_positions(name) for name, positions in before.items()}
        if self._views is not None:
            for name in chosen:
                settle(self._views, name, resolved.get(name, set()), self._clock())
        self._counted = -1
        self._count_failures()
        return max(counts.values(), default=0), resolved

    def do_retries(self) -> dict[str, set[int]]:
        """Do the retries operators asked for (`projection_failures.retry_requested_us`; `run_once` looks for them
        every `retry_check_s`); the positions resolved per projection retried."""
        if self._views is None:
            return {}
        known = {p.name for p in self._projections}
        return {name: self.retry(name) for name in retry_requests(self._views) if name in known}

    def _count_failures(self) -> None:
        """Set the parked-events gauge from the read-model database when something may have changed."""
        if self._views is None or self._counted == len(self._isolation.parked):
            return
        counts = unresolved_counts(self._views)
        for projection in self._projections:
            PROJECTION_FAILURES.labels(projection.name).set(counts.get(projection.name, 0))
        self._counted = len(self._isolation.parked)

    def catch_up(self, progress: Progress | None = None) -> int:
        """Run until every projection has reached the log head as it was when called."""
        head = self._store.head()
        total = 0
        while (read := self.run_once()) > 0:
            total += read
            if progress is not None:
                progress(min(p.position() for p in self._projections), head)
            if min(p.position() for p in self._projections) >= head:
                break
        return total

    def run(self, stop: threading.Event, idle_s: float = 0.05, liveness: Liveness | None = None) -> None:
        """Batch after batch until `stop` is set, supervised (services.adapters.supervision: retried with backoff)."""
        run_loop("projector", StepLoop(lambda: self.run_once() > 0), stop, liveness or Liveness(), idle_s=idle_s)


def rebuild_together(store: EventStore, projections: Mapping[str, ProjectionStore], stops: Mapping[str, int],
                     batch_size: int = REBUILD_BATCH, progress: Progress | None = None,
                     flush_every: int = REBUILD_FLUSH, *, isolation: Isolation | None = None) -> dict[str, int]:
    """Rebuild `projections` from zero in place together, each up to its position in `stops`: every batch is read
    and decoded once for all of them; stores that hold their state (`rebuilding()`) fold batch after batch and
    write what changed every `flush_every` events and at the end. Events a projection cannot apply are parked
    as the live projector parks them (`isolation.parked` lists them). Return the events each one applied."""
    isolation = isolation or Isolation()
    for projection in projections.values():
        projection.create()
        projection.reset()
    rebuilds = {name: GuardedRebuild(store, projection, isolation, batch_size)
                for name, projection in projections.items()}
    counts = dict.fromkeys(projections, 0)
    after, last, unflushed = 0, max(stops.values(), default=0), 0
    with fewer_collections():
        while after < last and ((read := read_events(store, after, batch_size, stop=last)).events
                                or read.unreadable is not None):
            events = read.events
            for name, target in rebuilds.items():
                mine = events if not events or events[-1].position <= stops[name] else [
                    e for e in events if e.position <= stops[name]]
                if mine:
                    target.apply(mine)
                    counts[name] += len(mine)
                if read.unreadable is not None and read.unreadable.row.position <= stops[name]:
                    target.park(read.unreadable)
            after, unflushed = read.last(after), unflushed + len(events)
            keep_survivors()
            if unflushed >= flush_every:
                for target in rebuilds.values():
                    target.flush()
                unflushed = 0
            if progress is not None:
                progress(after, last)
        for target in rebuilds.values():
            target.flush()
    return counts


def rebuild(store: EventStore, projection: ProjectionStore, batch_size: int, progress: Progress | None = None,
            flush_every: int = REBUILD_FLUSH) -> int:
    """Rebuild one projection from zero in place, up to the log head as it was when called; return how many
    events it applied. A store that holds its state (`rebuilding()`) writes every `flush_every` events."""
    counts = rebuild_together(store, {projection.name: projection}, {projection.name: store.head()}, batch_size,
                              progress, flush_every)
    return counts[projection.name]


class GuardedRebuild:
    """A rebuild from zero that parks the events its projection cannot apply, as the live projector does.

    The batch-by-batch way goes through `Isolation`. A rebuild holding its state in memory cannot take one event
    out of what it holds, so when it fails on the events (folding, or preparing rows at a flush) it is given up:
    the projection holds exactly the rows of the events up to its last flush, and the rest is applied batch by
    batch from there, reading the log again up to the last event the held rebuild was given."""

    def __init__(self, store: EventStore, projection: ProjectionStore, isolation: Isolation,
                 batch_size: int) -> None:
        self._store, self._projection, self._isolation = store, projection, isolation
        self._batch_size = batch_size
        self._held: Rebuild | None = rebuilding(projection)
        if isinstance(self._held, DirectRebuild):
            self._held = None
        self._given = 0  # position of the last event given to the held rebuild

    def apply(self, events: Sequence[RecordedEvent]) -> int:
        if self._held is None:
            return self._isolation.apply(self._projection, events)
        try:
            self._given = max(self._given, events[-1].position) if events else self._given
            return self._held.apply(events)
        except Exception as error:
            if not_the_events(error):
                raise
            return self._batch_by_batch(error)

    def flush(self) -> int:
        if self._held is None:
            return self._projection.position()
        try:
            return self._held.flush()
        except Exception as error:
            if not_the_events(error):
                raise
            return self._batch_by_batch(error)

    def park(self, unreadable: Unreadable) -> int:
        """Park a row that does not decode: a held rebuild writes what it holds first and goes on batch by batch
        (its stored position moves past the row)."""
        if self._held is not None:
            self.flush()
            self._held = None
        return self._isolation.park_unreadable(self._projection, unreadable)

    def _batch_by_batch(self, error: Exception) -> int:
        log.warning("rebuild of %s cannot hold an event (%s: %s); going on batch by batch from position %d",
                    self._projection.name, type(error).__name__, error, self._projection.position())
        self._held = None
        after = self._projection.position()
        while after < self._given and ((read := read_events(self._store, after, self._batch_size,
                                                             stop=self._given)).events or read.unreadable):
            self._isolation.apply(self._projection, read.events)
            if read.unreadable is not None:
                self._isolation.park_unreadable(self._projection, read.unreadable)
            after = read.last(after)
        return self._projection.position()


def rebuilding(projection: ProjectionStore) -> Rebuild:
    """The projection's own way to rebuild from zero (after `reset`), or batch by batch through `apply`."""
    own = getattr(projection, "rebuilding", None)
    return own() if callable(own) else DirectRebuild(projection)


def _has_erasure(events: Sequence[RecordedEvent]) -> bool:
    return any(isinstance(recorded.event, PrivacySubjectErased) for recorded in events)
