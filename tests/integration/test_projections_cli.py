"""`touchline projections failures` lists parked events; `touchline projections retry` asks the projector to retry
them, or (`--here`) rebuilds the projection from zero itself and resolves those that now apply (SQLite default)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from domain.log import RecordedEvent
from projections.failures import failures
from projections.protocol import Failure
from projections.sqlstore import record_failure, write_transaction
from services.adapters.databases import open_views
from services.adapters.opening import open_event_store
from services.adapters.settings import Settings
from services.entrypoints.cli import app
from services.entrypoints.loops.pipeline import build_projection_engine
from tests.support.credit_card import all_events

pytestmark = pytest.mark.integration
runner = CliRunner()


def test_failures_are_listed_and_a_retry_here_resolves_those_that_now_apply(tmp_path: Path) -> None:
    env = {"TOUCHLINE_DATA_DIR": str(tmp_path), "TOUCHLINE_ENV": "test", "DATABASE_URL": "",
           "TOUCHLINE_VIEWS_DATABASE_URL": ""}
    settings = Settings(data_dir=tmp_path, env="test", database_url="", views_database_url="")
    store, views = open_event_store(settings), open_views(settings)
    store.append(list(all_events()))
    build_projection_engine(settings, store, views).catch_up()
    third = store.read(2, 1)[0]
    with write_transaction(views) as conn:  # as if a since-fixed timeline reducer had failed on it
        record_failure(conn, Failure.of("timeline", RecordedEvent(third.position, third.event),
                                        ValueError("a bug, since fixed"), datetime(2026, 12, 1, tzinfo=UTC)))
    store.close()

    listed = runner.invoke(app, ["projections", "failures"], env=env)
    assert listed.exit_code == 1 and listed.stdout.startswith(f"timeline\t3\t{third.event.event_type}\t")
    assert "builtins.ValueError: a bug, since fixed" in listed.stdout
    asked = runner.invoke(app, ["projections", "retry", "--projection", "timeline"], env=env)
    assert asked.exit_code == 0 and "asked the projector to retry 1" in asked.stderr
    here = runner.invoke(app, ["projections", "retry", "--projection", "timeline", "--position", "3", "--here"],
                         env=env)
    assert here.exit_code == 0, here.output
    assert here.stdout == "timeline\tresolved 1\t3\n"
    assert failures(views) == ([], None)
    assert [f.resolved_at is not None for f in failures(views, resolved=True)[0]] == [True]
    assert runner.invoke(app, ["projections", "failures"], env=env).exit_code == 0
    assert runner.invoke(app, ["projections", "retry"], env=env).exit_code == 1  # nothing unresolved
    views.dispose()
