"""Feeding a generated quality data set through the running backbone (HTTP → broker → recorder → projector), and
the configuration directory and tokens its answers were written down for."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from contracts import Envelope, to_canonical_json
from tests.support.pipeline import Backbone, wait_for

ROOT = Path(__file__).resolve().parents[2]
DEPARTMENTS = ("accounts", "branch", "card-centre", "digital", "field-repair", "hotline", "quality", "reception",
               "repair", "sales")
ROLES = ("ops", "auditor")
TOKENS = ",".join([f"{d}=tok-{d}-staff-000000" for d in DEPARTMENTS]
                  + [f"{d}-manager=tok-{d}-manager-0000" for d in DEPARTMENTS]
                  + [f"{r}=tok-{r}-role-0000000" for r in ROLES])
BEARER = {name: {"Authorization": f"Bearer {token}"} for name, token in (i.split("=") for i in TOKENS.split(","))}

OFFICE = """timezone = "Asia/Shanghai"
[hours]
mon = [["09:00", "18:00"]]
tue = [["09:00", "18:00"]]
wed = [["09:00", "18:00"]]
thu = [["09:00", "18:00"]]
fri = [["09:00", "18:00"]]
"""
ALWAYS = 'timezone = "Asia/Shanghai"\nalways_open = true\n'
SEGMENTS = """[card]
recent_interactions = 10
contact_window_days = 90

[[segments]]
name = "key_account"
declared = ["key_account"]

[[segments]]
name = "regular"
"""


def config_dir(into: Path, calendar: str) -> Path:
    """The repository's configuration with every department on `calendar` and the data sets' segment rules."""
    target = into / "config"
    shutil.copytree(ROOT / "config", target)
    (target / "calendars" / "default.toml").write_text(calendar, encoding="utf-8")
    (target / "departments.toml").write_text('default_calendar = "default"\n', encoding="utf-8")
    (target / "identity.toml").write_text(SEGMENTS, encoding="utf-8")
    return target


def feed(stack: Backbone, events: Sequence[Envelope], timeout_s: float = 120) -> None:
    """Publish `events` in this order, each department's run with its own token; touchline's own event types
    (SLA breaches) go straight into the event store once everything before them is recorded, as the ticker
    appends them. Returns once every projection has applied them all."""
    sent = 0
    for internal, run in itertools.groupby(events, key=lambda e: type(e).RECORDED_BY_TOUCHLINE):
        batch = list(run)
        if internal:
            wait_for(lambda n=sent: stack.api.event_store.head() >= n, timeout_s, "recorded")  # type: ignore[misc]
            stack.api.event_store.append(batch)
        else:
            for department, same in itertools.groupby(batch, key=lambda e: e.source.department):
                _post(stack, department, [orjson.loads(to_canonical_json(e)) for e in same])
        sent += len(batch)
    wait_for(lambda: stack.api.event_store.head() >= sent, timeout_s, "everything recorded")
    stores: list[Any] = [stack.api.quality.servqual, stack.api.quality.scorecard,  # type: ignore[union-attr]
                         stack.api.quality.contacts, stack.api.customers.directory,  # type: ignore[union-attr]
                         stack.api.cases.store, stack.api.timeline]
    wait_for(lambda: all(s.position() >= sent for s in stores), timeout_s, "everything projected")


def _post(stack: Backbone, department: str, body: list[Any]) -> None:
    for start in range(0, len(body), 500):
        response = stack.client.post("/v1/events", json=body[start:start + 500], headers=BEARER[department])
        assert response.status_code == 202, response.text
