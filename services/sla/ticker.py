"""The live SLA ticker: finds warnings and breaches that are due and records them as events in the store.

Each tick:
1. note the log head, and wait (briefly) until the SLA projection has applied it, so the clocks it reads
   reflect every event recorded before the tick (a projection being rebuilt is behind: nothing fires);
2. read `now` from the injected clock and ask the projection for clocks with a threshold due by then;
3. derive the alert events (pure: deterministic ids and contents, `occurred_at` = the threshold instant);
4. append those not yet recorded, in one batch. A concurrent ticker may win the race: the store refuses the
   batch (StoreConflict), the recorded ids are filtered out, and the rest appended again.
The projection then applies the alerts, which marks the thresholds as alerted on their clocks.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from contracts import Envelope
from domain.sla.alerts import alert_events
from projections.sla.queries import SlaStore
from services.clock import Clock
from services.metrics import SLA_ALERTS
from services.store.eventstore import EventStore, StoreConflict
from services.supervision import Liveness, StepLoop, run_loop

log = logging.getLogger(__name__)


class SlaTicker:
    """Raises due SLA warnings and breaches; never fires twice (alert ids follow from clock and threshold)."""

    def __init__(self, store: EventStore, view: SlaStore, clock: Clock, *, catch_up_s: float = 2.0,
                 batch: int = 500) -> None:
        self._store = store
        self._view = view
        self._clock = clock
        self._catch_up_s = catch_up_s
        self._batch = batch

    def tick(self) -> list[Envelope]:
        """One pass; returns the alert events this tick recorded."""
        if not self._caught_up(self._store.head()):
            return []
        now = self._clock()
        due = [event for clock in self._view.due_clocks(now, self._batch) for event in alert_events(clock, now)]
        return self._record(due)

    def run(self, stop: threading.Event, interval_s: float = 1.0, liveness: Liveness | None = None) -> None:
        """Tick every `interval_s` until `stop` is set, supervised (services.supervision: retried with backoff)."""
        run_loop("sla-ticker", StepLoop(self._tick_and_log), stop, liveness or Liveness(), idle_s=interval_s)

    def _tick_and_log(self) -> bool:
        for event in self.tick():
            SLA_ALERTS.labels(event.event_type).inc()
            log.info("SLA alert recorded: %s", event.summary(), extra={"event_id": str(event.event_id)})
        return False  # one tick per interval

    def _caught_up(self, head: int) -> bool:
        deadline = time.monotonic() + self._catch_up_s
        while self._view.position() < head:
            if time.monotonic() >= deadline:
                log.debug("SLA projection behind the log (%s < %s); skipping this tick", self._view.position(), head)
                return False
            time.sleep(0.02)
        return True

    def _record(self, events: Sequence[Envelope]) -> list[Envelope]:
        for _attempt in range(3):
            recorded = self._store.recorded_ids(e.event_id for e in events)
            fresh = [e for e in events if e.event_id not in recorded]
            if not fresh:
                return []
            try:
                self._store.append(fresh)
                return fresh
            except StoreConflict:
                continue  # another ticker recorded some of them meanwhile
        raise StoreConflict("alert events kept conflicting with concurrent appends")
