"""Consuming from Kafka as a consumer group whose positions live in the event store, not in Kafka."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from kafka import ConsumerRebalanceListener, KafkaConsumer, TopicPartition
from kafka.errors import CommitFailedError
from kafka.structs import OffsetAndMetadata

from services.adapters.kafka.clients import construct
from services.adapters.kafka.records import SourceRecord, TrackedOffset

log = logging.getLogger(__name__)


class _SeekToTracked(ConsumerRebalanceListener):
    """On assignment, continue after the offset the store recorded (the authoritative position)."""

    def __init__(self, consumer: KafkaConsumer, tracked: TrackedOffset) -> None:
        self._consumer = consumer
        self._tracked = tracked

    def on_partitions_revoked(self, revoked: Sequence[TopicPartition]) -> None:
        log.info("partitions revoked: %s", sorted((tp.topic, tp.partition) for tp in revoked))

    def on_partitions_assigned(self, assigned: Sequence[TopicPartition]) -> None:
        for tp in assigned:
            offset = self._tracked(f"{tp.topic}:{tp.partition}")
            if offset is None:
                self._consumer.seek_to_beginning(tp)
            else:
                self._consumer.seek(tp, offset + 1)
        log.info("partitions assigned: %s", sorted((tp.topic, tp.partition) for tp in assigned))


class KafkaRecordSource:
    """RecordSource over a kafka-python consumer group; never auto-commits."""

    def __init__(
        self,
        bootstrap_servers: str,
        topic: str,
        group_id: str,
        tracked: TrackedOffset,
        **overrides: Any,
    ) -> None:
        config: dict[str, Any] = {
            "bootstrap_servers": bootstrap_servers.split(","),
            "group_id": group_id,
            "client_id": f"{group_id}-consumer",
            "enable_auto_commit": False,
            "auto_offset_reset": "earliest",
            "max_poll_records": 2000,
            "session_timeout_ms": 10_000,
            "heartbeat_interval_ms": 1000,
            "fetch_max_wait_ms": 100,
        }
        self._consumer = construct(KafkaConsumer, **(config | overrides))
        self._consumer.subscribe([topic], listener=_SeekToTracked(self._consumer, tracked))

    def poll(self, timeout_s: float) -> list[SourceRecord]:
        batches = self._consumer.poll(timeout_ms=int(timeout_s * 1000))
        return [
            SourceRecord(r.topic, r.partition, r.offset, r.key, r.value, tuple(r.headers or ()))
            for records in batches.values()
            for r in records
        ]

    def commit(self, next_offsets: Mapping[tuple[str, int], int]) -> None:
        """Commit for lag monitoring. A commit the group refuses (CommitFailedError: it rebalanced, or forgot
        this member, as after a broker restart) is logged and dropped: the next poll rejoins the group and the
        assignment seeks to the store's tracked offsets. Tearing the consumer down instead would close it in
        the middle of that rejoin, and a member that leaves during a join can hold up the group's next one."""
        offsets = {TopicPartition(t, p): OffsetAndMetadata(o, "", -1) for (t, p), o in next_offsets.items()}
        if not offsets:
            return
        try:
            self._consumer.commit(offsets)
        except CommitFailedError as exc:
            log.warning("offset commit refused by the group (lag monitoring only; the next poll rejoins): %s", exc,
                        extra={"offsets": {f"{tp.topic}:{tp.partition}": o.offset for tp, o in offsets.items()}})

    def assignment(self) -> set[tuple[str, int]]:
        return {(tp.topic, tp.partition) for tp in self._consumer.assignment()}

    def lag(self) -> dict[tuple[str, int], int | None]:
        # The high watermark the last fetch response reported, not a ListOffsets request (which some brokers
        # answer inexactly); None until a fetch of that partition came back.
        lag: dict[tuple[str, int], int | None] = {}
        for tp in self._consumer.assignment():
            highwater = self._consumer.highwater(tp)
            lag[(tp.topic, tp.partition)] = None if highwater is None else max(0, highwater - self._position(tp))
        return lag

    def _position(self, tp: TopicPartition) -> int:
        position = self._consumer.position(tp, timeout_ms=1000)
        return int(position) if position is not None else 0

    def close(self) -> None:
        self._consumer.close(autocommit=False)
