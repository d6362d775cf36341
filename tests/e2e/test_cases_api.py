"""The credit-card story over HTTP on the real broker and Postgres: published by each department, read as cases."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from contracts import to_canonical_json
from tests.support.case_api import BEARER, TOKENS
from tests.support.credit_card import CASE_ID, story
from tests.support.pipeline import Backbone, pipeline_settings, running_backbone, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture
def stack(kafka_bootstrap: str, postgres_url: str, pg_schema: str, kafka_topic: str) -> Iterator[Backbone]:
    """API + recorder + projector, as `touchline run` wires them, with tokens of the story's departments."""
    settings = pipeline_settings(kafka_bootstrap, postgres_url, pg_schema, kafka_topic, bootstrap_tokens=TOKENS)
    with running_backbone(settings) as running:
        yield running


def inbox(stack: Backbone, department: str) -> dict[str, list[str]]:
    body = stack.client.get(f"/v1/departments/{department}/inbox", headers=BEARER[department]).json()
    return {section: [item["case"]["case_id"] for item in body[section]["items"]]
            for section in ("awaiting_acceptance", "held_open", "overdue")}


def test_the_credit_card_story_through_http(stack: Backbone) -> None:
    published, seen = 0, {}
    for step in story():
        for department, events in itertools.groupby(step.events, key=lambda e: e.source.department):
            body = [orjson.loads(to_canonical_json(e)) for e in events]
            response = stack.client.post("/v1/events", json=body, headers=BEARER[department])
            assert response.status_code == 202, response.text
            published += len(body)
        wait_for(lambda n=published: stack.api.cases.store.position() >= n, 20, f"{step.name} projected")  # type: ignore[misc]
        stack.api.clock = lambda at=step.look_at: at  # type: ignore[misc]
        seen[step.name] = {d: inbox(stack, d) for d in ("card_centre", "approval_office")}

    assert seen["loan opens and hands off"]["card_centre"]["awaiting_acceptance"] == [CASE_ID]
    assert seen["second call, six days later"]["approval_office"] == {
        "awaiting_acceptance": [CASE_ID], "held_open": [], "overdue": [CASE_ID]}
    assert seen["approval office accepts, two weeks late"]["approval_office"]["held_open"] == [CASE_ID]
    case: dict[str, Any] = stack.client.get(f"/v1/cases/{CASE_ID}", headers=BEARER["ops"]).json()
    assert (case["status"], case["path"], case["repeat_contacts"]) == (
        "resolved", ["loan", "card_centre", "approval_office"], 3)
    assert [h["dropped"] for h in case["handoff_chain"]] == [False, True]
    assert {t["department"]: t["held"]["business_seconds"] for t in case["departments"]} == {
        "loan": 56 * 60.0, "card_centre": (80 + 1 / 3) * 3600, "approval_office": 36 * 3600.0}
    pairs = stack.client.get("/v1/handoffs/matrix", params={"from": "loan"}, headers=BEARER["ops"]).json()["pairs"]
    assert [(p["to_department"], p["count"], p["median_seconds"]) for p in pairs] == [("card_centre", 1, 3180.0)]
    assert stack.client.get("/v1/repeat-contacts", headers=BEARER["ops"]).json()["total"] == 3
