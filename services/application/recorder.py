"""Recording consumed records into the event store with exactly-once effect.

Per poll, for each partition's run of records, in this order:
  1. validate every record against the contracts and protect identifiers (invalid, or one of touchline's own
     event types → dead letter); a later record repeating an event id of the run is skipped when identical and
     dead-lettered (`event_id conflict`) when its content differs;
  2. publish that run's dead letters and wait for the broker's acknowledgement;
  3. in ONE database transaction: append the new valid events and the partition's tracking record
     ("<topic>:<partition>" → last offset). Records at or below the tracked offset are skipped (redelivery).
     When the store refuses the append because an event id is already recorded, the recorded events are
     compared with the new ones: identical ones are skipped (resubmission), different ones are dead-lettered
     as an `event_id conflict` (acknowledged before the retried append), and the append is retried;
  4. only then commit the Kafka offsets, which serve lag monitoring alone (a commit the group refuses after a
     rebalance is logged and dropped: the consumer rejoins and resumes from the tracked offsets).
A crash after 3 and before 4 redelivers records the store already tracks: step 3 skips them. A crash between
2 and 3 may publish a dead letter twice; its source-topic/partition/offset headers identify the copy.
The recorder is where every conflict is finally caught: the API compares an event with the store before
publishing, but two copies of an id in flight at once both pass that check and only meet here.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import orjson
from eventsourcing.persistence import Tracking

from contracts import Envelope
from domain.identity.identifiers import IdentifierProtector
from domain.intake import Rejected, admit, conflict_error, same_content, split_resends
from services.adapters.collector import collector_held
from services.adapters.kafka.records import DeadLetter, DeadLetterSink, RecordSource, SourceRecord
from services.adapters.metrics import RECORDER_LAG, RECORDER_RECORDS
from services.adapters.store.eventstore import EventStore, StoreConflict
from services.adapters.supervision import Liveness, run_loop

log = logging.getLogger(__name__)
MAX_CONFLICT_RETRIES = 5


@dataclass(slots=True)
class BatchResult:
    """What one poll's records became."""

    recorded: int = 0
    duplicates: int = 0
    redelivered: int = 0
    dead_lettered: int = 0
    next_offsets: dict[tuple[str, int], int] = field(default_factory=dict)

    def add(self, other: BatchResult) -> None:
        self.recorded += other.recorded
        self.duplicates += other.duplicates
        self.redelivered += other.redelivered
        self.dead_lettered += other.dead_lettered
        self.next_offsets |= other.next_offsets


class Recorder:
    """Turns consumed records into stored events; see the module docstring for the commit order."""

    def __init__(self, store: EventStore, dead_letters: DeadLetterSink, protector: IdentifierProtector) -> None:
        self._store = store
        self._dead_letters = dead_letters
        self._protector = protector

    def record(self, records: Sequence[SourceRecord]) -> BatchResult:
        result = BatchResult()
        with collector_held():  # a poll's events are all alive until appended (services.adapters.collector)
            for run in _runs_by_partition(records):
                result.add(self._record_run(run))
        return result

    def _record_run(self, run: list[SourceRecord]) -> BatchResult:
        last = run[-1]
        result = BatchResult(next_offsets={(last.topic, last.partition): last.offset + 1})
        tracked = self._store.tracked(last.tracking_name)
        fresh = [r for r in run if tracked is None or r.offset > tracked]
        result.redelivered = len(run) - len(fresh)
        if not fresh:
            return result
        admitted, letters = self._admit(fresh)
        resends = split_resends(list(enumerate(event for _, event in admitted)))
        letters += [_conflict_letter(admitted[i][0], event) for i, event in resends.conflicting.items()]
        if letters:
            self._dead_letters.send(letters)
        unique = [(admitted[i][0], event) for i, event in resends.first.items()]
        recorded, duplicates, conflicts = self._append(unique, Tracking(last.tracking_name, last.offset))
        result.recorded, result.duplicates = recorded, duplicates + len(resends.identical)
        result.dead_lettered = len(letters) + conflicts
        return result

    def _admit(self, records: list[SourceRecord]) -> tuple[list[tuple[SourceRecord, Envelope]], list[DeadLetter]]:
        admitted: list[tuple[SourceRecord, Envelope]] = []
        letters: list[DeadLetter] = []
        for record in records:
            outcome = admit(record.value or b"", self._protector)
            if isinstance(outcome, Rejected):
                letters.append(_dead_letter(record, outcome))
            else:
                admitted.append((record, outcome))
        return admitted, letters

    def _append(self, unique: list[tuple[SourceRecord, Envelope]], tracking: Tracking) -> tuple[int, int, int]:
        """Append with tracking; on a refusal drop what is already recorded (dead-lettering conflicting
        content) and try again. Returns (recorded, duplicates, conflicts)."""
        duplicates = conflicts = 0
        for _ in range(MAX_CONFLICT_RETRIES):
            try:
                self._store.append([event for _, event in unique], tracking)
                return len(unique), duplicates, conflicts
            except StoreConflict:
                done = self._store.tracked(tracking.application_name)
                if done is not None and done >= tracking.notification_id:
                    log.info("%s up to %s already recorded elsewhere", tracking.application_name, done,
                             extra={"tracking": tracking.application_name, "offset": tracking.notification_id})
                    return 0, duplicates + len(unique), conflicts
                known = self._store.recorded(event.event_id for _, event in unique)
                clashing = [(r, e) for r, e in unique if e.event_id in known and not same_content(known[e.event_id], e)]
                if clashing:
                    self._dead_letters.send([_conflict_letter(record, event) for record, event in clashing])
                duplicates += len(known) - len(clashing)
                conflicts += len(clashing)
                unique = [(r, e) for r, e in unique if e.event_id not in known]
        raise RuntimeError(f"could not record {tracking.application_name}@{tracking.notification_id}")


