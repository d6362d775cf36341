"""`touchline run` as a real process: ready only once the recorder has its partitions, SIGTERM stops it cleanly
with its local broker, restarts on the same data lose and duplicate nothing, a dead loop ends it non-zero."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg import sql

from services.adapters.opening import open_event_store
from services.adapters.settings import Settings
from tests.support.pipeline import BEARER, TOKENS, free_port, stored_ids, touchpoint

pytestmark = pytest.mark.integration
CLEARED = ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL", "PORT")


@dataclass
class Run:
    """One `touchline run` process and what its /readyz answered while it started."""

    proc: subprocess.Popen[bytes]
    base: str
    log: Path
    readiness: list[tuple[int, dict[str, str]]] = field(default_factory=list)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-5000:]


def run_env(data_dir: Path, port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOUCHLINE_") and k not in CLEARED}
    return env | {"TOUCHLINE_DATA_DIR": str(data_dir), "PORT": str(port), "TOUCHLINE_ENV": "test",
                  "TOUCHLINE_BOOTSTRAP_TOKENS": TOKENS, "TOUCHLINE_KAFKA_SESSION_TIMEOUT_MS": "6000",
                  "TOUCHLINE_LOG_FORMAT": "json"} | extra


@contextmanager
def touchline_run(data_dir: Path, **extra: str) -> Iterator[Run]:
    """Start `touchline run`, wait for /readyz 200 (noting every answer before), yield; kill it if still alive."""
    port = free_port()
    log = data_dir.parent / f"run-{uuid.uuid4().hex[:6]}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "services.entrypoints.cli", "run"],
                                env=run_env(data_dir, port, **extra), stdout=out, stderr=subprocess.STDOUT)
    run = Run(proc, f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + 90
        while not run.readiness or run.readiness[-1][0] != 200:
            assert proc.poll() is None, f"touchline run exited with {proc.returncode}:\n{run.output()}"
            assert time.monotonic() < deadline, f"never ready: {run.readiness[-3:]}\n{run.output()}"
            with suppress(httpx.TransportError):
                response = httpx.get(f"{run.base}/readyz", timeout=5)
                body = response.json()
                run.readiness.append((response.status_code, body.get("checks", body)))
            time.sleep(0.1)
        yield run
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def children(pid: int) -> set[int]:
    """Process ids whose parent is `pid` (the local broker runs in its own session, still our child)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.add(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def post_events(run: Run, count: int) -> list[uuid.UUID]:
    events = [touchpoint(i, "web") for i in range(count)]
    response = httpx.post(f"{run.base}/v1/events", json=events, headers=BEARER["web"], timeout=30)
    assert response.status_code == 202, response.text
    return [uuid.UUID(e["event_id"]) for e in events]


def terminate(run: Run) -> int:
    run.proc.send_signal(signal.SIGTERM)
    try:
        return run.proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail(f"touchline run did not stop on SIGTERM:\n{run.output()}")


def recorded(data_dir: Path, sent: list[uuid.UUID]) -> list[uuid.UUID]:
    """The sent events as recorded in the store (duplicates would show twice; the run records its own too)."""
    store = open_event_store(Settings(data_dir=data_dir, env="test", database_url=""))
    try:
        ids = stored_ids(store)
    finally:
        store.close()
    assert len(ids) == len(set(ids)), "no event recorded twice"
    return sorted(i for i in ids if i in set(sent))


def test_ready_only_with_partitions_and_sigterm_stops_it_and_its_broker(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with touchline_run(data) as run:
        status, checks = run.readiness[-1]
        assert checks["recorder"] == "ok", "ready means the recorder has its partitions"
        assert all(c.get("recorder") in (None, "waiting", "starting") for s, c in run.readiness if s == 503)
        sent = post_events(run, 5)  # right after the first 200
        broker = children(run.proc.pid)
        assert broker, "the local broker runs as a child process"
        assert terminate(run) == 0, run.output()
    assert not [pid for pid in broker if alive(pid)], "SIGTERM must stop the local broker too"
    assert recorded(data, sent) == sorted(sent), "every acknowledged event recorded before the broker went"


def test_restarts_on_the_same_data_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    data, sent = tmp_path / "data", []
    for _ in range(3):
        with touchline_run(data) as run:
            sent += post_events(run, 20)
            assert terminate(run) == 0, run.output()
        assert recorded(data, sent) == sorted(sent), "every event of every run recorded, once"


def test_a_dead_loop_makes_readiness_fail_and_the_run_exit_non_zero(tmp_path: Path, postgres_url: str,
                                                                    pg_schema: str) -> None:
    extra = {"DATABASE_URL": postgres_url, "TOUCHLINE_DB_SCHEMA": pg_schema, "TOUCHLINE_LOOP_MAX_FAILURES": "4",
             "TOUCHLINE_LOOP_BACKOFF_SECONDS": "0.5"}
    with touchline_run(tmp_path / "data", **extra) as run:
        broker = children(run.proc.pid)
        with psycopg.connect(postgres_url, autocommit=True) as conn:  # the database loses every table: a real fault
            conn.execute("set lock_timeout = '10s'")
            conn.execute(sql.SQL("drop schema {} cascade").format(sql.Identifier(pg_schema)))
            conn.execute(sql.SQL("create schema {}").format(sql.Identifier(pg_schema)))
        answers = []
        deadline = time.monotonic() + 60
        while run.proc.poll() is None and time.monotonic() < deadline:
            with suppress(httpx.TransportError):
                answers.append(httpx.get(f"{run.base}/readyz", timeout=5).status_code)
            time.sleep(0.2)
        assert run.proc.wait(timeout=60) == 1, run.output()
    assert 503 in answers, f"readiness failed while the loops were failing: {answers}"
    assert "stopped because a loop died" in run.log.read_text(errors="replace")
    assert not [pid for pid in broker if alive(pid)], "a dead loop stops the local broker too"
