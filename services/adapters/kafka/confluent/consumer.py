"""Consuming with confluent-kafka as a consumer group whose positions live in the event store, not in Kafka."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import confluent_kafka
from confluent_kafka import OFFSET_BEGINNING, KafkaError, KafkaException, Message, TopicPartition

from services.adapters.kafka.confluent import clients
from services.adapters.kafka.records import Headers, SourceRecord, TrackedOffset

log = logging.getLogger(__name__)

# Commits the group refuses because it rebalanced or forgot this member (e.g. after a broker restart).
_REFUSED_COMMITS = frozenset({KafkaError.REBALANCE_IN_PROGRESS, KafkaError.ILLEGAL_GENERATION,
                              KafkaError.UNKNOWN_MEMBER_ID, KafkaError._ASSIGNMENT_LOST, KafkaError._NO_OFFSET})


class ConfluentRecordSource:
    """RecordSource over a confluent-kafka consumer group; never commits on its own, never stores offsets.

    The consumer is used by the polling thread only: other threads (readiness, `RecorderLoop.assigned`) read the
    assignment the rebalance callbacks recorded, since a consumer call made while another thread polls through a
    rebalance can wait for that rebalance, holding the interpreter lock its callback needs."""

    def __init__(
        self,
        bootstrap_servers: str,
        topic: str,
        group_id: str,
        tracked: TrackedOffset,
        *,
        session_timeout_ms: int = 10_000,
        max_poll_records: int = 2000,
        **overrides: Any,
    ) -> None:
        config = clients.base_config(bootstrap_servers, f"{group_id}-consumer") | {
            "group.id": group_id,
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": session_timeout_ms,
            "heartbeat.interval.ms": 1000,
            "fetch.wait.max.ms": 100,
        }
        self._tracked = tracked
        self._max_records = max_poll_records
        self._next: dict[tuple[str, int], int] = {}  # next offset to consume, once known, per assigned partition
        self._assigned: frozenset[TopicPartition] = frozenset()
        self._closed = False
        self._consumer = clients.consumer(config | overrides)
        try:
            self._consumer.subscribe([topic], on_assign=self._on_assign, on_revoke=self._on_revoke,
                                     on_lost=self._on_revoke)
        except BaseException:
            self.close()
            raise

    def _on_assign(self, consumer: confluent_kafka.Consumer, assigned: list[TopicPartition]) -> None:
        """Continue after the offset the store recorded (the authoritative position), else from the beginning."""
        for tp in assigned:
            offset = self._tracked(f"{tp.topic}:{tp.partition}")
            tp.offset = OFFSET_BEGINNING if offset is None else offset + 1
            if offset is not None:
                self._next[(tp.topic, tp.partition)] = offset + 1
        consumer.assign(assigned)
        self._assigned = frozenset(TopicPartition(tp.topic, tp.partition) for tp in assigned)
        log.info("partitions assigned: %s", sorted((tp.topic, tp.partition) for tp in assigned))

    def _on_revoke(self, consumer: confluent_kafka.Consumer, revoked: list[TopicPartition]) -> None:
        consumer.unassign()  # eager rebalancing: every partition goes back to the group
        self._assigned = frozenset()
        for tp in revoked:
            self._next.pop((tp.topic, tp.partition), None)
        log.info("partitions revoked: %s", sorted((tp.topic, tp.partition) for tp in revoked))

    def poll(self, timeout_s: float) -> list[SourceRecord]:
        """Wait up to the timeout for a first record, then take what is already fetched, up to max_poll_records."""
        first = self._consumer.poll(timeout_s)
        if first is None:
            return []
        messages = [first, *self._consumer.consume(self._max_records - 1, 0)] if self._max_records > 1 else [first]
        records = [self._record(m) for m in messages if self._usable(m)]
        for r in records:
            self._next[(r.topic, r.partition)] = r.offset + 1
        return records

    @staticmethod
    def _usable(message: Message) -> bool:
        """False for an error event: fatal ones raise (the supervised loop reconnects), the others are logged
        (librdkafka retries them itself)."""
        error = message.error()
        if error is None:
            return True
        if error.fatal():
            raise KafkaException(error)
        log.warning("consumer error (retried by the client): %s", error.str())
        return False

    @staticmethod
    def _record(m: Message) -> SourceRecord:
        return SourceRecord(str(m.topic()), int(m.partition() or 0), int(m.offset() or 0), m.key(), m.value(),
                            _headers(m))

    def commit(self, next_offsets: Mapping[tuple[str, int], int]) -> None:
        """Commit for lag monitoring; a commit the group refuses is logged and dropped (see KafkaRecordSource)."""
        offsets = [TopicPartition(t, p, o) for (t, p), o in next_offsets.items()]
        if not offsets:
            return
        try:
            self._consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            error = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
            if error is None or error.code() not in _REFUSED_COMMITS:
                raise
            log.warning("offset commit refused by the group (lag monitoring only; the next poll rejoins): %s",
                        error.str(), extra={"offsets": {f"{tp.topic}:{tp.partition}": tp.offset for tp in offsets}})

    def assignment(self) -> set[tuple[str, int]]:
        return {(tp.topic, tp.partition) for tp in self._assigned}

    def lag(self) -> dict[tuple[str, int], int | None]:
        """The high watermark of the last fetch response (cached: no ListOffsets request) less the next offset to
        consume; None until both are known. A partition read from its beginning with nothing consumed yet has a
        known lag only when it is empty (watermark 0)."""
        lag: dict[tuple[str, int], int | None] = {}
        for tp in self._assigned:
            _, high = self._consumer.get_watermark_offsets(tp, cached=True)
            position = self._next.get((tp.topic, tp.partition), 0 if high == 0 else None)
            lag[(tp.topic, tp.partition)] = None if high < 0 or position is None else max(0, high - position)
        return lag

    def close(self) -> None:
        """Leave the group and stop the client's threads (once)."""
        if not self._closed:
            self._closed = True
            self._consumer.close()


def _headers(m: Message) -> Headers:
    """Header values as bytes (librdkafka gives None for a header without a value)."""
    raw = m.headers() or []
    pairs = raw.items() if isinstance(raw, dict) else raw
    return tuple((k, v.encode() if isinstance(v, str) else v or b"") for k, v in pairs)
