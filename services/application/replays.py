"""Replays asked for over HTTP (`POST /v1/audit/replays`): a rebuild-and-compare run in the background.

A replay takes seconds to minutes, longer than a request should wait, so the API starts it and answers at once;
the caller polls its state. One replay runs at a time (a second request is refused while one runs: each reads the
whole log and rebuilds every projection). What a replay does is `touchline audit compare`
(`services.application.rebuild.compare_live`): live projections caught up, their checksums noted, every projection
rebuilt from zero into a temporary place to the same positions, the pairs compared; nothing is appended to the log,
nothing is re-sent. States are kept in memory, the latest `keep`, and each outcome is logged: a restarted API
forgets them (run the replay again). An API that stops (`close`) stops a running replay at its next progress
report, which then says failed (cancelled), and waits for it: no replay outlives the store and read models it
reads.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from services.adapters.clock import Clock, utc_now
from services.application.replay import Comparison, Progress

log = logging.getLogger(__name__)
Runner = Callable[[Progress], Comparison]  # runs one replay, reporting (position reached, last position)


class ReplayBusy(Exception):
    """A replay is already running (its id is the message)."""


class ReplaysClosed(Exception):
    """The API process is stopping: it starts no replay."""


class ReplayCancelled(Exception):
    """Raised from a replay's progress report once its API process is stopping: the replay ends there."""


@dataclass(frozen=True, slots=True)
class ReplayJob:
    """One replay's state: running, then equal, different or failed."""

    replay_id: str
    requested_by: str
    started_at: datetime
    status: str = "running"
    position: int = 0
    last: int = 0
    finished_at: datetime | None = None
    comparison: Comparison | None = None
    error: str | None = None

    @property
    def running(self) -> bool:
        return self.status == "running"


class ReplayJobs:
    """Starts replays in a background thread, one at a time, and keeps the latest `keep` states."""

    def __init__(self, run: Runner, clock: Clock = utc_now, keep: int = 20) -> None:
        self._run, self._clock, self._keep = run, clock, keep
        self._lock = threading.Lock()
        self._jobs: dict[str, ReplayJob] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._closed = threading.Event()

    def start(self, requested_by: str) -> ReplayJob:
        """Start a replay; ReplayBusy while another runs, ReplaysClosed once closed."""
        with self._lock:
            if self._closed.is_set():
                raise ReplaysClosed("this API process is stopping")
            running = [job.replay_id for job in self._jobs.values() if job.running]
            if running:
                raise ReplayBusy(running[0])
            job = ReplayJob(uuid.uuid4().hex, requested_by, self._clock())
            self._jobs[job.replay_id] = job
            for old in list(self._jobs)[:-self._keep]:
                del self._jobs[old]
                self._threads.pop(old, None)
            thread = threading.Thread(target=self._replay, args=(job.replay_id,), name=f"replay-{job.replay_id[:8]}",
                                      daemon=True)
            self._threads[job.replay_id] = thread
        thread.start()
        return job

    def get(self, replay_id: str) -> ReplayJob | None:
        with self._lock:
            return self._jobs.get(replay_id)

    def recent(self) -> list[ReplayJob]:
        """The kept replays, newest first."""
        with self._lock:
            return list(reversed(self._jobs.values()))

    def join(self, replay_id: str, timeout_s: float | None = None) -> ReplayJob | None:
        """Wait for a replay to finish (at most `timeout_s`); its state."""
        with self._lock:
            thread = self._threads.get(replay_id)
        if thread is not None:
            thread.join(timeout_s)
        return self.get(replay_id)

    def close(self, timeout_s: float = 60.0) -> None:
        """Start no more replays; stop a running one at its next progress report and wait for it (at most
        `timeout_s`: one still catching up the live projections reports only once that is done)."""
        self._closed.set()
        with self._lock:
            threads = list(self._threads.values())
        for thread in threads:
            thread.join(timeout_s)

    def _progress(self, replay_id: str, at: int, last: int) -> None:
        if self._closed.is_set():
            raise ReplayCancelled("cancelled: the API process stopped")
        self._update(replay_id, position=at, last=last)

    def _replay(self, replay_id: str) -> None:
        try:
            comparison = self._run(lambda at, last: self._progress(replay_id, at, last))
        except ReplayCancelled as exc:
            log.info("replay %s %s", replay_id, exc)
            self._update(replay_id, status="failed", error=str(exc), finished_at=self._clock())
            return
        except Exception as exc:  # reported in the replay's state, and logged whole
            log.exception("replay %s failed", replay_id)
            self._update(replay_id, status="failed", error=f"{type(exc).__name__}: {exc}",
                         finished_at=self._clock())
            return
        status = "different" if comparison.differing else "equal"
        log.info("replay %s: %s%s", replay_id, status,
                 f" ({', '.join(comparison.differing)})" if comparison.differing else "")
        self._update(replay_id, status=status, comparison=comparison, finished_at=self._clock())

    def _update(self, replay_id: str, **changes: object) -> None:
        with self._lock:
            job = self._jobs.get(replay_id)
            if job is not None:
                self._jobs[replay_id] = replace(job, **changes)  # type: ignore[arg-type]
