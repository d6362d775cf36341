"""The service fixtures connect; choosing a service (env, Docker, local) and missing one are decided right."""

from __future__ import annotations

import time
from collections.abc import Callable

import psycopg
import pytest

from tests.support.services import (
    KAFKA_IMAGE,
    LOCAL_KAFKA,
    LOCAL_POSTGRES_URL,
    POSTGRES_IMAGE,
    docker_available,
    give_up,
    resolve_kafka,
    resolve_postgres,
    unavailable_outcome,
)


def never_asked() -> bool:
    raise AssertionError("Docker must not be consulted when the env var names the service")


def answers(value: bool) -> Callable[[], bool]:
    return lambda: value


@pytest.mark.integration
def test_postgres_url_connects_and_pg_schema_exists(postgres_url: str, pg_schema: str) -> None:
    assert postgres_url.startswith(("postgresql://", "postgres://"))
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("select 1").fetchone() == (1,)
        found = conn.execute("select schema_name from information_schema.schemata where schema_name = %s",
                             (pg_schema,)).fetchall()
    assert found == [(pg_schema,)]


@pytest.mark.unit
def test_env_var_wins_without_asking_docker() -> None:
    assert resolve_kafka({"KAFKA_BOOTSTRAP_SERVERS": "x:1"}, docker_available=never_asked) == ("env", "x:1")
    assert resolve_postgres({"DATABASE_URL": "postgresql://u@h/db"}, never_asked) == ("env", "postgresql://u@h/db")


@pytest.mark.unit
def test_docker_is_used_when_it_answers() -> None:
    assert resolve_kafka({}, answers(True)) == ("docker", KAFKA_IMAGE)
    assert resolve_postgres({"DATABASE_URL": " "}, answers(True)) == ("docker", POSTGRES_IMAGE)
    assert POSTGRES_IMAGE == "postgres:16-alpine"


@pytest.mark.unit
def test_local_services_are_the_last_resort() -> None:
    assert resolve_kafka({"KAFKA_BOOTSTRAP_SERVERS": ""}, answers(False)) == ("local", LOCAL_KAFKA)
    assert resolve_postgres({}, answers(False)) == ("local", "postgresql://postgres@127.0.0.1:5432/test")
    assert LOCAL_POSTGRES_URL == "postgresql://postgres@127.0.0.1:5432/test"


@pytest.mark.unit
@pytest.mark.parametrize(("ci", "outcome"), [("true", "fail"), ("TRUE", "fail"), ("True", "fail"),
                                              ("false", "skip"), ("", "skip"), (None, "skip")])
def test_missing_service_fails_in_ci_and_skips_elsewhere(ci: str | None, outcome: str) -> None:
    env = {} if ci is None else {"CI": ci}
    assert unavailable_outcome(env) == outcome
    expected = pytest.fail.Exception if outcome == "fail" else pytest.skip.Exception
    with pytest.raises(expected, match="Kafka unavailable"):
        give_up("Kafka unavailable", env)


@pytest.mark.integration
def test_docker_check_is_quick() -> None:
    started = time.monotonic()
    assert isinstance(docker_available(), bool)
    assert time.monotonic() - started < 5
