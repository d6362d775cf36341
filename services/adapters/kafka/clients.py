"""Constructing kafka-python clients without leaking their IO thread when the constructor fails.

A KafkaConsumer or KafkaAdminClient starts its network thread before it bootstraps; when the bootstrap fails
(no broker yet, a broker restarting) the constructor raises and nobody holds the client any more, but its thread
keeps retrying the broker, with its sockets, until the process ends. The clients take a `kafka_client` factory
(a documented setting), so every network client is made through one that remembers it and closes it on failure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from kafka.net.compat import KafkaNetClient

C = TypeVar("C")


def construct(kind: Callable[..., C], **config: Any) -> C:
    """`kind(**config)`, where a failed construction closes the network clients it had made."""
    made: list[KafkaNetClient] = []

    def network_client(**settings: Any) -> KafkaNetClient:
        client = KafkaNetClient(**settings)
        made.append(client)
        return client

    try:
        return kind(**config, kafka_client=network_client)
    except BaseException:
        for client in made:
            client.close()
        raise
