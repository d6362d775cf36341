"""A Kafka client whose constructor fails leaves no network thread behind (kafka-python starts it first); the leak
guard names confluent-kafka clients left open too."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from kafka import KafkaAdminClient, KafkaConsumer
from kafka.errors import KafkaError

from services.adapters.devbroker import free_port
from services.adapters.kafka import backend
from services.adapters.kafka.clients import construct
from services.adapters.kafka.records import PublishFailed
from tests.support import kafka_leaks
from tests.support.drills import close_kafka_leftovers
from tests.support.pipeline import read_topic

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _refused_sockets() -> Iterator[None]:
    yield
    close_kafka_leftovers()  # kafka-python does not close a socket whose connect was refused


def io_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith("kafka-io-")}


@pytest.mark.parametrize("kind", [KafkaAdminClient, KafkaConsumer])
def test_a_failed_bootstrap_closes_the_clients_network_thread(kind: type) -> None:
    before = io_threads()
    nobody = f"127.0.0.1:{free_port()}"  # nothing listens there
    with pytest.raises(KafkaError):
        construct(kind, bootstrap_servers=nobody, bootstrap_timeout_ms=300, client_id=f"probe-{kind.__name__}")
    left = {t for t in io_threads() - before if t.is_alive()}
    assert left == set(), f"network threads left running: {[t.name for t in left]}"


@pytest.mark.parametrize("kind", [KafkaAdminClient, KafkaConsumer])
def test_the_plain_constructor_would_leave_it_running(kind: type) -> None:
    """What construct() guards against: without it, the failed client's thread keeps retrying the broker."""
    before = io_threads()
    nobody = f"127.0.0.1:{free_port()}"
    with pytest.raises(KafkaError):
        kind(bootstrap_servers=nobody, bootstrap_timeout_ms=300, client_id=f"orphan-{kind.__name__}")
    orphans = {t for t in io_threads() - before if t.is_alive()}
    assert [t.name for t in orphans] == [f"kafka-io-orphan-{kind.__name__}"]
    assert len(kafka_leaks.close_leftovers()) == 1  # stop it here, so the session's guard stays about real leaks


def test_the_guard_names_an_unclosed_confluent_client_and_not_a_closed_one() -> None:
    from services.adapters.kafka.confluent import clients

    config = clients.base_config(f"127.0.0.1:{free_port()}", "left-open")  # nothing listens there
    clients.producer(config).close()
    with clients.admin(config):
        pass
    left = clients.consumer(config | {"group.id": "left-open"})
    named = [line for line in kafka_leaks.close_leftovers() if "test_the_guard_names_an_unclosed" in line]
    assert len(named) == 1 and "Consumer, confluent-kafka" in named[0]
    assert kafka_leaks.closed(left)  # the guard closed it


def test_an_unacknowledged_confluent_batch_fails_and_the_sender_starts_anew() -> None:
    sender = backend.sender("confluent", f"127.0.0.1:{free_port()}", "events", timeout_s=0.5)  # nothing listens
    with pytest.raises(PublishFailed):
        sender.send_all([(b"key", b"value", (("content-type", b"application/json"),))])
    sender.reset()
    with pytest.raises(PublishFailed):
        sender.send_all([(b"key", b"value", ())])
    sender.reset()
    sender.close()


def test_concurrent_confluent_batches_each_return_once_acknowledged(kafka_bootstrap: str, kafka_topic: str) -> None:
    """Threads sharing one sender (the API's) each wait for their own batch's acknowledgements, not for an empty
    producer queue, and every record is on the topic."""
    sender = backend.sender("confluent", kafka_bootstrap, kafka_topic, timeout_s=30)
    failures: list[BaseException] = []

    def send(thread: int) -> None:
        try:
            for batch in range(5):
                sender.send_all([(f"{thread}".encode(), f"{thread}-{batch}-{i}".encode(), ()) for i in range(100)])
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=send, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    sender.close()
    assert failures == []
    values = {r.value for r in read_topic(kafka_bootstrap, kafka_topic)}
    assert len(values) == 4 * 5 * 100
