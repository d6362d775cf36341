"""Chooses and probes the Kafka broker and Postgres database for tests; decides skip or fail without them."""

from __future__ import annotations

import gc
import socket
import warnings
from collections.abc import Callable, Mapping
from typing import Literal, NamedTuple, NoReturn
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from services.adapters.kafka.clients import construct

KAFKA_ENV = "KAFKA_BOOTSTRAP_SERVERS"
POSTGRES_ENV = "DATABASE_URL"
KAFKA_IMAGE = "confluentinc/cp-kafka:7.6.0"  # testcontainers' KafkaContainer expects a Confluent image
POSTGRES_IMAGE = "postgres:16-alpine"
LOCAL_KAFKA = "tansu-memory"
LOCAL_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"

Source = Literal["env", "docker", "local"]


class Choice(NamedTuple):
    """Where a service comes from; target is the address (env, local Postgres) or image (docker) or engine."""

    source: Source
    target: str


class Unreachable(Exception):
    """A chosen service did not answer its probe."""


def resolve_kafka(env: Mapping[str, str], docker_available: Callable[[], bool]) -> Choice:
    if bootstrap := env.get(KAFKA_ENV, "").strip():
        return Choice("env", bootstrap)
    if docker_available():
        return Choice("docker", KAFKA_IMAGE)
    return Choice("local", LOCAL_KAFKA)


def resolve_postgres(env: Mapping[str, str], docker_available: Callable[[], bool]) -> Choice:
    if url := env.get(POSTGRES_ENV, "").strip():
        return Choice("env", url)
    if docker_available():
        return Choice("docker", POSTGRES_IMAGE)
    return Choice("local", LOCAL_POSTGRES_URL)


def in_ci(env: Mapping[str, str]) -> bool:
    return env.get("CI", "").strip().lower() == "true"


def unavailable_outcome(env: Mapping[str, str]) -> Literal["fail", "skip"]:
    """A missing service fails the run in CI and skips the tests elsewhere."""
    return "fail" if in_ci(env) else "skip"


def give_up(reason: str, env: Mapping[str, str]) -> NoReturn:
    if unavailable_outcome(env) == "fail":
        pytest.fail(f"{reason} (CI=true: a missing service is a failure, not a skip)", pytrace=False)
    pytest.skip(reason)


def docker_available(timeout: float = 2.0) -> bool:
    """True when a Docker engine answers the docker SDK's ping within timeout seconds."""
    with warnings.catch_warnings():
        # A failed connect leaks the SDK's socket; its ResourceWarning would fail the run under -W error.
        warnings.simplefilter("ignore", ResourceWarning)
        answered = _ping_docker(timeout)
        gc.collect()
    return answered


def _ping_docker(timeout: float) -> bool:
    try:
        import docker

        client = docker.from_env(timeout=timeout)
    except Exception:  # no SDK, no socket, bad DOCKER_HOST: all mean "no engine"
        return False
    try:
        return bool(client.ping())
    except Exception:
        return False
    finally:
        client.close()


def probe_kafka(bootstrap_servers: str, timeout_s: float = 5.0) -> None:
    """Raise Unreachable unless a broker answers a metadata (DescribeCluster) request in time."""
    # TCP first: a failed bootstrap leaks kafka-python's IO thread and sockets (they warn under -W error).
    if refused := _tcp_refusals(bootstrap_servers, timeout_s):
        raise Unreachable(f"no Kafka broker listens at {bootstrap_servers}: {refused}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        failure = _describe_cluster(bootstrap_servers, int(timeout_s * 1000))
        gc.collect()
    if failure is not None:
        raise Unreachable(f"Kafka at {bootstrap_servers} did not describe its cluster: {failure}")


def _tcp_refusals(bootstrap_servers: str, timeout_s: float) -> str | None:
    """None when one of the servers accepts a TCP connection, else why none did."""
    reasons = []
    for server in (s.strip() for s in bootstrap_servers.split(",")):
        host, _, port = server.rpartition(":") if ":" in server else (server, ":", "9092")
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s):
                return None
        except (OSError, ValueError) as exc:
            reasons.append(f"{server}: {exc}")
    return "; ".join(reasons)


def _describe_cluster(bootstrap_servers: str, timeout_ms: int) -> str | None:
    try:
        with construct(KafkaAdminClient, bootstrap_servers=bootstrap_servers, bootstrap_timeout_ms=timeout_ms,
                       request_timeout_ms=timeout_ms) as admin:
            admin.describe_cluster()
    except (KafkaError, OSError) as exc:
        return repr(exc)
    return None


def probe_postgres(url: str, timeout_s: int = 3) -> None:
    """Raise Unreachable unless the database at url accepts a connection and answers `select 1`."""
    try:
        with psycopg.connect(url, connect_timeout=timeout_s) as conn:
            conn.execute("select 1").fetchone()
    except psycopg.Error as exc:
        raise Unreachable(f"no Postgres answers at {redact(url)}: {str(exc).strip()}") from exc


def redact(url: str) -> str:
    """The URL with any password replaced, fit for a skip/fail message."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=f"{userinfo.partition(':')[0]}:***@{hostport}"))
