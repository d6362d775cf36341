"""Rebuild throughput: a raw paged read of N log rows versus a rebuild from zero of every projection.

    make bench                                  # N=100000, SQLite event store, rebuilt into a fresh SQLite file
    python -m bench.rebuild --events 20000 --jobs 2
    python -m bench.rebuild --events 20000 --sealed        # personal values sealed, as touchline stores them
    python -m bench.rebuild --events 20000 --batch 10000
    python -m bench.rebuild --events 20000 --postgres postgresql://postgres@127.0.0.1:5432/test
    python -m bench.rebuild --events 20000 --only timeline cases sla
    python -m bench.rebuild --events 300000 --memory   # only the rebuild in a fresh process: CPU time, peak RSS
    python -m bench.rebuild --events 400000 --memory --history   # the log a steady history, not a denser month

The event store is filled first (untimed; on Postgres in private schemas, dropped afterwards); then the raw read
(`EventStore.read_raw`, no decoding), a decoding read (`EventStore.read`), all projections rebuilt together in
one process (`services.application.replay.replay`: each batch read and decoded once for all), all of them again in
`--jobs` processes as `touchline rebuild all --into` does (`services.application.replay.replay_jobs`: each process reads
and decodes the log for its share of the projections), and each projection alone from the log read and decoded
beforehand (its own work only). A rebuild's time includes its final checksum (replay prints them); the checksums are
timed again afterwards and shown apart. Memo caches are emptied before each timed rebuild.

Figures (events/s) on the 2-core development machine, timeline + cases + SLA (`--only timeline cases sla`), batch
10,000, one run each, other work sharing the machine (±15%); before = 9c2dd52, after = the held rebuild (cases and
SLA fold into state kept in memory and write once per 100,000 events: bulk inserts, COPY on Postgres), memoised
calendar walks (prefix sums), policy lookups and customer keys, faster `dataclasses.replace` (`domain.evolve`),
orjson where it writes exactly what the json module writes, and fewer garbage collections during rebuilds:

|                          | SQLite 20k      | Postgres 20k    | SQLite 100k     | Postgres 100k   |
|                          | before / after  | before / after  | before / after  | before / after  |
|--------------------------|-----------------|-----------------|-----------------|-----------------|
| raw read                 | 114,890/105,052 | 157,234/152,052 | 130,728/106,798 | 109,245/ 94,693 |
| decoding read            |  24,216/ 20,213 |  22,947/ 21,980 |  19,744/ 17,486 |  20,468/ 19,207 |
| timeline alone           |  11,286/ 17,611 |  10,868/ 12,427 |   9,414/ 14,808 |   7,516/ 11,890 |
| cases alone              |   8,270/ 20,070 |   8,061/ 19,241 |   5,331/ 21,125 |   3,642/ 20,336 |
| sla alone                |   5,204/ 17,334 |   5,151/ 14,570 |   3,547/ 13,622 |   2,849/ 14,273 |
| all three (read, decode) |   2,471/  4,916 |   2,158/  4,502 |   1,626/  4,749 |   1,365/  3,977 |
| all three / raw read     |    2.2% /  4.7% |    1.4% /  3.0% |    1.2% /  4.4% |    1.2% /  4.2% |

(The 100k "before" runs emptied no memo caches before the runs alone, which flatters them slightly.)

All four projections (with customers), 100,000 events, batch 10,000, one run each on an otherwise idle machine,
after memoising identifier normalisation and sharing the projections over processes (`touchline rebuild all --into
--jobs 2`: timeline + cases in one, SLA + customers in the other, by `rebuild_cost`); "sealed" = `--sealed`, personal
values sealed per customer as touchline stores them, so every read opens them:

|                          | SQLite 100k     | SQLite sealed   | Postgres 100k   |
|--------------------------|-----------------|-----------------|-----------------|
| raw read                 | 136,824         | 152,225         | 140,105         |
| decoding read            |  24,328         |  12,175         |  24,055         |
| all four, one process    |   4,798 (3.5%)  |   4,138 (2.7%)  |   3,896 (2.8%)  |
| all four, two processes  |   7,305 (5.3%)  |   6,478 (4.3%)  |   5,888 (4.2%)  |

(percentages: of the raw read). The target of 50,000 events/s is out of reach this way: decoding the events
(pydantic) alone runs at 20-24k events/s here, 12k when their personal values are opened as well (about twice that
with the garbage collector held back, as rebuilds do), and each projection's own work at 16-32k events/s (30-60 µs
per event of pure Python), so every projection added costs about as much as the decoding; processes divide the
projections' work by the cores there are, but each process decodes the log again, and this machine has two cores
(the Postgres server shares them).

Seven projections (the four above and servqual, scorecard, contacts); before = c18a4d1, after = the collector
frozen after each rebuild batch (`fewer_collections`) and keyed rows turned into records without deep copies; the
"after" runs also decoded stored events without the contracts' Python checks, which changed the decoding read
within the noise and was therefore not kept (stored events are still validated in full when read back).
Each rebuild in a fresh process (as `rebuild_memory` runs it), from
both commits alternately on one event store in one run; rates in CPU seconds of that process, because other work
shared the machine (wall-clock rates varied 2-4× between identical runs); medians of 2-3, batch 10,000. The 20k
SQLite "after" includes the keyed rows; 100k and Postgres were measured just before that change:

|                                | SQLite 20k      | SQLite 100k     | Postgres 20k    |
|                                | before / after  | before / after  | before / after  |
|--------------------------------|-----------------|-----------------|-----------------|
| raw read                       | 111,048/117,752 | 113,562/109,248 | 111,477/101,530 |
| decoding read                  |  24,781/ 25,848 |  21,769/ 20,879 |  23,637/ 20,988 |
| all seven, one fresh process   |   4,350/  4,611 |   3,641/  3,851 |   3,785/  3,827 |
| all seven / raw read           |    3.9% /  3.9% |    3.2% /  3.5% |    3.4% /  3.8% |
| peak RSS (opened: 205-215 MB)  |  251 / 252 MB   |  499 / 504 MB   |  244 / 245 MB   |

Checksums were identical before and after. What this showed:
- Decoding: pydantic's JSON validation of a stored event costs 6-7 µs here in a tight loop, about what a generated
  `model_construct`-style builder in Python costs (tried: no faster), and the contracts' Python checks are a
  small part of it; the decoding read's cost beyond that is the garbage collector
  walking everything alive (the read is 1.5-2× faster with the collector held back, as rebuilds now hold it).
  Skipping those checks changed the decoding read within the noise.
- The rebuild's time is the projections' own work, spread wide (profile at 20k: SQL 7%, checksums 6%, SLA clocks
  and calendar walks 11%, dataclasses 5%, pydantic equality and hashing 4%, UUID formatting 3%, ...): +6% from
  the frozen collector and the keyed rows. The "alone" rebuilds above, from a decoded log held in memory, gained
  2-3× (the collector no longer walks that log), so they do not compare with the earlier tables.
- Memory is not flat: peak RSS grows about 3.1 KB per event from 20k to 100k events. Not from the flushes
  (flushing every 20,000 or 5,000 events instead of 100,000 raised the peak, 503 → 527 → 537 MB, and slowed the
  rebuild) but from what the projections keep: each alone at 100k, above an opened process, SLA +218 MB, timeline
  +175, cases +137, customers +35, servqual + scorecard + contacts +30. Flat memory needs the held case and SLA
  states, and the timeline's, evicted once flushed and read back when a later event needs them.

Held rebuilds bounded (`HeldRebuild`: the cases and SLA stores write at once when they hold more than 40,000
cases, or 40,000 SLA cases and alerts, let go of what is written down to half that, and read it back from their
rows when a later batch needs it, as the live store loads a batch's state), checksums that keep each row's line
only (the timeline's and SLA's held every row as a dict), and the memo caches keyed by customer references and
SLA clocks bounded lower (16,384 and 32,768 entries: they kept clocks of cases long let go). All seven projections,
`--memory` (one fresh process, rebuild then checksums), SQLite, batch 10,000, before = 386e631; checksums
identical before and after at every size:

|                          | 50k             | 100k            | 200k            | 300k            |
|                          | before / after  | before / after  | before / after  | before / after  |
|--------------------------|-----------------|-----------------|-----------------|-----------------|
| peak RSS (opened: 139 MB)|  345 / 317 MB   |  508 / 410 MB   |  808 / 616 MB   | 1063 / 817 MB   |
| added by the checksums   |   19 /   0 MB   |   57 /   0 MB   |  114 /   0 MB   |  174 /   0 MB   |
| B per event above opened | 4,321 / 3,742   | 3,869 / 2,840   | 3,507 / 2,502   | 3,230 / 2,371   |

CPU seconds of the same fresh-process rebuild (all seven, checksums included), before and after alternately on
one event store, two runs each, other work sharing the machine: 20k 8.63 / 7.66 and 6.68 / 6.54 s; 100k
33.82 / 36.78 and 32.45 / 31.69 s (peak RSS 464 / 365 MB) — the same within the noise. `--memory` at 200k and
300k: 2,309 / 2,656 and 2,195 / 2,251 events per CPU second.

- Memory is lower at every size and grows more slowly (2.1 KB per event from 100k to 200k, was 3.0), but it is
  not flat yet, for reasons outside the held rebuilds' bound: the customers store keeps the whole identity graph
  in memory by design (customers grow with the log), and in the generated log open cases gather every contact of
  their customer, so a held case itself grows with the log. The bound is a trade: cases alone at 300k (35,000
  cases) held 543 MB in 34 s of CPU (before: 582 MB, 36 s); a bound of 20,000 held 515 MB but took 47 s, as a
  case contacted again after it was let go is read back and written again at each flush. The SLA store gains
  both ways (300k alone: 554 MB and 51 s, was 640 MB and 67 s; 588 MB with its checksum, was 850).

The cases and SLA rebuilds then made a flush's rows in the write, 2,000 items at a time, instead of all before it
(a flush of some 50,000 cases held their JSON, about 150 MB, at once), and the cases checksum read its lines as it
sorted them. One event store per size, each rebuild in a fresh process, SQLite, batch 10,000, before = 64c0b02,
checksums identical (CPU seconds in brackets):

|                     | 100k                      | 400k                          |
|                     | before / after            | before / after                |
|---------------------|---------------------------|-------------------------------|
| all seven, peak RSS | 415 / 360 MB (18.5 / 18.0)| 1003 / 763 MB (118.8 / 119.7) |
| cases alone         | (not measured)            |  705 / 460 MB (37.3 / 37.0)   |
| SLA alone           | (not measured)            |  664 / 542 MB (41.1 / 40.2)   |

The write lock is held longer for it (cases alone at 400k: 4.2 → 10.9 s of 37 s), which only rebuild processes
sharing one SQLite file notice: all seven in two processes (`replay_jobs`, jobs=2) at 400k took 99.8 and 113.4 s
before, 105.3 and 115.0 s after, run alternately (within the noise of these runs).

An SLA flush then rewrote, of the cases it had written before, only the clocks and promises that changed since (it
keeps each case as written, as the live store keeps the cases as a batch found them), not every clock row with its
next alert worked out again: SLA alone at 400k, 44.7 and 43.3 s of CPU before, 39.9 and 37.6 s after (alternately,
a test run sharing the machine), peak 542 → 568 MB, the same checksum.

The generated log puts every case in March 2026, so a longer log is a denser one: at 400k events its 47,000 cases all
open within the same eleven days, more than the cases and SLA stores hold (40,000), and the cases they let go come
back. A real log grows by its history. `--history` generates one (`replay_log(per_month=CASES_PER_MONTH)`): 11,000
cases every four weeks over the months before, their customers coming back (22,000 case customers however long), as
many cases in progress at once whatever the length. All seven in one fresh process (`--memory`), SQLite, batch 10,000,
on a machine about half as fast as the one of the tables above (the default log of 100k events: 39.9 s of CPU on it,
18.0 s on the other); CPU seconds of the process:

|                  | 100k            | 400k             | 800k             | 1,000k           |
|------------------|-----------------|------------------|------------------|------------------|
| steady history   | 36.6 s, 361 MB  | 171.0 s, 555 MB  | 320.2 s, 598 MB  | 385.0 s, 620 MB  |
| µs per event     | 366             | 428              | 400              | 385              |
| dense (default)  | 39.9 s, 361 MB  | 189.8 s, 793 MB  | (not measured)   | (not measured)   |

On the history, memory levels off once the cases and SLA stores hold their bound (+65 MB from 400k to 1,000k,
about 0.1 KB per event) and the time per event stays within the noise. The 1,000k log in two processes
(`replay_jobs`, jobs=2): 359.7 s wall, 509.5 s of CPU in all. Each projection alone on the history, 100k →
400k, CPU seconds and peak MB (the 400k runs shared the machine with filling the 800k store): timeline 12.2 → 39.8
(252 → 273), cases 9.6 → 40.7 (303 → 400), SLA 12.5 → 55.3 (300 → 415), customers 8.3 → 40.0 (256 → 274), servqual
6.5 → 27.5 (243 → 267), scorecard 4.1 → 19.2 (219 → 230), contacts 6.4 → 31.7 (244 → 258). The customers store
held its whole identity graph, so its memory grew with the number of distinct customers, which the history
bounds. It now holds at most 50,000 identifiers (`HELD_NODES`) and beyond loads, per batch, the customers the batch
names. On logs of touchpoints each from a customer of its own (one identifier each), before (3d120fa) / after,
fresh process, CPU seconds and peak MB: customers alone 100k 20.4 / 16.8 s, 325 / 287 MB; 400k 82.3 / 85.4 s,
527 / 300 MB; all seven at 400k 170.9 / 167.4 s, 657 / 365 MB (549 / 351 MB before the checksums: SERVQUAL's
checksum loaded and sorted all its rows, 140 MB at 400k customers; every checksum now streams its tables); all
seven at 100k after: 36.8 s, 329 MB. On the 400k history (27,000 identifiers, held whole either way): 199.4 /
202.6 s, 554 / 563 MB.

On the dense log the bound of 40,000 cases did not hold memory flat: all seven peaked at 794 MB at 400k events and
1,145 MB at 800k (144.6 and 392.2 s of CPU). A census of the objects a cases rebuild held (`gc.get_objects` at the
last batch, cases alone) showed why: the number of held cases stayed within the bound, but the cases in progress late
in that log are long ones, bounced between departments. At 200k, 21,004 held cases had 20,622 handoffs and
32,823 stints; at 800k, 38,630 held cases had 117,772 handoffs and 126,977 stints. The SLA store showed the same
(handovers on its held clocks: 32,280 at 200k, 249,322 at 800k). The bound now weighs what is held instead of
counting it: a case counts one with each of its parts (handoffs, stints, statements, promises, contacts, ...; an SLA
case with its clocks, their pauses and handovers; an alert one), kept up to date per batch for the items that
changed, 300,000 in all (about 45,000 cases of the generated log). Fresh process, SQLite, batch 10,000, CPU seconds
and peak MB, before (count, 40,000) / after (weight, 300,000); other runs shared the machine
(the CPU times of one row vary by about 10% between identical runs: two quiet runs of cases alone at 400k, side by
side, took 45.6 and 43.2 s before, 43.2 and 43.3 s after):

|             | dense 400k                   | dense 800k                      | history 400k                |
|-------------|------------------------------|---------------------------------|-----------------------------|
| cases alone | 42.3-46.5 / 43.2 s, 466 / 462 | 150.5 / 130.7 s, 614 / 554     | 41.0 / 32.8 s, 413 / 409    |
| SLA alone   | 45.3-48.6 / 49.9 s, 582 / 566 | 132.7 / 127.4 s, 791 / 624     | 39.7 / 40.0 s, 428 / 409    |
| all seven   | 144.6 / 152.9 s, 794 / 778    | 392.2 / 372.2 s, 1,145 / 893   | 111.6 / 116.2 s, 564 / 542  |

From 400k to 800k dense, all seven grew by 115 MB instead of 351 MB. A lower bound, 240,000, held less (cases alone
513 MB and SLA alone 563 MB at 800k) but cost 15-17% more CPU at 400k (48.7 against 42.3 s, 52.9 against 45.3 s,
side by side), as more cases are let go and read back; at 300,000 the CPU time did not change beyond the noise.

What still grows on the dense log (115 MB from 400k to 800k, all seven) is not held state: with the weighed bound,
the census of a cases rebuild counted fewer objects at 800k than at 400k (843,402 against 874,593), while its
resident memory rose from 413 to 497 MB. Python's allocator statistics (`sys._debugmallocstats()` at the same
points) split it: its live small objects 207, 211 and 255 MB at 200k, 400k and 800k, of which 45,000 more customer
references (a memo of filing keys, full at 800k and just emptied at 400k); and free blocks inside its arenas,
which it cannot give back while a survivor shares their arena, 28, 101 and 130 MB. The memo now holds 16,384
references instead of 50,000, as the identity memos do: cases alone peaked at 435 MB at 400k (was 462) and 532 MB
at 800k (was 554), in 42.9 and 123.9 s of CPU. `malloc_trim` after each batch changed nothing (553 and 624 MB for
cases and SLA alone at 800k): the free memory is in Python's arenas, not the C allocator's.

All seven on the dense log again with that memo, fresh process, SQLite, batch 10,000, one run per size, on a slower
machine (400k: 247.2 s of CPU, against 135.5 s for the same code on the machine of the table above; each run shared
it with another process): 400k 755 MB, 800k 876 MB (603.0 s), 1,600k 990 MB (1,401.7 s). Memory still grows, ever
more slowly: 121 MB from 400k to 800k, 114 MB from 800k to 1,600k (0.30, then 0.14 KB per event); the CPU time per
event rises (618, 754, 876 µs), likely from reading back more of the long cases let go (not measured apart).
Resident memory every 50,000 events of the 800k rebuild, all seven: 706 MB at 400k, 726 at 550k, 848 at 600k, 875 at
750k; cases alone the same shape (437, 441, 492, 523). `tracemalloc`, started at 450k in a cases-alone run,
snapshots at 500k and 700k: of what was allocated since, 121 and 167 MB were alive, most of the growth the held
cases' contents (the strings of states read back, +16 MB; their decoded parts, +15 MB; values of the events that
freshly folded parts keep, +5 MB), which replace cases let go; the only sets among the largest were those of the
written cases and of customers of cases let go, within their bounds. With the C allocator for every object
(`PYTHONMALLOC=malloc`, whose free pages `malloc_trim` can give back), all seven at 400k peaked higher, 813 MB, with
or without a trim per batch, in about 40% more CPU time (each run sharing the machine with another).

The peers on the same 20,000 generated touchpoints, each column one run (`python -m bench.peers`; events/s, ratio
to the raw consume, or for the rebuild to the raw read of touchline's store). "earlier": touchline live timed until
the timeline showed the last event, one projector process; "later" (`--projectors 2`, an otherwise idle machine):
until every projection applied it, the projections shared by two projector processes. The raw consume and the raw
read vary most between runs: compare the ratios. The rebuild there is of touchpoints only, no cases or SLA clocks,
hence faster than the generated log above.

|                                       | SQLite earlier  | SQLite later    | Postgres earlier | Postgres later  |
|---------------------------------------|-----------------|-----------------|------------------|-----------------|
| raw kafka-python consume              | 25,463          | 18,242          | 28,568           | 22,713          |
| plain app: pydantic → executemany     | 18,996 (0.75)   | 13,037 (0.71)   | 14,840 (0.52)    | 12,799 (0.56)   |
| eventsourcing app, 1 transaction/event|  2,438 (0.10)   |  2,159 (0.12)   |    941 (0.03)    |    725 (0.03)   |
| touchline live, all projections       |  5,081 (0.20)   |  4,220 (0.23)   |  3,882 (0.14)    |  4,875 (0.21)   |
| raw read of touchline's store         | 80,153          | 40,719          | 72,221           | 52,371          |
| touchline rebuild, all projections    | 10,025 (0.125)  |  5,409 (0.133)  |  7,796 (0.108)   |  6,110 (0.117)  |

The peers then gained a floor under the seven projections (`PlainModels`: a row per event and six rows-per-key
folds, no rules, the driver's executemany), live and rebuilt. Medians of three runs on an otherwise idle machine
(ratios: medians of the runs' ratios; SQLite / Postgres): raw consume 16,234 / 19,316; plain app, one table 11,159
(0.71) / 10,781 (0.55); plain app, seven read models 8,704 (0.54) / 5,074 (0.26); touchline live 3,809 (0.22) /
2,892 (0.15); raw read 52,227 / 64,015; plain rebuild, seven read models 26,801 (0.537) / 16,409 (0.283); touchline
rebuild 6,032 (0.116) / 4,088 (0.056). With `--client confluent` (one run) the plain app with seven read models
reached 9,590 / 4,851 of a raw consume of 35,163 / 34,748. Even the floor stays below the live targets (15k/s
SQLite, 10k/s Postgres, 25k/s with confluent) and the rebuild target (50k/s) on this machine.

The decoding read itself now holds the collector back (`EventStore.read` and `open`, `services.adapters.collector`),
so the live projector, the API and the recorder's comparisons get what rebuilds got; opening sealed values splits
each token once and finds a document's personal values once; the vault serves keys from its cache. Before = 386e631,
after = those changes, alternately in one run, 20,000 events, `--only timeline`, wall clock with other work on the
machine (two runs each):

|                                | SQLite          | SQLite sealed   |
|                                | before / after  | before / after  |
|--------------------------------|-----------------|-----------------|
| decoding read, first run       | 11,066/ 25,403  |  6,837/ 18,073  |
| decoding read, second run      | 10,220/ 25,578  |  5,727/ 14,382  |

In CPU time of the reading process (Postgres, `read` in batches of 1,000, best of three, one run, both commits
alternately): 45.3 → 20.0 µs per event clear; `read_raw` alone 8.5 → 4.7 µs (it goes through the eventsourcing
recorder's `select_notifications`; reading the rows in binary as tuples instead saved about 3 µs more per event,
not worth a hand-written copy of the library's query). The rebuilds (which held the collector back already) did
not change beyond the noise.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from domain.log import RecordedEvent
from services.adapters.collector import fewer_collections
from services.adapters.databases import projection_stores
from services.adapters.opening import open_event_store
from services.adapters.settings import Settings
from services.adapters.store.eventstore import EventStore
from services.application.projector.engine import rebuild_together
from services.application.rebuild import stores_on
from services.application.replay import (
    REBUILD_BATCH,
    Checksummed,
    Opened,
    costs_of,
    rebuild_target,
    replay,
    replay_jobs,
)
from tests.support.replay_data import CASES_PER_MONTH, replay_log


def fill(store: EventStore, events: int, history: bool = False) -> int:
    log = replay_log(events, per_month=CASES_PER_MONTH if history else None)
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


def read_all(store: EventStore, batch: int) -> list[RecordedEvent]:
    found: list[RecordedEvent] = []
    while rows := store.read(found[-1].position if found else 0, batch):
        found.extend(rows)
    return found


class DecodedLog:
    """The log already read and decoded, in memory: a projection rebuilt from it costs only its own work."""

    def __init__(self, events: list[RecordedEvent]) -> None:
        self._events = events
        self._positions = [e.position for e in events]

    def head(self) -> int:
        return self._positions[-1] if self._positions else 0

    def read(self, after: int, limit: int, stop: int | None = None) -> list[RecordedEvent]:
        start = bisect_right(self._positions, after)
        found = self._events[start:start + limit]
        return found if stop is None else [e for e in found if e.position <= stop]


Place = Callable[[str], Engine]  # a fresh, empty place for rebuilt read models, by a short label
Spec = Callable[[str], tuple[str, str | None]]  # the same as (URL, schema), for processes to open themselves


@dataclass(frozen=True)
class BenchPlace:
    """The bench's event store (sealing or not) and a fresh place, as each rebuild process opens them."""

    store: Settings
    sealed: bool
    into: str
    schema: str | None

    def open(self, names: Sequence[str]) -> Opened:
        store, views = open_store(self.store, self.sealed), rebuild_target(self.into, self.schema)
        every = stores_on(views)

        def close() -> None:
            views.dispose()
            store.close()

        return Opened(store, {name: every[name] for name in names}, close)


