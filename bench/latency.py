"""What the read-latency benchmarks share: their command line (fill read models of a large history into a fresh
Postgres schema, or reuse an earlier run's) and the nearest-rank p50/p99 line they print per measured operation."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterable
from typing import Any

import psycopg
from psycopg import sql

from contracts import Envelope
from domain.log import RecordedEvent
from domain.percentile import nearest_rank
from projections.registry import sql_stores
from projections.sqlstore import make_engine, url_with_search_path

Apply = Callable[[dict[str, Any], list[RecordedEvent]], None]


def apply_all(stores: dict[str, Any], batch: list[RecordedEvent]) -> None:
    for store in stores.values():
        store.apply(batch)


def fill(url: str, history: Iterable[Envelope], batch: int, apply: Apply = apply_all) -> int:
    """Every registered projection's read model at `url`, emptied, then filled from `history` in batches
    (progress printed); returns how many events were applied."""
    engine = make_engine(url)
    stores = sql_stores(engine)
    for store in stores.values():
        store.create()
        store.reset()
    started, position, pending = time.perf_counter(), 0, []
    for event in history:
        position += 1
        pending.append(RecordedEvent(position, event))
        if len(pending) == batch:
            apply(stores, pending)
            pending = []
            print(f"  {position:>9,} events applied ({position / (time.perf_counter() - started):,.0f}/s)",
                  flush=True)
    if pending:
        apply(stores, pending)
    engine.dispose()
    return position


def report(label: str, timings_ms: list[float], extra: str = "") -> None:
    """One line: how many samples, p50, p99 and max in ms (nearest rank), and `extra`."""
    p50, p99 = nearest_rank(timings_ms, 50), nearest_rank(timings_ms, 99)
    print(f"{label}: n={len(timings_ms)} p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {max(timings_ms):.2f} ms{extra}",
          flush=True)


def main(doc: str | None, schema: str, samples: int, fill: Callable[[str, int, int, int], int],
         measure: Callable[[str, int], None]) -> None:
    """Parse the shared options, fill a fresh schema unless --reuse, then measure."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=samples)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--schema", default=schema)
    parser.add_argument("--reuse", action="store_true", help="measure only, on the read models of an earlier run")
    args = parser.parse_args()
    url = url_with_search_path(args.database_url, args.schema)
    if not args.reuse:
        with psycopg.connect(args.database_url, autocommit=True) as conn:
            conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(args.schema)))
            conn.execute(sql.SQL("create schema {}").format(sql.Identifier(args.schema)))
        started = time.perf_counter()
        applied = fill(url, args.customers, args.events, args.batch)
        print(f"filled read models with {applied:,} events in {time.perf_counter() - started:.0f} s", flush=True)
        with psycopg.connect(args.database_url, autocommit=True) as conn:
            conn.execute(sql.SQL("set search_path to {}").format(sql.Identifier(args.schema)))
            conn.execute("analyze")
    measure(url, args.samples)
