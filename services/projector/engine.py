"""Projection engine: read the global log in batches, decode once, apply to every projection behind it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from projections.protocol import ProjectionStore
from services.metrics import LOG_HEAD, PROJECTION_POSITION
from services.store.eventstore import EventStore

log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]  # (position reached, head)


class ProjectionEngine:
    """Keeps projection stores caught up with the store's log, one transaction per batch per projection."""

    def __init__(self, store: EventStore, projections: Sequence[ProjectionStore], batch_size: int = 2000) -> None:
        self._store = store
        self._projections = list(projections)
        self._batch_size = batch_size

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
        for projection in self._projections:
            behind = [e for e in events if e.position > positions[projection.name]]
            if behind:
                PROJECTION_POSITION.labels(projection.name).set(projection.apply(behind))
        LOG_HEAD.set(events[-1].position)
        return len(events)

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

    def run(self, stop: threading.Event, idle_s: float = 0.05) -> None:
        while not stop.is_set():
            try:
                if self.run_once() == 0:
                    stop.wait(idle_s)
            except Exception:
                log.exception("projection batch failed; retrying")
                stop.wait(1.0)


def rebuild(store: EventStore, projection: ProjectionStore, batch_size: int, progress: Progress | None = None) -> int:
    """Rebuild one projection from zero in place."""
    projection.create()
    projection.reset()
    return ProjectionEngine(store, [projection], batch_size).catch_up(progress)