def timed_rebuild(store: EventStore | DecodedLog, views: Engine, names: list[str], batch: int
                  ) -> tuple[dict[str, str], float, float]:
    """Rebuild `names` together into `views`: checksums, seconds in all (checksums included), seconds of the
    checksums alone (computed again)."""
    every = projection_stores(views)
    targets: dict[str, Checksummed] = {name: every[name] for name in names}  # type: ignore[misc]
    forget_memos()
    started = time.perf_counter()
    rebuilt = replay(store, targets, batch_size=batch)  # type: ignore[arg-type]  # DecodedLog reads like a store
    elapsed = time.perf_counter() - started
    started = time.perf_counter()
    with fewer_collections():  # as in replay
        for target in targets.values():
            target.checksum()
    return {name: r.checksum for name, r in rebuilt.items()}, elapsed, time.perf_counter() - started


def timed_jobs(place: BenchPlace, names: list[str], head: int, jobs: int, batch: int) -> tuple[dict[str, str], float]:
    """Rebuild `names` in `jobs` processes (`touchline rebuild all --into --jobs`): checksums, seconds in all
    (starting the processes and the checksums included)."""
    views = rebuild_target(place.into, place.schema)
    costs = costs_of({name: store for name, store in projection_stores(views).items() if name in names})
    views.dispose()
    forget_memos()
    started = time.perf_counter()
    rebuilt = replay_jobs(place, names, dict.fromkeys(names, head), jobs=jobs, costs=costs, batch_size=batch)
    return {name: r.checksum for name, r in rebuilt.items()}, time.perf_counter() - started


