"""Topic administration with confluent-kafka: create missing topics, list topics, probe the broker."""

from __future__ import annotations

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import NewTopic

from services.adapters.kafka.confluent import clients

TIMEOUT_S = 30.0


def ensure_topics(bootstrap_servers: str, topics: dict[str, int], replication_factor: int = 1) -> None:
    """Create each missing topic with the given partition count (existing topics are left as they are)."""
    with clients.admin(clients.base_config(bootstrap_servers, "touchline-admin")) as admin:
        existing = set(admin.list_topics(timeout=TIMEOUT_S).topics)
        missing = [NewTopic(name, n, replication_factor) for name, n in topics.items() if name not in existing]
        if not missing:
            return
        for future in admin.create_topics(missing, operation_timeout=TIMEOUT_S).values():
            try:
                future.result(timeout=TIMEOUT_S)
            except KafkaException as exc:
                if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise


def existing_topics(bootstrap_servers: str) -> set[str]:
    with clients.admin(clients.base_config(bootstrap_servers, "touchline-admin")) as admin:
        return set(admin.list_topics(timeout=TIMEOUT_S).topics)


def broker_reachable(bootstrap_servers: str, timeout_s: float = 3.0) -> bool:
    """True when a broker answers a metadata request within the timeout."""
    with clients.admin(clients.base_config(bootstrap_servers, "touchline-probe")) as admin:
        try:
            admin.list_topics(timeout=timeout_s)
            return True
        except KafkaException:
            return False
