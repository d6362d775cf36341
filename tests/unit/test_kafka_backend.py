"""TOUCHLINE_KAFKA_CLIENT chooses the client library behind the Kafka ports."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.adapters.kafka import backend
from services.adapters.kafka.confluent.producer import ConfluentSender
from services.adapters.kafka.producer import KafkaSender
from services.adapters.settings import Settings

pytestmark = pytest.mark.unit


def test_kafka_python_is_the_default_and_confluent_is_chosen_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOUCHLINE_KAFKA_CLIENT", raising=False)
    assert Settings().kafka_client == "kafka-python"
    assert Settings(TOUCHLINE_KAFKA_CLIENT="confluent").kafka_client == "confluent"
    with pytest.raises(ValidationError):
        Settings(TOUCHLINE_KAFKA_CLIENT="librdkafka")


@pytest.mark.parametrize(("client", "kind"), [("kafka-python", KafkaSender), ("confluent", ConfluentSender)])
def test_the_sender_is_made_with_the_chosen_library(client: backend.KafkaClient, kind: type) -> None:
    sender = backend.sender(client, "127.0.0.1:9", "events")  # connects on first use only
    try:
        assert isinstance(sender, kind)
    finally:
        sender.close()
