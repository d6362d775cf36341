"""Session services for tests: a Kafka broker and a Postgres database from env, Docker or this machine."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import ExitStack

import psycopg
import pytest
from kafka import KafkaAdminClient
from kafka.errors import KafkaError
from psycopg import sql

from tests.support import kafka_leaks
from tests.support.services import (
    Choice,
    Unreachable,
    docker_available,
    give_up,
    probe_kafka,
    probe_postgres,
    resolve_kafka,
    resolve_postgres,
)

DEFAULT_PARTITIONS = 3


def pytest_configure(config: pytest.Config) -> None:
    kafka_leaks.install()  # before any probe or broker start: those make clients too


@pytest.fixture(autouse=True)
def _logging_as_it_was() -> Iterator[None]:
    """A command run in process (the CLI's configure_logging) replaces the root logger's handlers with one on the
    stderr of that moment, which pytest closes after the test; later log records from threads would hit it."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def _start_kafka(choice: Choice, stack: ExitStack) -> str:
    if choice.source == "env":
        return choice.target
    if choice.source == "docker":
        from testcontainers.community.kafka import KafkaContainer

        return str(stack.enter_context(KafkaContainer(choice.target).with_kraft()).get_bootstrap_server())
    from services.adapters.devbroker import LocalBroker

    return stack.enter_context(LocalBroker()).bootstrap_servers


def _start_postgres(choice: Choice, stack: ExitStack) -> str:
    if choice.source != "docker":
        return choice.target
    from testcontainers.community.postgres import PostgresContainer

    container = stack.enter_context(PostgresContainer(choice.target, driver="psycopg"))
    return str(container.get_connection_url(driver=None))


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """A reachable broker: $KAFKA_BOOTSTRAP_SERVERS, else a Kafka container, else a local Tansu."""
    env = dict(os.environ)
    choice = resolve_kafka(env, docker_available)
    with ExitStack() as stack:
        bootstrap, failure = "", None
        try:
            bootstrap = _start_kafka(choice, stack)
            probe_kafka(bootstrap)
        except Exception as exc:  # Unreachable, or the container/local broker failed to start
            failure = _why(exc)
        if failure is not None:  # outside `except`: pytest keeps the outcome, not the failure's traceback
            give_up(f"Kafka ({choice.source}: {choice.target}) unavailable: {failure}", env)
        yield bootstrap
        leaked = kafka_leaks.close_leftovers()
        leaked += [f"- {t.name}, made where nothing recorded it" for t in threading.enumerate()
                   if t.name.startswith("kafka-io-") and t.is_alive()]
        if leaked:
            pytest.fail("Kafka clients left open (their IO threads would outlive the broker):\n" + "\n".join(leaked))


@pytest.fixture
def kafka_topic(request: pytest.FixtureRequest, kafka_bootstrap: str) -> Iterator[str]:
    """A fresh topic per test; partitions default to 3, override with parametrize(..., indirect=True)."""
    name = f"t-{uuid.uuid4().hex[:8]}"
    partitions = int(getattr(request, "param", DEFAULT_PARTITIONS))
    with KafkaAdminClient(bootstrap_servers=kafka_bootstrap) as admin:
        admin.create_topics({name: {"num_partitions": partitions, "replication_factor": 1}},
                            wait_for_metadata=True)
        yield name
        with contextlib.suppress(KafkaError):
            admin.delete_topics([name])


@pytest.fixture
def kafka_client() -> str:
    """The Kafka client library of a test's processes (Settings.kafka_client): kafka-python, unless the test runs
    on both (`@BOTH_KAFKA_CLIENTS`, tests.support.pipeline), which parametrizes this name."""
    return "kafka-python"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A postgresql:// URL: $DATABASE_URL, else a postgres:16-alpine container, else the local database."""
    env = dict(os.environ)
    choice = resolve_postgres(env, docker_available)
    with ExitStack() as stack:
        url, failure = "", None
        try:
            url = _start_postgres(choice, stack)
            probe_postgres(url)
        except Exception as exc:  # Unreachable, or the container failed to start
            failure = _why(exc)
        if failure is not None:
            give_up(f"Postgres ({choice.source}) unavailable: {failure}", env)
        yield url


@pytest.fixture
def pg_schema(postgres_url: str) -> Iterator[str]:
    """A fresh schema per test in the session database, dropped with everything in it afterwards."""
    name = f"t_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(sql.SQL("create schema {}").format(sql.Identifier(name)))
        yield name
        conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(name)))


def _why(exc: Exception) -> str:
    return str(exc) if isinstance(exc, Unreachable) else f"{type(exc).__name__}: {exc}"
