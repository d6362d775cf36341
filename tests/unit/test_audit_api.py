"""Audit roles over HTTP on fakes: auditors read the audit trail but cannot publish; departments and ops cannot
read it; production refuses to start without a signing key."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from domain.identity.identifiers import IdentifierProtector
from services.adapters.settings import Settings
from services.entrypoints.app import build_app
from tests.support.pipeline import touchpoint

pytestmark = pytest.mark.unit
TOKENS = "auditor=auditor-token-00001,admin=admin-token-0000001,ops=ops-token-000004,hotline=hotline-token-0001"


class FakeAudit:
    def checkpoints(self, after: int, limit: int) -> list[Any]:
        return []


@dataclass
class FakeComponents:
    settings: Settings = field(default_factory=lambda: Settings(env="test", bootstrap_tokens=TOKENS))
    audit: FakeAudit = field(default_factory=FakeAudit)
    protector: IdentifierProtector = field(default_factory=lambda: IdentifierProtector(b"unit-key"))
    published: list[Any] = field(default_factory=list)

    @property
    def publisher(self) -> Any:
        return self  # an EventPublisher keeping what it is given

    def publish(self, events: Any) -> None:
        self.published.extend(events)

    @property
    def event_store(self) -> Any:
        return self  # an event store holding nothing yet

    def recorded(self, event_ids: Any) -> dict[Any, Any]:
        return {}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_auditor_and_admin_read_checkpoints_departments_and_ops_get_403() -> None:
    client = TestClient(build_app(FakeComponents()))
    for token, status in (("auditor-token-00001", 200), ("admin-token-0000001", 200), ("ops-token-000004", 403),
                          ("hotline-token-0001", 403)):
        assert client.get("/v1/audit/checkpoints", headers=bearer(token)).status_code == status
    assert client.get("/v1/audit/checkpoints").status_code == 401


def test_an_auditor_token_cannot_publish() -> None:
    components = FakeComponents()
    client = TestClient(build_app(components))
    response = client.post("/v1/events", json=touchpoint(1, "hotline"), headers=bearer("auditor-token-00001"))
    assert response.status_code == 403 and components.published == []
    assert client.post("/v1/events", json=touchpoint(1, "hotline"),
                       headers=bearer("hotline-token-0001")).status_code == 202


def test_production_requires_an_audit_signing_key() -> None:
    production: dict[str, Any] = {
        "env": "production", "kafka_bootstrap_servers": "kafka:9092", "database_url": "postgresql://app@db:5432/touchline",
        "id_hash_key": "a-real-secret-of-32-characters!!", "bootstrap_tokens": "hotline=0123456789abcdef0123",
    }
    with pytest.raises(ValidationError, match="TOUCHLINE_AUDIT_SIGNING_KEY"):
        Settings(**production)
