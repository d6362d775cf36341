"""Making confluent-kafka clients: the common configuration, and the one place that constructs each client.

The classes are module attributes looked up at each call, so a test harness that records every client made
(tests/support/kafka_leaks.py) can put recording subclasses in their place.
"""

from __future__ import annotations

import logging
from typing import Any

import confluent_kafka
import confluent_kafka.admin

Producer = confluent_kafka.Producer
Consumer = confluent_kafka.Consumer
AdminClient = confluent_kafka.admin.AdminClient

librdkafka_log = logging.getLogger("librdkafka")


def base_config(bootstrap_servers: str, client_id: str) -> dict[str, Any]:
    """Where the brokers are, who we are, and librdkafka's own log lines into Python logging (not stderr)."""
    return {"bootstrap.servers": bootstrap_servers, "client.id": client_id, "logger": librdkafka_log}


def producer(config: dict[str, Any]) -> confluent_kafka.Producer:
    return Producer(config)


def consumer(config: dict[str, Any]) -> confluent_kafka.Consumer:
    return Consumer(config)


def admin(config: dict[str, Any]) -> confluent_kafka.admin.AdminClient:
    return AdminClient(config)
