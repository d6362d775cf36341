"""The `touchline` command: contracts export, publish a JSON Lines file onto Kafka, rebuild a projection."""

from __future__ import annotations

import json
from pathlib import Path
from typing import cast

import orjson
import pytest
from typer.testing import CliRunner

from contracts import EVENT_TYPES, parse
from services.adapters.databases import open_views
from services.adapters.opening import open_event_store
from services.adapters.settings import Settings
from services.application.replay import Checksummed
from services.entrypoints.cli import app
from services.entrypoints.loops.pipeline import build_projection_engine
from tests.support.pipeline import read_topic, touchpoint

pytestmark = pytest.mark.integration
runner = CliRunner()


def test_contracts_export_writes_one_schema_per_event_type(tmp_path: Path) -> None:
    result = runner.invoke(app, ["contracts", "export", str(tmp_path)])
    assert result.exit_code == 0, result.output
    schemas = sorted(tmp_path.glob("*.json"))
    assert len(schemas) == len(EVENT_TYPES)
    titles = {json.loads(p.read_text())["$id"] for p in schemas}
    assert "urn:touchline:event:call.received:v1" in titles


def test_publish_sends_valid_lines_and_reports_bad_ones(tmp_path: Path, kafka_bootstrap: str, kafka_topic: str) -> None:
    lines = [orjson.dumps(touchpoint(i, "web")) for i in range(50)]
    lines.insert(10, b'{"event_type": "call.received"}')
    lines.insert(20, b"not json")
    file = tmp_path / "events.jsonl"
    file.write_bytes(b"\n".join(lines) + b"\n")
    env = {"KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "TOUCHLINE_EVENTS_TOPIC": kafka_topic}
    result = runner.invoke(app, ["publish", str(file), "--batch", "7"], env=env)
    assert result.exit_code == 1, "bad lines make the exit status non-zero"
    assert "line 11" in result.output and "line 21" in result.output
    assert "published 50, rejected 2" in result.output
    records = read_topic(kafka_bootstrap, kafka_topic)
    assert sorted(parse(r.value).event_id for r in records) == sorted(parse(line).event_id for line in
                                                                       lines[:10] + lines[11:20] + lines[21:])


def test_rebuild_reproduces_the_live_timeline(tmp_path: Path) -> None:
    env = {"TOUCHLINE_DATA_DIR": str(tmp_path), "TOUCHLINE_ENV": "test", "DATABASE_URL": "",
           "TOUCHLINE_VIEWS_DATABASE_URL": ""}  # the embedded SQLite default, whatever the environment says
    settings = Settings(data_dir=tmp_path, env="test", database_url="", views_database_url="")
    store, views = open_event_store(settings), open_views(settings)
    store.append([parse(touchpoint(i, "hotline", customers=7)) for i in range(300)])
    engine = build_projection_engine(settings, store, views)
    engine.catch_up()
    timeline = cast(Checksummed, engine.projections[0])  # every store in the engine has a checksum
    live = _all_entries(timeline)
    result = runner.invoke(app, ["rebuild", "timeline"], env=env)
    assert result.exit_code == 0, result.output
    assert f"timeline\tposition 300\tevents 300\tchecksum {timeline.checksum()}" in result.output
    assert _all_entries(timeline) == live
    assert runner.invoke(app, ["rebuild", "nope"], env=env).exit_code == 2
    store.close()
    views.dispose()


def _all_entries(timeline: object) -> list[object]:
    from contracts import CustomerRef
    from domain.identity.identifiers import customer_key

    entries: list[object] = []
    for i in range(7):
        customer = customer_key(CustomerRef(phone=f"1380013{i:04d}"))
        page = timeline.page(customer, limit=500)  # type: ignore[attr-defined]
        entries.extend(page.entries)
    return entries
