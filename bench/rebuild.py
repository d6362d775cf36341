"""Rebuild throughput: a raw paged read of N log rows versus a rebuild from zero of every projection.

    make bench                                  # N=100000, SQLite event store, rebuilt into a fresh SQLite file
    python -m bench.rebuild --events 20000 --batch 5000

The event store is filled first (untimed); then the raw read (`EventStore.read_raw`, no decoding), a decoding
read (`EventStore.read`), and `services.audit.replay.replay` of timeline, cases and SLA into a fresh database.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from projections.cases.store import SqlCasesStore
from projections.sla.store import SqlSlaStore
from projections.timeline.store import SqlTimelineStore
from services.audit.replay import REBUILD_BATCH, Checksummed, rebuild_target, replay
from services.store.eventstore import EventStore
from tests.support.replay_data import replay_log


def fill(store: EventStore, events: int) -> int:
    log = replay_log(events)
    for start in range(0, len(log), 1000):
        store.append(log[start:start + 1000])
    return store.head()


def timed_read(store: EventStore, batch: int, decode: bool) -> tuple[int, float]:
    started, after, seen = time.perf_counter(), 0, 0
    read = store.read if decode else store.read_raw
    while rows := read(after, batch):
        seen += len(rows)
        after = rows[-1].position
    return seen, time.perf_counter() - started


def timed_rebuild(store: EventStore, into: str, batch: int) -> tuple[dict[str, str], float]:
    views = rebuild_target(into)
    targets: dict[str, Checksummed] = {"timeline": SqlTimelineStore(views), "cases": SqlCasesStore(views),
                                       "sla": SqlSlaStore(views)}
    started = time.perf_counter()
    rebuilt = replay(store, targets, batch_size=batch)
    elapsed = time.perf_counter() - started
    views.dispose()
    return {name: r.checksum[:16] for name, r in rebuilt.items()}, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=REBUILD_BATCH)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = EventStore(f"sqlite:///{Path(tmp) / 'events.db'}")
        head = fill(store, args.events)
        raw_n, raw_s = timed_read(store, args.batch, decode=False)
        dec_n, dec_s = timed_read(store, args.batch, decode=True)
        sums, rebuild_s = timed_rebuild(store, f"sqlite:///{Path(tmp) / 'rebuilt.db'}", args.batch)
        store.close()
    raw, decoded, rebuilt = raw_n / raw_s, dec_n / dec_s, head / rebuild_s
    print(f"events in the log            {head}")
    print(f"raw read (read_raw)          {raw:>10,.0f} events/s  ({raw_s:.2f} s)")
    print(f"decoding read (read)         {decoded:>10,.0f} events/s  ({dec_s:.2f} s)")
    print(f"rebuild all projections      {rebuilt:>10,.0f} events/s  ({rebuild_s:.2f} s)")
    print(f"rebuild / raw read           {rebuilt / raw:>10.1%}")
    for name, digest in sums.items():
        print(f"  {name:<10} checksum {digest}…")


if __name__ == "__main__":
    main()
