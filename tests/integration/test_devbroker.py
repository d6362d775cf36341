"""The local brokers speak enough Kafka for touchline: keyed records with headers; the durable test broker keeps
records and offsets across a restart."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, OffsetAndMetadata, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from tests.support.durable_broker import DurableBroker, node_available
from tests.support.services import in_ci

pytestmark = pytest.mark.integration

Headers = list[tuple[str, bytes]]
Record = tuple[int | None, bytes, bytes, Headers]  # partition (None: by key), key, value, headers


def produce(bootstrap: str, topic: str, records: Sequence[Record]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        futures = [producer.send(topic, key=key, value=value, headers=headers, partition=partition)
                   for partition, key, value, headers in records]
        for future in futures:
            future.get(timeout=10)
    finally:
        producer.close()


def read_all(bootstrap: str, topic: str, expected: int, timeout_s: float = 15.0) -> list[ConsumerRecord]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        partitions = sorted(consumer.partitions_for_topic(topic) or ())
        consumer.assign([TopicPartition(topic, p) for p in partitions])
        consumer.seek_to_beginning()
        records: list[ConsumerRecord] = []
        deadline = time.monotonic() + timeout_s
        while len(records) < expected and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
        return records
    finally:
        consumer.close()


def test_keyed_records_with_headers_round_trip(kafka_bootstrap: str, kafka_topic: str) -> None:
    sent = [(None, f"key-{i % 7}".encode(), f"value-{i}".encode(), [("event-type", b"call.received"),
                                                                       ("seq", str(i).encode())])
            for i in range(100)]
    produce(kafka_bootstrap, kafka_topic, sent)

    received = read_all(kafka_bootstrap, kafka_topic, expected=100)

    assert len(received) == 100
    got = sorted(((r.key, r.value, list(r.headers)) for r in received), key=lambda r: r[1])
    assert got == sorted(((k, v, h) for _, k, v, h in sent), key=lambda r: r[1])
    by_key: dict[bytes, set[int]] = {}
    for record in received:
        by_key.setdefault(record.key, set()).add(record.partition)
    assert all(len(partitions) == 1 for partitions in by_key.values()), "a key must map to one partition"


@pytest.mark.skipif(not node_available() and not in_ci(os.environ),
                    reason="the durable test broker needs node and npm (s3rver)")
def test_the_durable_test_broker_keeps_topics_records_and_offsets_across_restart(tmp_path: Path) -> None:
    topic, group = f"t-{uuid.uuid4().hex[:8]}", f"g-{uuid.uuid4().hex[:8]}"
    sent = [(i % 2, f"k{i}".encode(), f"v{i}".encode(), [("n", str(i).encode())]) for i in range(20)]
    committed = {TopicPartition(topic, 0): 6, TopicPartition(topic, 1): 10}

    with DurableBroker(tmp_path / "broker") as broker:
        with KafkaAdminClient(bootstrap_servers=broker.bootstrap_servers) as admin:
            admin.create_topics({topic: {"num_partitions": 2, "replication_factor": 1}},
                                wait_for_metadata=True)
        produce(broker.bootstrap_servers, topic, sent)
        consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap_servers, group_id=group,
                                 enable_auto_commit=False, session_timeout_ms=6000)
        consumer.assign(list(committed))
        consumer.commit({tp: OffsetAndMetadata(offset, "", -1) for tp, offset in committed.items()})
        consumer.close(autocommit=False)

    # Written first after the restart, before anything reads the partitions: the broker must number them after
    # the stored records, not write over them (s3rver alone let Tansu reset its watermarks to 0 here).
    later = [(i % 2, f"k{i}".encode(), f"v{i}".encode(), [("n", str(i).encode())]) for i in range(20, 24)]
    with DurableBroker(tmp_path / "broker") as broker:
        produce(broker.bootstrap_servers, topic, later)
        with KafkaAdminClient(bootstrap_servers=broker.bootstrap_servers) as admin:
            assert topic in admin.list_topics()
        consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap_servers, group_id=group,
                                 enable_auto_commit=False, session_timeout_ms=6000)
        try:
            assert {tp: consumer.committed(tp) for tp in committed} == committed
        finally:
            consumer.close(autocommit=False)
        received = read_all(broker.bootstrap_servers, topic, expected=len(sent) + len(later))

    assert sorted((r.partition, r.key, r.value, list(r.headers)) for r in received) == sorted(sent + later)
    for partition in (0, 1):
        in_order = [(r.offset, r.value) for r in received if r.partition == partition]
        assert [offset for offset, _ in in_order] == list(range(12)), "records keep their offsets"
        assert {value for offset, value in in_order if offset >= 10} == {v for p, _, v, _ in later if p == partition}


def test_the_broker_dies_with_its_parent_even_on_sigkill() -> None:
    import signal
    import subprocess
    import sys

    script = ("import time; from services.adapters.devbroker import LocalBroker; broker = LocalBroker().start(); "
              "print(*broker.pids, flush=True); time.sleep(600)")
    with subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE) as parent:
        assert parent.stdout is not None
        pids = [int(pid) for pid in parent.stdout.readline().split()]
        assert pids and all(_running(pid) for pid in pids)
        parent.send_signal(signal.SIGKILL)  # no atexit, no finally: only the kernel can stop the broker now
        parent.wait()
    deadline = time.monotonic() + 10
    while any(_running(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in pids if _running(pid)], "the broker outlived its parent"


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
