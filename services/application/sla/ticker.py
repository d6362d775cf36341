"""The live SLA ticker: finds warnings, breaches, retractions and calendar gaps that are due and records them
as events in the store.

Each tick:
1. note the log head, and wait (briefly) until the SLA projection has applied it, so the clocks it reads
   reflect every event recorded before the tick (a projection being rebuilt is behind: nothing fires);
2. read `now` from the injected clock and move the watermark: its instant is `now` minus the allowed
   lateness, its position the log head this ticker saw at least the allowed lateness ago;
3. ask the projection for clocks with something due by the watermark instant and derive their events
   (pure: `domain.sla.alerts.alert_events`): retractions of alerts the clock no longer supports at once; a
   clock shaped by a fact past the watermark position waits (its late facts may still be arriving);
4. append those not yet recorded, in one batch. A concurrent ticker may win the race: the store refuses the
   batch (StoreConflict), the recorded ids are filtered out, and the rest appended again.
The projection then applies the events, which marks the thresholds as alerted (or retracted) on their clocks.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from datetime import datetime, timedelta

from contracts import Envelope, SlaCalendarGapPayload
from domain.sla.alerts import Watermark, alert_events
from projections.sla.queries import SlaStore
from services.adapters.clock import Clock
from services.adapters.metrics import SLA_CALENDAR_GAPS, SLA_EVENTS
from services.adapters.store.eventstore import EventStore, StoreConflict
from services.adapters.supervision import Liveness, StepLoop, run_loop

log = logging.getLogger(__name__)


class SlaTicker:
    """Raises due SLA warnings, breaches and calendar gaps behind a watermark of `allowed_lateness_s`, and
    retracts alerts later facts disprove; never records anything twice (ids follow from clock and threshold)."""

    def __init__(self, store: EventStore, view: SlaStore, clock: Clock, *, catch_up_s: float = 2.0,
                 batch: int = 500, allowed_lateness_s: float = 0.0) -> None:
        self._store = store
        self._view = view
        self._clock = clock
        self._catch_up_s = catch_up_s
        self._batch = batch
        self._lateness = timedelta(seconds=allowed_lateness_s)
        self._heads: deque[tuple[datetime, int]] = deque()  # (first seen at, log head), oldest first
        self._settled = 0  # the watermark position: the head seen at least the allowed lateness ago

    def tick(self) -> list[Envelope]:
        """One pass; returns the events this tick recorded."""
        head = self._store.head()
        if not self._caught_up(head):
            return []
        now = self._clock()
        watermark = self._watermark(now, head)
        due = [event for clock in self._view.due_clocks(watermark.at, self._batch)
               for event in alert_events(clock, now, watermark)]
        recorded = self._record(due)
        _count(recorded)
        return recorded

    def _watermark(self, now: datetime, head: int) -> Watermark:
        """Note `head` as seen at `now`; the watermark trusts what was seen at least the allowed lateness ago
        (after a restart the log is trusted only once that long has passed)."""
        if not self._heads or self._heads[-1][1] != head:
            self._heads.append((now, head))
        cutoff = now - self._lateness
        while self._heads and self._heads[0][0] <= cutoff:
            self._settled = max(self._settled, self._heads.popleft()[1])
        return Watermark(cutoff, self._settled)

    def run(self, stop: threading.Event, interval_s: float = 1.0, liveness: Liveness | None = None) -> None:
        """Tick every `interval_s` until `stop` is set, supervised (services.adapters.supervision: retried with
        backoff)."""
        run_loop("sla-ticker", StepLoop(self._tick_and_log), stop, liveness or Liveness(), idle_s=interval_s)

    def _tick_and_log(self) -> bool:
        for event in self.tick():
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


def _count(events: Sequence[Envelope]) -> None:
    """Metrics of what a tick recorded; a calendar gap is also logged as an error (configuration to fix)."""
    for event in events:
        SLA_EVENTS.labels(event.event_type).inc()
        if isinstance(event.payload, SlaCalendarGapPayload):
            SLA_CALENDAR_GAPS.labels(event.payload.calendar).inc()
            log.error("SLA calendar gap: %s", event.summary())
