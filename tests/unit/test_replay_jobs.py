"""Replays asked for over HTTP run in the background, one at a time; their state says how they went."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from services.application.replay import Comparison, Progress, Rebuilt
from services.application.replays import ReplayBusy, ReplayJobs, ReplaysClosed

AT = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def comparison(rebuilt_timeline: str) -> Comparison:
    return Comparison(live={"timeline": (40, "aa"), "cases": (40, "bb")},
                      rebuilt={"timeline": Rebuilt("timeline", 40, 40, rebuilt_timeline),
                               "cases": Rebuilt("cases", 40, 40, "bb")})


class Gate:
    """A runner that reports progress, then waits to be let through, then answers or fails."""

    def __init__(self, answer: Comparison | Exception) -> None:
        self.answer, self.reached, self.through = answer, threading.Event(), threading.Event()

    def __call__(self, progress: Progress) -> Comparison:
        progress(20, 40)
        self.reached.set()
        assert self.through.wait(5)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def test_a_replay_runs_in_the_background_one_at_a_time_and_says_equal() -> None:
    gate = Gate(comparison("aa"))
    jobs = ReplayJobs(gate, clock=lambda: AT)
    job = jobs.start("auditor")
    assert gate.reached.wait(5)
    running = jobs.get(job.replay_id)
    assert running is not None and (running.status, running.position, running.last) == ("running", 20, 40)
    with pytest.raises(ReplayBusy, match=job.replay_id):
        jobs.start("admin")
    gate.through.set()
    done = jobs.join(job.replay_id, 5)
    assert done is not None and done.status == "equal" and done.finished_at == AT and done.error is None
    assert done.comparison is not None and done.comparison.differing == []
    again = jobs.start("admin")  # the next may start once it finished
    assert again.replay_id != job.replay_id and [j.replay_id for j in jobs.recent()][1] == job.replay_id
    assert jobs.join(again.replay_id, 5) is not None  # no thread outlives the test


def test_a_differing_projection_and_a_failure_are_reported() -> None:
    differs = Gate(comparison("zz"))
    differs.through.set()
    jobs = ReplayJobs(differs)
    found = jobs.join(jobs.start("auditor").replay_id, 5)
    assert found is not None and found.status == "different"
    assert found.comparison is not None and found.comparison.differing == ["timeline"]

    broken = Gate(RuntimeError("database gone"))
    broken.through.set()
    failed_jobs = ReplayJobs(broken)
    failed = failed_jobs.join(failed_jobs.start("auditor").replay_id, 5)
    assert failed is not None and failed.status == "failed" and failed.error == "RuntimeError: database gone"
    assert failed.finished_at is not None and not failed.running


def test_only_the_latest_are_kept() -> None:
    done = Gate(comparison("aa"))
    done.through.set()
    jobs = ReplayJobs(done, keep=2)
    ids = []
    for _ in range(3):
        ids.append(jobs.start("auditor").replay_id)
        jobs.join(ids[-1], 5)
    assert [job.replay_id for job in jobs.recent()] == [ids[2], ids[1]] and jobs.get(ids[0]) is None


def test_closing_stops_a_running_replay_at_its_next_report_and_waits_for_it() -> None:
    """The API's close: a replay still running would read a closed store and disposed read models."""
    reports: list[int] = []
    reached = threading.Event()

    def endless(progress: Progress) -> Comparison:
        at = 0
        while True:
            at += 1
            progress(at, 10**9)
            reports.append(at)
            reached.set()

    jobs = ReplayJobs(endless, clock=lambda: AT)
    job = jobs.start("auditor")
    assert reached.wait(5)
    jobs.close(timeout_s=5)
    done = jobs.get(job.replay_id)
    assert done is not None and (done.status, done.error) == ("failed", "cancelled: the API process stopped")
    assert done.finished_at == AT and not any(t.is_alive() for t in threading.enumerate()
                                              if t.name == f"replay-{job.replay_id[:8]}")
    assert reports  # it had run, reporting, until the report after `close`
    with pytest.raises(ReplaysClosed):
        jobs.start("auditor")
