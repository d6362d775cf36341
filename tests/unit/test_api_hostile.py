"""Hostile requests against the HTTP API on in-memory fakes: forged internal events (defect 1), event-id
conflicts (3), unbounded parameters (4), non-JSON bodies, duplicate keys and floods (5)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from contracts import EVENT_CLASSES, parse
from domain.intake import protect
from services.adapters.settings import Settings
from services.entrypoints.app import build_app
from tests.support.case_api import BEARER as CASE_BEARER
from tests.support.case_api import case_api
from tests.support.pipeline import BEARER, TOKENS, touchpoint
from tests.unit.test_api import FakeComponents, FakePublisher, MemoryTimelineStore

pytestmark = pytest.mark.unit
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def components() -> FakeComponents:
    return FakeComponents(FakePublisher(), MemoryTimelineStore())


@pytest.fixture
def client(components: FakeComponents) -> TestClient:
    return TestClient(build_app(components))


def as_hotline(cls: Any) -> dict[str, Any]:
    data: dict[str, Any] = cls.example_data()
    data["source"] = {"department": "hotline", "channel": "phone"}
    return data


# --- defect 1 --------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [c for c in EVENT_CLASSES if c.RECORDED_BY_TOUCHLINE], ids=lambda c: c.type_key()[0])
def test_a_department_token_cannot_publish_touchlines_own_event_types(
        client: TestClient, components: FakeComponents, cls: Any) -> None:
    batch = [touchpoint(1, "hotline"), as_hotline(cls)]
    response = client.post("/v1/events", json=batch, headers=BEARER["hotline"])
    assert response.status_code == 403, response.text
    assert response.json()["errors"][0]["loc"] == "[1].event_type"
    assert response.json()["errors"][0]["type"] == "internal_event_type"
    assert components.publisher.published == []


# --- defect 3 --------------------------------------------------------------------------------------


def stored(components: FakeComponents, data: dict[str, Any]) -> None:
    components.event_store.events.append(protect(parse(data), components.protector))


def test_same_event_id_with_a_different_payload_is_409_naming_the_id(
        client: TestClient, components: FakeComponents) -> None:
    original = touchpoint(1, "hotline")
    stored(components, original)
    forged = original | {"occurred_at": "2026-11-02T10:00:00+00:00"}
    response = client.post("/v1/events", json=forged, headers=BEARER["hotline"])
    assert response.status_code == 409, response.text
    assert response.json()["conflicting_event_ids"] == [original["event_id"]]
    assert response.json()["results"][0]["status"] == "conflict"
    assert components.publisher.published == []


def test_an_identical_resend_stays_idempotent(client: TestClient, components: FakeComponents) -> None:
    original = touchpoint(1, "hotline", phone="13800138000")
    original["customer"]["national_id"] = "11010519491231002X"  # protected before storing: compared as stored
    stored(components, original)
    response = client.post("/v1/events", json=original, headers=BEARER["hotline"])
    assert response.status_code == 202, response.text
    assert response.json()["results"][0]["status"] == "accepted"
    assert components.publisher.published == []  # already stored: not published again


def test_two_items_with_one_id_and_different_payloads_in_one_batch(
        client: TestClient, components: FakeComponents) -> None:
    first = touchpoint(1, "hotline")
    twin = first | {"occurred_at": "2026-11-02T10:00:00+00:00"}
    response = client.post("/v1/events", json=[first, dict(first), twin], headers=BEARER["hotline"])
    assert response.status_code == 202, response.text
    assert [r["status"] for r in response.json()["results"]] == ["accepted", "accepted", "conflict"]
    assert response.json()["results"][2]["errors"][0]["type"] == "event_id_conflict"
    assert [str(e.event_id) for e in components.publisher.published] == [first["event_id"]]


# --- defect 4 --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "params", "loc"), [
    ("/v1/audit/checkpoints", {"after": 2**63}, "query.after"),
    ("/v1/audit/proofs/consistency", {"from": 1, "to": 2**63}, "query.to"),
    ("/v1/audit/proofs/inclusion", {"event_id": "6dffc97e-e8e8-3b5f-8a96-36478ce40b5f", "checkpoint": 2**63},
     "query.checkpoint"),
    ("/v1/customers/someone/timeline", {"since": "9999-12-31T23:59:00-12:00"}, "query.since"),
    ("/v1/handoffs/matrix", {"to": "a\x00b"}, "query.to"),
])
def test_out_of_range_parameters_are_422_with_their_path(client: TestClient, path: str, params: dict[str, Any],
                                                          loc: str) -> None:
    response = client.get(path, params=params, headers=BEARER["auditor"])
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["loc"] for e in response.json()["errors"]] == [loc]


def test_a_case_age_of_three_thousand_years_is_422_not_500() -> None:
    with case_api(datetime(2026, 11, 2, tzinfo=UTC)) as (client, _):
        response = client.get("/v1/cases", params={"older_than": "P3000Y"}, headers=CASE_BEARER["ops"])
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["loc"] == "query.older_than"
        assert client.get("/v1/cases", params={"older_than": "P2D"}, headers=CASE_BEARER["ops"]).status_code == 200


def test_every_error_status_is_documented_as_problem_json(client: TestClient) -> None:
    operations = [op for item in client.get("/openapi.json").json()["paths"].values() for op in item.values()]
    for operation in operations:
        for code, response in operation["responses"].items():
            if code.startswith(("4", "5")):
                assert list(response["content"]) == ["application/problem+json"], (operation["operationId"], code)
    events = client.get("/openapi.json").json()["paths"]["/v1/events"]["post"]["responses"]
    assert {"400", "401", "403", "409", "413", "415", "422", "429", "503"} <= set(events)


# --- defect 5 --------------------------------------------------------------------------------------


def test_a_body_that_is_not_json_is_415(client: TestClient, components: FakeComponents) -> None:
    body = orjson.dumps(touchpoint(1, "hotline"))
    response = client.post("/v1/events", content=body, headers=BEARER["hotline"] | {"Content-Type": "text/plain"})
    assert response.status_code == 415 and response.headers["content-type"] == "application/problem+json"
    assert components.publisher.published == []


def test_a_duplicate_key_is_400_naming_its_path(client: TestClient, components: FakeComponents) -> None:
    body = orjson.dumps([touchpoint(1, "hotline")]).replace(
        b'"department":"hotline"', b'"department":"hotline","department":"billing"')
    response = client.post("/v1/events", content=body, headers=BEARER["hotline"] | JSON)
    assert response.status_code == 400, response.text
    assert response.json()["errors"] == [{"loc": "body[0].source.department", "type": "duplicate_key",
                                          "message": "Duplicate key: each key may appear once per object"}]
    assert components.publisher.published == []


def test_a_token_over_its_rate_limit_gets_429_with_retry_after(components: FakeComponents) -> None:
    components.settings = Settings(env="test", bootstrap_tokens=TOKENS, rate_limit="3/minute")
    client = TestClient(build_app(components))
    answers = [client.get("/v1/customers/x/timeline", headers=BEARER["ops"]).status_code for _ in range(4)]
    assert answers == [404, 404, 404, 429]
    refused = client.get("/v1/customers/x/timeline", headers=BEARER["ops"])
    assert refused.headers["content-type"] == "application/problem+json"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert client.get("/v1/customers/x/timeline", headers=BEARER["hotline"]).status_code == 404  # per token
    assert client.get("/healthz").status_code == 200  # probes are never limited
