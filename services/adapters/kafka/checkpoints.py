"""The Kafka sink for signed checkpoints: the audit topic, key = seq, value = the checkpoint JSON."""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from domain.audit.checkpoint import SignedCheckpoint, checkpoint_json
from services.adapters.kafka.records import RecordSender


class KafkaCheckpointSink:
    """Publishes checkpoints to the audit topic: key = seq, value = the checkpoint JSON (see docs/audit.md)."""

    def __init__(self, sender: RecordSender) -> None:
        self._sender = sender

    def __call__(self, checkpoints: Sequence[SignedCheckpoint]) -> None:
        headers = (("content-type", b"application/json"),)
        self._sender.send_all([(str(c.statement.seq).encode(),
                                orjson.dumps(checkpoint_json(c), option=orjson.OPT_SORT_KEYS), headers)
                               for c in checkpoints])
