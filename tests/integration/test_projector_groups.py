"""Projector processes sharing the projections (TOUCHLINE_PROJECTIONS): each keeps only its own up to date, and
together they write exactly what one projector writes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine

from projections.registry import NAMES
from services.adapters.databases import open_views
from services.adapters.opening import open_event_store
from services.adapters.settings import Settings
from services.application.rebuild import stores_on
from services.application.replay import rebuild_target, replay, shares
from tests.support.pipeline import settings_env, wait_for
from tests.support.replay_data import replay_log

pytestmark = pytest.mark.integration
EVENTS = 3_000


@contextmanager
def projector(settings: Settings, projections: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOUCHLINE_")} | settings_env(settings) | {
        "TOUCHLINE_DATA_DIR": str(settings.data_dir), "TOUCHLINE_VIEWS_DATABASE_URL": "",
        "TOUCHLINE_PROJECTIONS": projections, "TOUCHLINE_METRICS_PORT": "0", "TOUCHLINE_PROJECTOR_BATCH_SIZE": "500"}
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "services.entrypoints.cli", "projector"], env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
        proc.terminate()
        assert proc.wait(timeout=60) == 0, log.read_text()[-3000:]  # stopped cleanly, never died
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def positions(views: Engine) -> dict[str, int]:
    return {name: store.position() for name, store in stores_on(views).items()}


def reference_checksums(settings: Settings, tmp_path: Path) -> dict[str, str]:
    """Every projection rebuilt in this process from the same log, into a fresh SQLite file."""
    store, target = open_event_store(settings), rebuild_target(f"sqlite:///{tmp_path / 'reference.db'}")
    try:
        return {name: r.checksum for name, r in replay(store, stores_on(target)).items()}
    finally:
        target.dispose()
        store.close()


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_two_projector_processes_share_the_projections_and_write_what_one_would(
        database: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url, schema = ("", "") if database == "sqlite" else (request.getfixturevalue("postgres_url"),
                                                          request.getfixturevalue("pg_schema"))
    settings = Settings(env="test", data_dir=tmp_path, database_url=url, db_schema=schema, views_database_url="")
    store, views = open_event_store(settings), open_views(settings)
    log = replay_log(EVENTS + 500)
    for start in range(0, EVENTS, 1000):
        store.append(log[start:min(start + 1000, EVENTS)])
    head = store.head()
    first, second = shares(list(NAMES), 2, {})
    assert set(first).isdisjoint(second) and set(first) | set(second) == set(NAMES)

    with projector(settings, ",".join(first), tmp_path / "first.log") as one:
        wait_for(lambda: all(positions(views)[name] == head for name in first), 120,
                 "the first projector never reached the head", interval_s=0.2)
        assert one.poll() is None
        assert {name: positions(views)[name] for name in second} == dict.fromkeys(second, 0)  # not its own
        store.append(log[EVENTS:])  # more events while only the first group runs
        head = store.head()
        with projector(settings, ",".join(second), tmp_path / "second.log"):
            wait_for(lambda: set(positions(views).values()) == {head}, 120,
                     "the projectors never reached the head together", interval_s=0.2)

    live = {name: s.checksum() for name, s in stores_on(views).items()}
    assert live == reference_checksums(settings, tmp_path)
    store.close()
    views.dispose()
