"""Settings: defaults for the embedded mode, URL derivation, and refusal of placeholder secrets in production."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from services.adapters.settings import Settings, development_privacy_kek, parse_tokens

pytestmark = pytest.mark.unit
PRODUCTION: dict[str, Any] = {
    "env": "production", "kafka_bootstrap_servers": "kafka:9092", "database_url": "postgresql://app@db:5432/touchline",
    "id_hash_key": "a-real-secret-of-32-characters!!", "bootstrap_tokens": "hotline=0123456789abcdef0123",
    "audit_signing_key": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
    "privacy_kek": "H4rLq0sZ9x2mC7yVb1nQe5tU8wA3dF6gJ0kP2oR4sT8=",
}


def test_embedded_default_keeps_store_and_views_side_by_side(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url="", views_database_url="")
    assert settings.store_url == f"sqlite:///{tmp_path}/events.db"
    assert settings.views_url == f"sqlite:///{tmp_path}/views.db"


def test_views_share_the_postgres_database_unless_told_otherwise() -> None:
    settings = Settings(database_url="postgresql://u@h:5432/d")
    assert settings.views_url == "postgresql://u@h:5432/d"
    assert Settings(database_url="postgresql://u@h/d", views_database_url="postgresql://v@h/e").views_url.endswith("/e")


def test_environment_names_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "k1:9092,k2:9092")
    monkeypatch.setenv("TOUCHLINE_EVENTS_TOPIC", "events")
    monkeypatch.setenv("PORT", "9001")
    settings = Settings()
    read = (settings.kafka_bootstrap_servers, settings.events_topic, settings.port)
    assert read == ("k1:9092,k2:9092", "events", 9001)


def test_production_accepts_real_secrets() -> None:
    assert Settings(**PRODUCTION).env == "production"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("id_hash_key", "development-only-id-hash-key", "TOUCHLINE_ID_HASH_KEY"),
        ("bootstrap_tokens", "hotline=dev-hotline-token", "token hotline"),
        ("bootstrap_tokens", "ops=short", "token ops"),
        ("database_url", "sqlite:///x.db", "Postgres"),
        ("kafka_bootstrap_servers", "", "KAFKA_BOOTSTRAP_SERVERS"),
        ("privacy_kek", "", "TOUCHLINE_PRIVACY_KEK"),
        ("privacy_kek", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "TOUCHLINE_PRIVACY_KEK"),
        ("privacy_kek", base64.b64encode(development_privacy_kek()).decode(), "TOUCHLINE_PRIVACY_KEK"),
        ("privacy_kek", "c2hvcnQ=", "TOUCHLINE_PRIVACY_KEK"),
    ],
)
def test_production_refuses_placeholders_and_the_embedded_defaults(field: str, value: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(**(PRODUCTION | {field: value}))


def test_token_lists_parse_and_malformed_ones_are_refused() -> None:
    assert parse_tokens(" hotline = s1 , ops=s2,") == {"hotline": "s1", "ops": "s2"}
    with pytest.raises(ValueError, match="name=token"):
        parse_tokens("hotline")
    with pytest.raises(ValidationError):
        Settings(database_url="mysql://x")


def test_a_projector_runs_the_projections_it_is_given_in_registry_order(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().projection_names is None  # all of them
    monkeypatch.setenv("TOUCHLINE_PROJECTIONS", " sla, timeline,sla ")
    assert Settings().projection_names == ("timeline", "sla")


def test_an_unknown_projection_is_refused_naming_it_and_the_known_ones() -> None:
    with pytest.raises(ValidationError, match=r"unknown projection timelines; known: timeline, cases"):
        Settings(projections="timelines,cases")
