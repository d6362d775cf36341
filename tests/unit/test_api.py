"""The HTTP API on in-memory fakes: status codes, problem details, per-item results, authorisation."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from contracts import Envelope
from domain.identity.identifiers import IdentifierProtector
from domain.log import RecordedEvent
from projections.cases.memory import MemoryCasesStore
from projections.customers.card import CardSettings
from projections.customers.memory import MemoryCustomerStore
from projections.timeline.memory import MemoryTimelineStore
from services.adapters.kafka.records import PublishFailed
from services.adapters.settings import Settings
from services.application.customers import CustomerViews
from services.entrypoints.app import build_app
from tests.support.pipeline import BEARER, TOKENS, touchpoint

pytestmark = pytest.mark.unit
JSON = {"Content-Type": "application/json"}


@dataclass
class FakePublisher:
    """EventPublisher that keeps what it was given, or fails like an unreachable broker."""

    fail: bool = False
    published: list[Envelope] = field(default_factory=list)

    def publish(self, events: Sequence[Envelope]) -> None:
        if self.fail:
            raise PublishFailed("broker did not acknowledge the batch")
        self.published.extend(events)


@dataclass
class FakeEventStore:
    """The event store's lookup by id, over the events a test says are recorded."""

    events: list[Envelope] = field(default_factory=list)

    def recorded(self, event_ids: Iterable[UUID]) -> dict[UUID, Envelope]:
        wanted = set(event_ids)
        return {e.event_id: e for e in self.events if e.event_id in wanted}


@dataclass
class FakeComponents:
    publisher: FakePublisher
    timeline: MemoryTimelineStore
    settings: Settings = field(default_factory=lambda: Settings(env="test", bootstrap_tokens=TOKENS, max_batch=10))
    protector: IdentifierProtector = field(default_factory=lambda: IdentifierProtector(b"unit-key"))
    directory: MemoryCustomerStore = field(default_factory=MemoryCustomerStore)
    event_store: FakeEventStore = field(default_factory=FakeEventStore)

    @property
    def customers(self) -> CustomerViews:
        return CustomerViews(self.directory, self.timeline, MemoryCasesStore(), None, CardSettings())

    def record(self, events: Sequence[RecordedEvent]) -> None:
        self.timeline.apply(events)
        self.directory.apply(events)

    def readiness(self) -> dict[str, str]:
        return {"broker": "unreachable" if self.publisher.fail else "ok", "event_store": "ok"}


@pytest.fixture
def components() -> FakeComponents:
    return FakeComponents(FakePublisher(), MemoryTimelineStore())


@pytest.fixture
def client(components: FakeComponents) -> TestClient:
    return TestClient(build_app(components))


def test_single_event_is_published_with_its_national_id_protected(client: TestClient,
                                                                  components: FakeComponents) -> None:
    data = touchpoint(1, "hotline") | {"customer": {"national_id": "11010519491231002X"}}
    response = client.post("/v1/events", json=data, headers=BEARER["hotline"])
    assert response.status_code == 202
    assert response.json()["results"] == [{"index": 0, "status": "accepted", "event_id": data["event_id"],
                                           "errors": []}]
    [event] = components.publisher.published
    assert event.customer.national_id is None and event.customer.national_id_masked is not None
    assert event.customer.national_id_masked.endswith("002X")


def test_a_mixed_batch_publishes_only_valid_items(client: TestClient, components: FakeComponents) -> None:
    bad = touchpoint(2, "web") | {"payload": {"subject": ""}}
    batch = [touchpoint(1, "web"), bad, touchpoint(3, "web")]
    body = client.post("/v1/events", json=batch, headers=BEARER["web"]).json()
    assert (body["accepted"], body["rejected"]) == (2, 1)
    assert body["results"][1]["status"] == "rejected"
    assert all(e["loc"].startswith("payload") for e in body["results"][1]["errors"])
    assert len(components.publisher.published) == 2


def test_publishing_for_another_department_publishes_nothing(client: TestClient,
                                                             components: FakeComponents) -> None:
    batch = [touchpoint(1, "web"), touchpoint(2, "hotline")]
    response = client.post("/v1/events", json=batch, headers=BEARER["web"])
    assert response.status_code == 403
    assert response.json()["foreign_departments"] == ["hotline"]
    assert components.publisher.published == []


@pytest.mark.parametrize(
    ("body", "status", "title"),
    [(b"[]", 422, "Empty batch"), (b"{", 400, "Malformed JSON"), (b"[" + b"{}," * 10 + b"{}]", 413, "Batch too large")],
)
def test_malformed_requests_are_problem_details(client: TestClient, body: bytes, status: int, title: str) -> None:
    response = client.post("/v1/events", content=body, headers=BEARER["web"] | JSON)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["title"] == title and response.json()["instance"] == "/v1/events"


def test_an_oversized_body_is_refused_before_parsing(client: TestClient, components: FakeComponents) -> None:
    limit = components.settings.max_body_bytes
    response = client.post("/v1/events", content=b" " * (limit + 1), headers=BEARER["web"])
    assert response.status_code == 413 and response.json()["title"] == "Request too large"


def test_an_unreachable_broker_is_503_and_not_ready(components: FakeComponents, client: TestClient) -> None:
    components.publisher.fail = True
    response = client.post("/v1/events", json=touchpoint(1, "web"), headers=BEARER["web"])
    assert response.status_code == 503 and response.headers["retry-after"] == "1"
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["checks"]["broker"] == "unreachable"


def test_timeline_pages_follow_the_cursor(client: TestClient, components: FakeComponents) -> None:
    from contracts import parse

    events = [parse(touchpoint(i, "hotline", phone="13800138000")) for i in range(5)]
    components.record([RecordedEvent(i + 1, e) for i, e in enumerate(events)])
    found = client.get("/v1/customers", params={"identifier": "phone:+86 138-0013-8000"}, headers=BEARER["ops"])
    customer_id = found.json()["customers"][0]["customer_id"]
    seen: list[Any] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get(f"/v1/customers/{customer_id}/timeline", params=params, headers=BEARER["ops"]).json()
        seen += [e["event_id"] for e in page["entries"]]
        if not (cursor := page["next_cursor"]):
            break
    assert seen == [str(e.event_id) for e in events]
    bad = client.get(f"/v1/customers/{customer_id}/timeline", params={"cursor": "!!"}, headers=BEARER["ops"])
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == "query.cursor"
    assert client.get("/v1/customers/nobody/timeline", headers=BEARER["ops"]).status_code == 404
    assert client.get(f"/v1/customers/{customer_id}/timeline").status_code == 401


def test_national_id_lookup_shows_only_the_masked_form(client: TestClient, components: FakeComponents) -> None:
    from contracts import parse
    from domain.intake import protect

    data = touchpoint(1, "hotline") | {"customer": {"national_id": "11010519491231002X"}}
    components.record([RecordedEvent(1, protect(parse(data), components.protector))])
    found = client.get("/v1/customers", params={"identifier": "national_id:11010519491231002X"},
                       headers=BEARER["ops"])
    assert found.status_code == 200
    assert found.json()["identifier"] == "national_id:**************002X"
    assert "11010519491231002X" not in found.text