def peak_rss_kb() -> int:
    """This process's peak resident set size (VmHWM, KB; unlike ru_maxrss, not inherited through exec)."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))


def _rebuild_in_child(place: BenchPlace, names: list[str], batch: int, results: Any) -> None:
    opened = place.open(names)
    before = peak_rss_kb()
    started, cpu = time.perf_counter(), time.process_time()
    head = opened.store.head()
    rebuild_together(opened.store, opened.targets, dict.fromkeys(opened.targets, head), batch)
    rebuilt = peak_rss_kb()
    with fewer_collections():  # as `replay` does
        for target in opened.targets.values():
            target.checksum()
    results.put(Memory(before, rebuilt, peak_rss_kb(), time.perf_counter() - started, time.process_time() - cpu))
    opened.close()


@dataclass(frozen=True)
class Memory:
    """A rebuild in a fresh process: peak RSS (KB) once opened, after the rebuild, after the checksums too;
    seconds, and CPU seconds of that process (checksums included)."""

    opened: int
    rebuilt: int
    peak: int
    seconds: float
    cpu: float


def rebuild_memory(place: BenchPlace, names: list[str], batch: int) -> Memory:
    """Rebuild `names` in one fresh process (as `touchline rebuild all --into --jobs 1`: `replay`, the rebuild and
    then the checksums), measuring its memory and time."""
    context = multiprocessing.get_context("spawn")
    results: Any = context.Queue()
    child = context.Process(target=_rebuild_in_child, args=(place, names, batch, results))
    child.start()
    memory: Memory = results.get(timeout=3600)
    child.join()
    return memory


def print_memory(memory: Memory, head: int) -> None:
    print(f"rebuild all, fresh process    {head / memory.seconds:>10,.0f} events/s, {head / memory.cpu:,.0f} per CPU "
          f"second ({memory.cpu:.1f} s); peak RSS {memory.peak / 1024:,.0f} MB ({memory.rebuilt / 1024:,.0f} MB "
          f"before the checksums), {memory.opened / 1024:,.0f} MB when opened: "
          f"{(memory.peak - memory.opened) * 1024 / head:,.0f} B per event")


def forget_memos() -> None:
    """Empty touchline's process-wide memo caches (`functools` caches), so that each timed rebuild starts cold."""
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] in ("contracts", "domain", "projections", "services"):
            for value in list(vars(module).values()):
                if not isinstance(value, type) and callable(getattr(value, "cache_clear", None)) \
                        and hasattr(value, "cache_info"):
                    value.cache_clear()


