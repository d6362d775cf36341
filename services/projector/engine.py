"""Projection engine: read the global log in batches, decode once, apply to every projection behind it.

An erasure (`privacy.subject_erased`) makes earlier batches stale: they may hold personal values read before the
customer's keys were destroyed. After applying a batch in which some projection met such an event, the engine
rebuilds every projection from zero in place (every batch it then reads was read after the keys were destroyed),
then carries on. Being the one projector, it cannot race itself; a crash during the rebuild resumes from the
positions reached and meets the erasure event again, which starts the rebuild over.
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager

from contracts import PrivacySubjectErased
from domain.log import RecordedEvent
from projections.protocol import ProjectionStore
from projections.sqlstore import DirectRebuild, Rebuild
from services.metrics import LOG_HEAD, PROJECTION_POSITION
from services.store.eventstore import EventStore
from services.supervision import Liveness, StepLoop, run_loop

log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]  # (position reached, head)
REBUILD_FLUSH = 100_000  # events a rebuild holding its state folds between two writes
REBUILD_BATCH = 10_000  # events read (and decoded) at a time by a rebuild


class ProjectionEngine:
    """Keeps projection stores caught up with the store's log, one transaction per batch per projection."""

    def __init__(self, store: EventStore, projections: Sequence[ProjectionStore], batch_size: int = 2000, *,
                 rebuild_after_erasure: bool = True) -> None:
        self._store = store
        self._projections = list(projections)
        self._batch_size = batch_size
        self._rebuild_after_erasure = rebuild_after_erasure

    @property
    def projections(self) -> list[ProjectionStore]:
        return list(self._projections)

    def run_once(self) -> int:
        """Apply one batch to the projections that are furthest behind; return how many events were read."""
        positions = {p.name: p.position() for p in self._projections}
        lowest = min(positions.values(), default=0)
        events = self._store.read(lowest, self._batch_size)
        if not events:
            return 0
        erased = False
        for projection in self._projections:
            behind = [e for e in events if e.position > positions[projection.name]]
            if behind:
                PROJECTION_POSITION.labels(projection.name).set(projection.apply(behind))
                erased = erased or _has_erasure(behind)
        LOG_HEAD.set(events[-1].position)
        if erased and self._rebuild_after_erasure:
            self.rebuild_all()
        return len(events)

    def rebuild_all(self, progress: Progress | None = None) -> int:
        """Rebuild every projection from zero in place up to the log head, reading each batch once for all (held
        rebuilds where a store has one, as `touchline rebuild all` does); return the events replayed."""
        log.info("rebuilding %s from zero after an erasure", ", ".join(p.name for p in self._projections))
        head = self._store.head()
        counts = rebuild_together(self._store, {p.name: p for p in self._projections},
                                  dict.fromkeys((p.name for p in self._projections), head),
                                  max(self._batch_size, REBUILD_BATCH), progress)
        return max(counts.values(), default=0)

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
        """Batch after batch until `stop` is set, supervised (services.supervision: retried with backoff)."""
        run_loop("projector", StepLoop(lambda: self.run_once() > 0), stop, liveness or Liveness(), idle_s=idle_s)


def rebuild_together(store: EventStore, projections: Mapping[str, ProjectionStore], stops: Mapping[str, int],
                     batch_size: int = REBUILD_BATCH, progress: Progress | None = None,
                     flush_every: int = REBUILD_FLUSH) -> dict[str, int]:
    """Rebuild `projections` from zero in place together, each up to its position in `stops`: every batch is read
    and decoded once for all of them; stores that hold their state (`rebuilding()`) fold batch after batch and
    write what changed every `flush_every` events and at the end. Return the events each one applied."""
    for projection in projections.values():
        projection.create()
        projection.reset()
    rebuilds = {name: rebuilding(projection) for name, projection in projections.items()}
    counts = dict.fromkeys(projections, 0)
    after, last, unflushed = 0, max(stops.values(), default=0), 0
    with fewer_collections():
        while after < last and (events := store.read(after, batch_size, stop=last)):
            for name, target in rebuilds.items():
                mine = events if events[-1].position <= stops[name] else [
                    e for e in events if e.position <= stops[name]]
                if mine:
                    target.apply(mine)
                    counts[name] += len(mine)
            after, unflushed = events[-1].position, unflushed + len(events)
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


class _Collections:
    """Process-wide cyclic garbage collection thresholds, lowered back when the last rebuild ends."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rebuilds = 0
        self.saved = gc.get_threshold()


_COLLECTIONS = _Collections()
REBUILD_GC_THRESHOLD = 50_000  # allocations between young-generation collections while a rebuild runs


@contextmanager
def fewer_collections(threshold: int = REBUILD_GC_THRESHOLD) -> Iterator[None]:
    """Run the cyclic garbage collector less often while a rebuild runs. A rebuild allocates millions of small,
    acyclic objects (freed by reference counting) while it holds a large state, and at the default threshold the
    collector's passes over that state took a quarter of its time (bench/rebuild.py); cycles are still
    collected, only less often. The previous thresholds come back when the last concurrent rebuild ends."""
    state = _COLLECTIONS
    with state.lock:
        if state.rebuilds == 0:
            state.saved = gc.get_threshold()
            gc.set_threshold(max(threshold, state.saved[0]), *state.saved[1:])
        state.rebuilds += 1
    try:
        yield
    finally:
        with state.lock:
            state.rebuilds -= 1
            if state.rebuilds == 0:
                gc.set_threshold(*state.saved)


def rebuilding(projection: ProjectionStore) -> Rebuild:
    """The projection's own way to rebuild from zero (after `reset`), or batch by batch through `apply`."""
    own = getattr(projection, "rebuilding", None)
    return own() if callable(own) else DirectRebuild(projection)


def _has_erasure(events: Sequence[RecordedEvent]) -> bool:
    return any(isinstance(recorded.event, PrivacySubjectErased) for recorded in events)
