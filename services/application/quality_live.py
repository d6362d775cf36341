"""The live quality index of one API process: `domain.quality.live.LiveQuality` over the contacts and customers read
models, caught up before every answer (docs/quality.md, "How the measures are served").

Catching up reads the facts recorded since the last answer (by log position) and the identity decisions made
since (merges, splits, detached identifiers), so an answer sees what the read models held when it was asked, as
the measures computed from all the facts would; when nothing moved it costs two indexed reads. The first answer
reads every fact once; an API process does that at start, in the background (`start_warming`, unless
TOUCHLINE_QUALITY_WARM=false).
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from zoneinfo import ZoneInfo

from domain.identity.segments import SegmentRule
from domain.instants import epoch_us
from domain.quality.fcr import FcrConfig
from domain.quality.live import LiveQuality
from domain.quality.live_scorecard import LiveScorecard
from domain.quality.periods import DEFAULT_ZONE, PeriodKind
from domain.quality.proactive import ProactiveConfig
from domain.quality.scorecard import CalendarFor
from projections.contacts.queries import ContactFactsReader
from projections.customers.queries import CustomerStore
from projections.scorecard.queries import HeldRows, ScorecardReader

CHUNK = 50_000  # facts read per query while catching up
FREEZE_FROM = 100_000  # log positions from which a built index is frozen out of the garbage collector's scans

log = logging.getLogger(__name__)


class LiveQualityIndex:
    def __init__(self, contacts: ContactFactsReader, customers: CustomerStore, fcr: FcrConfig,
                 proactive: ProactiveConfig, rules: tuple[SegmentRule, ...], chunk: int = CHUNK) -> None:
        self._contacts, self._customers, self._chunk = contacts, customers, chunk
        self._live = LiveQuality(fcr, proactive, rules)
        self._lock = threading.Lock()
        self._anchors: set[str] = set()
        self._identities_at = 0
        self._stop = threading.Event()
        self._warming: threading.Thread | None = None

    @contextmanager
    def caught_up(self) -> Iterator[LiveQuality]:
        """The index with every fact and identity change the read models hold now, for the caller alone."""
        with self._lock:
            self._catch_up()
            yield self._live

    def warm(self, at: Callable[[], datetime] | None = None, stop: threading.Event | None = None) -> None:
        """Catch up now (stopping between two reads once `stop` is set), then work out every customer's segment
        as of `at()` (the clock), which the first segments or proactive answer would otherwise do."""
        with self._lock:
            self._catch_up(stop)
            now = at() if at is not None else None
            if now is not None and (stop is None or not stop.is_set()) and epoch_us(now) >= self._live.latest_us:
                self._live.segments(now)
            if self._live.position >= FREEZE_FROM:
                # A large index's objects live as long as the process: out of the collector's reach, a full
                # collection (seconds over a million facts, started by any allocation) does not stall an answer.
                gc.collect()
                gc.freeze()

    def start_warming(self, at: Callable[[], datetime] | None = None,
                      then: Callable[[], object] | None = None) -> None:
        """Build the index in a background thread (an API process at start), then run `then` there (the live
        scorecard's build); answers asked meanwhile wait."""
        self._warming = threading.Thread(target=self._warm_quietly, args=(at, then), name="quality-index",
                                         daemon=True)
        self._warming.start()

    def stop(self) -> None:
        """Stop a build in progress (between two reads) and wait for its thread."""
        self._stop.set()
        if self._warming is not None:
            self._warming.join()
            self._warming = None

    def _warm_quietly(self, at: Callable[[], datetime] | None, then: Callable[[], object] | None) -> None:
        try:
            self.warm(at, self._stop)
            if then is not None and not self._stop.is_set():
                then()
        except Exception:  # noqa: BLE001 - the read models may be unreachable now; the first answer tries again
            log.warning("the live quality index could not be built at start; the first answer builds it",
                        exc_info=True)

    def _catch_up(self, stop: threading.Event | None = None) -> None:
        if self._live.position == 0 and self._identities_at == 0:
            # identities met from now on are read as they stand; only decisions after this point move them
            self._identities_at = self._customers.position()
        while stop is None or not stop.is_set():
            facts = self._contacts.facts_after(self._live.position, self._chunk)
            if not facts:
                break
            met = sorted({f.anchor for f in facts if f.anchor is not None} - self._anchors)
            self._live.reassign(self._customers.resolve_many(met))
            self._anchors.update(met)
            self._live.add(facts)
            if len(facts) < self._chunk:
                break
        position, moved = self._customers.identity_changes(self._identities_at)
        self._live.reassign({anchor: customer for anchor, customer in moved.items() if anchor in self._anchors})
        self._identities_at = position
        self._live.compact()


class LiveScorecardIndex:
    """`domain.quality.live_scorecard.LiveScorecard` over the scorecard store, caught up before every answer from
    the rows its batches wrote since (`changed_since`): two indexed reads per table when nothing moved."""

    def __init__(self, store: ScorecardReader) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._rows = HeldRows()
        self._live: LiveScorecard | None = None
        self._at = -1  # before every row: rows written before changes were tracked have changed_at 0

    def warm(self, calendar_for: CalendarFor, at: Callable[[], datetime]) -> None:
        """Catch up and build the boards of the default zone (months and quarters), asking as of `at()`."""
        with self.caught_up(calendar_for) as live:
            for kind in PeriodKind:
                live.scorecard(kind, ZoneInfo(DEFAULT_ZONE), at())

    @contextmanager
    def caught_up(self, calendar_for: CalendarFor) -> Iterator[LiveScorecard]:
        """The index with every row the store holds now (built on first use, with the departments' calendars)."""
        with self._lock:
            if self._live is None:
                self._live = LiveScorecard(calendar_for)
            position, changed = self._store.changed_since(self._at)
            if any(changed.values()):
                self._live.update(**self._rows.facts(changed))
            self._at = position
            yield self._live