def open_store(settings: Settings, sealed: bool) -> EventStore:
    """The bench's event store: sealing personal values as touchline runs it, or plain."""
    return open_event_store(settings) if sealed else EventStore(settings.store_url, schema=settings.db_schema or None)


@contextmanager
def places(postgres: str | None) -> Iterator[tuple[Settings, Spec]]:
    """(event store settings, fresh places by label as (URL, schema)): files in a temporary directory, or schemas
    of `postgres` (created here, dropped afterwards)."""
    tag = f"bench_rebuild_{os.getpid()}"
    with tempfile.TemporaryDirectory() as tmp:
        if postgres is None:
            yield (Settings(env="test", data_dir=Path(tmp), database_url="", views_database_url=""),
                   lambda label: (f"sqlite:///{Path(tmp) / label}.db", None))
            return
        schemas: list[str] = []

        def fresh(label: str) -> tuple[str, str | None]:
            schemas.append(f"{tag}_{label}")
            rebuild_target(postgres, schemas[-1]).dispose()  # creates the schema
            return postgres, schemas[-1]

        try:
            fresh("store")
            yield Settings(env="test", data_dir=Path(tmp), database_url=postgres, db_schema=f"{tag}_store"), fresh
        finally:
            admin = rebuild_target(postgres)
            with admin.begin() as conn:
                for schema in schemas:
                    conn.execute(text(f'drop schema if exists "{schema}" cascade'))
            admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=REBUILD_BATCH)
    parser.add_argument("--postgres", metavar="URL", help="event store and read models in schemas of this database")
    parser.add_argument("--only", nargs="*", help="projections to rebuild (default: all)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="processes for the parallel rebuild (default: one per CPU)")
    parser.add_argument("--memory", action="store_true",
                        help="only the rebuild in a fresh process: its peak memory and CPU time")
    parser.add_argument("--sealed", action="store_true",
                        help="personal values sealed per customer, as touchline stores them (reads open them)")
    parser.add_argument("--history", action="store_true",
                        help="a longer log is a longer history at a steady rate, not more cases at once "
                             "(tests.support.replay_data.replay_log)")
    args = parser.parse_args()
    engines: list[Engine] = []

    def fresh(label: str) -> Engine:
        engines.append(rebuild_target(*spec(label)))
        return engines[-1]

    with places(args.postgres) as (settings, spec):
        store = open_store(settings, args.sealed)
        head = fill(store, args.events, args.history)
        if args.memory:
            names = args.only or list(projection_stores(fresh("names")))
            print(f"{'postgres' if args.postgres else 'sqlite'}, {head} events in the log"
                  f"{' (a steady history)' if args.history else ''}, batch {args.batch}")
            print_memory(rebuild_memory(BenchPlace(settings, args.sealed, *spec("memory")), names, args.batch), head)
            store.close()
            for engine in engines:
                engine.dispose()
            return
        raw_n, raw_s = timed_read(store, args.batch, decode=False)
        dec_n, dec_s = timed_read(store, args.batch, decode=True)
        names = args.only or list(projection_stores(fresh("names")))
        sums, rebuild_s, checksum_s = timed_rebuild(store, fresh("all"), names, args.batch)
        place = BenchPlace(settings, args.sealed, *spec("jobs"))
        jobs_sums, jobs_s = timed_jobs(place, names, head, args.jobs, args.batch)
        memory = rebuild_memory(BenchPlace(settings, args.sealed, *spec("memory")), names,
                                                     args.batch)
        decoded_log = DecodedLog(read_all(store, args.batch))
        alone = {name: timed_rebuild(decoded_log, fresh(name), [name], args.batch) for name in names}
        store.close()
        for engine in engines:
            engine.dispose()
    raw, decoded, rebuilt, parallel = raw_n / raw_s, dec_n / dec_s, head / rebuild_s, head / jobs_s
    print(f"{'postgres' if args.postgres else 'sqlite'}, {head} events in the log"
          f"{', personal values sealed' if args.sealed else ''}, batch {args.batch}")
    print(f"raw read (read_raw)           {raw:>10,.0f} events/s  ({raw_s:.2f} s)")
    print(f"decoding read (read)          {decoded:>10,.0f} events/s  ({dec_s:.2f} s)")
    print("each projection alone, from the log read and decoded beforehand (its own work only):")
    for name, (digests, seconds, checks) in alone.items():
        print(f"  {name:<10}                  {head / seconds:>10,.0f} events/s  ({seconds:.2f} s, of which "
              f"checksum {checks:.2f} s; {head / (seconds - checks):,.0f} events/s without)  {digests[name][:16]}…")
    print(f"rebuild all, one process      {rebuilt:>10,.0f} events/s  ({rebuild_s:.2f} s: read, decode, every "
          f"projection, checksums {checksum_s:.2f} s; {head / (rebuild_s - checksum_s):,.0f} events/s without)")
    print(f"rebuild all, {args.jobs} processes     {parallel:>10,.0f} events/s  ({jobs_s:.2f} s, starting the "
          "processes and checksums included)")
    print(f"rebuild all / raw read        {rebuilt / raw:>10.1%} (one process), {parallel / raw:.1%} ({args.jobs})")
    print_memory(memory, head)
    for name, digest in sums.items():
        assert digest == alone[name][0][name], f"{name}: rebuilt alone and together differ"
        assert digest == jobs_sums[name], f"{name}: rebuilt in one process and in {args.jobs} differ"
        print(f"  {name:<10} checksum {digest[:16]}…")


if __name__ == "__main__":
    main()
