"""Topic administration with kafka-python: create missing topics, list topics, probe the broker (backend.py
chooses between this and the confluent-kafka module)."""

from __future__ import annotations

import contextlib
import socket

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from services.adapters.kafka.clients import construct


def ensure_topics(bootstrap_servers: str, topics: dict[str, int], replication_factor: int = 1) -> None:
    """Create each missing topic with the given partition count (existing topics are left as they are)."""
    admin = construct(KafkaAdminClient, bootstrap_servers=bootstrap_servers.split(","), client_id="touchline-admin")
    try:
        existing = set(admin.list_topics())
        missing = [NewTopic(name, n, replication_factor) for name, n in topics.items() if name not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(missing)
    finally:
        admin.close()


def _accepts_tcp(address: str, timeout_s: float) -> bool:
    host, _, port = address.strip().rpartition(":")
    try:
        with socket.create_connection((host or "localhost", int(port)), timeout=timeout_s):
            return True
    except (OSError, ValueError):
        return False


def existing_topics(bootstrap_servers: str) -> set[str]:
    admin = construct(KafkaAdminClient, bootstrap_servers=bootstrap_servers.split(","), client_id="touchline-admin")
    try:
        return set(admin.list_topics())
    finally:
        admin.close()


def broker_reachable(bootstrap_servers: str, timeout_s: float = 3.0) -> bool:
    """True when a broker answers a metadata request within the timeout."""
    if not any(_accepts_tcp(address, timeout_s) for address in bootstrap_servers.split(",")):
        return False  # kafka-python would retry (and leak sockets) against a closed port
    try:
        admin = construct(
            KafkaAdminClient,
            bootstrap_servers=bootstrap_servers.split(","),
            client_id="touchline-probe",
            request_timeout_ms=int(timeout_s * 1000),
            bootstrap_timeout_ms=int(timeout_s * 1000),
        )
    except (KafkaError, ValueError, OSError):
        return False
    try:
        admin.list_topics()
        return True
    except (KafkaError, OSError):
        return False
    finally:
        admin.close()
