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
  4. only then commit the Kafka offsets, which serve lag monitoring alone.
A crash after 3 and before 4 redelivers records the store already tracks: step 3 skips them. A crash between
2 and 3 may publish a dead letter twice; its source-topic/partition/offset headers identify the copy.
The recorder is where every conflict is finally caught: the API compares an event with the store before
publishing, but two copies of an id in flight at once both pass that check and only meet here.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import orjson
from eventsourcing.persistence import Tracking

from contracts import Envelope
from domain.identity.identifiers import IdentifierProtector
from domain.intake import Rejected, admit, conflict_error, same_content, split_resends
from services.kafka.records import DeadLetter, DeadLetterSink, RecordSource, SourceRecord
from services.metrics import RECORDER_RECORDS
from services.store.eventstore import EventStore, StoreConflict

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
                    log.info("%s up to %s already recorded elsewhere", tracking.application_name, done)
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


class RecorderLoop:
    """Poll → record → commit, until stopped. `after_db_commit` runs between the store and Kafka commits."""

    def __init__(
        self,
        source: RecordSource,
        recorder: Recorder,
        *,
        poll_timeout_s: float = 0.5,
        after_db_commit: AfterCommit | None = None,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self._source = source
        self._recorder = recorder
        self._poll_timeout_s = poll_timeout_s
        self._after_db_commit = after_db_commit
        self._on_close = on_close  # releases what the loop's recorder holds (the dead-letter producer)
        self.totals = BatchResult()

    @property
    def assigned(self) -> bool:
        """True once the group gave this recorder partitions (it consumes from then on)."""
        return bool(self._source.assignment())

    def run_once(self) -> BatchResult:
        records = self._source.poll(self._poll_timeout_s)
        if not records:
            return BatchResult()
        result = self._recorder.record(records)
        if self._after_db_commit is not None:
            self._after_db_commit(result)
        self._source.commit(result.next_offsets)
        self.totals.add(result)
        for outcome in ("recorded", "duplicates", "redelivered", "dead_lettered"):
            RECORDER_RECORDS.labels(outcome).inc(getattr(result, outcome))
        return result

    def run(self, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                self.run_once()
        finally:
            self._source.close()
            if self._on_close is not None:
                self._on_close()