def _conflict_letter(record: SourceRecord, event: Envelope) -> DeadLetter:
    return _dead_letter(record, Rejected((conflict_error(event.event_id),)))


def _runs_by_partition(records: Sequence[SourceRecord]) -> list[list[SourceRecord]]:
    runs: dict[tuple[str, int], list[SourceRecord]] = defaultdict(list)
    for record in records:
        runs[(record.topic, record.partition)].append(record)
    return [sorted(run, key=lambda r: r.offset) for run in runs.values()]


def _dead_letter(record: SourceRecord, rejected: Rejected) -> DeadLetter:
    errors = [{"loc": e.loc, "message": e.message, "type": e.type} for e in rejected.errors]
    return DeadLetter(record, rejected.reason, orjson.dumps(errors))


AfterCommit = Callable[[BatchResult], None]


@dataclass(frozen=True, slots=True)
class RecorderClients:
    """What one incarnation of the recorder's connections holds: the consumer, the recorder with its dead-letter
    producer, and how to release the producer."""

    source: RecordSource
    recorder: Recorder
    close: Callable[[], None] = lambda: None


class RecorderLoop:
    """Poll → record → commit, one batch per `step`; `reset` recreates the consumer and the dead-letter producer
    (services.adapters.supervision drives it). `after_db_commit` runs between the store and Kafka commits."""

    def __init__(
        self,
        connect: Callable[[], RecorderClients],
        *,
        poll_timeout_s: float = 0.5,
        after_db_commit: AfterCommit | None = None,
    ) -> None:
        self._connect = connect
        self._clients: RecorderClients | None = connect()
        self._poll_timeout_s = poll_timeout_s
        self._after_db_commit = after_db_commit
        self.totals = BatchResult()

    @property
    def assigned(self) -> bool:
        """True once the group gave this recorder partitions (it consumes from then on)."""
        clients = self._clients
        return clients is not None and bool(clients.source.assignment())

    def run_once(self) -> BatchResult:
        clients = self._live()
        records = clients.source.poll(self._poll_timeout_s)
        lag = clients.source.lag()
        for (_, partition), behind in lag.items():
            if behind is not None:
                RECORDER_LAG.labels(str(partition)).set(behind)
        if not records:
            return BatchResult()
        result = clients.recorder.record(records)
        if self._after_db_commit is not None:
            self._after_db_commit(result)
        clients.source.commit(result.next_offsets)
        self.totals.add(result)
        for outcome in ("recorded", "duplicates", "redelivered", "dead_lettered"):
            RECORDER_RECORDS.labels(outcome).inc(getattr(result, outcome))
        for (topic, partition), offset in result.next_offsets.items():
            log.debug("recorded %s:%s up to offset %s", topic, partition, offset - 1,
                      extra={"topic": topic, "partition": partition, "offset": offset - 1})
        return result

    def step(self) -> bool:
        result = self.run_once()
        return bool(result.next_offsets)

    def drained(self) -> bool:
        """True when partitions are assigned and each one's position has reached its high watermark."""
        clients = self._clients
        if clients is None or not clients.source.assignment():
            return False
        lag = clients.source.lag()
        return bool(lag) and all(behind == 0 for behind in lag.values())

    def drain(self, timeout_s: float = 15.0) -> bool:
        """Record until every assigned partition is consumed up to its high watermark (or the timeout); the
        embedded run calls it after the API stopped accepting, so every acknowledged event is recorded."""
        deadline = time.monotonic() + timeout_s
        while not self.drained():
            if time.monotonic() >= deadline:
                log.warning("recorder stopped before draining the topic: %s", self._lag_text())
                return False
            self.run_once()
        log.info("recorder drained the topic")
        return True

    def reset(self) -> None:
        """Close the current consumer and producer (whatever state they are in) and connect anew."""
        self.close()
        self._clients = self._connect()

    def close(self) -> None:
        clients, self._clients = self._clients, None
        if clients is None:
            return
        try:
            clients.source.close()
        finally:
            clients.close()

    def run(self, stop: threading.Event, liveness: Liveness | None = None, *, drain: bool = False) -> None:
        """Supervised until `stop` is set (or dead: see services.adapters.supervision); with `drain`, records what is
        left on the topic before closing."""
        run_loop("recorder", self, stop, liveness or Liveness(), idle_s=0.0,
                 on_stop=self._drain_quietly if drain else None)

    def _drain_quietly(self) -> None:
        self.drain()

    def _live(self) -> RecorderClients:
        if self._clients is None:
            self._clients = self._connect()
        return self._clients

    def _lag_text(self) -> str:
        clients = self._clients
        lag = clients.source.lag() if clients is not None else {}
        return ", ".join(f"{t}:{p} {behind}" for (t, p), behind in sorted(lag.items())) or "no partitions"
