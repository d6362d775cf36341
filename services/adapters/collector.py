"""Holding the cyclic garbage collector back: while a batch of events is decoded or recorded (`collector_held`),
and while a rebuild or a projector's batch runs (`fewer_collections`).

Decoding a batch (pydantic models, datetimes, UUIDs) or admitting one allocates tens of thousands of small objects
that are all still alive when the batch is done, so the collector's passes during the batch find nothing to free;
in a process holding a large state (a projector, the API) they walk that state again and again, which cost about
half of a decoding read (bench/rebuild.py). Inside `collector_held` the collector does not run; it runs again,
once, at the first allocation after the last concurrent holder is done. Cycles are still collected, only later.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _Holders:
    """How many threads hold the collector back, and whether it was on when the first of them began."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0
        self.was_enabled = False


_HOLDERS = _Holders()


@contextmanager
def collector_held() -> Iterator[None]:
    """No cyclic garbage collection inside (nestable, thread-safe); a collector that was off stays off."""
    holders = _HOLDERS
    with holders.lock:
        if holders.count == 0:
            holders.was_enabled = gc.isenabled()
            gc.disable()
        holders.count += 1
    try:
        yield
    finally:
        with holders.lock:
            holders.count -= 1
            if holders.count == 0 and holders.was_enabled:
                gc.enable()


class _Collections:
    """Process-wide cyclic garbage collection thresholds, lowered back when the last rebuild ends."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rebuilds = 0
        self.saved = gc.get_threshold()


_COLLECTIONS = _Collections()
REBUILD_GC_THRESHOLD = 50_000  # allocations between young-generation collections while a rebuild runs


@contextmanager
def fewer_collections(threshold: int = REBUILD_GC_THRESHOLD) -> Iterator[None]:
    """Hold the cyclic garbage collector back while a rebuild runs. A rebuild allocates millions of small,
    acyclic objects (freed by reference counting) while it holds a large state, and at the default threshold the
    collector's passes over that state took a quarter of its time (bench/rebuild.py). So it runs less often, and
    what is alive when the rebuild starts and after each of its batches (`keep_survivors`) is frozen: the
    collector's passes look at a batch's new objects only, not at the state held so far. Cycles are still
    collected, only later; everything frozen is given back to the collector and the previous thresholds come
    back when the last concurrent rebuild ends."""
    state = _COLLECTIONS
    with state.lock:
        if state.rebuilds == 0:
            state.saved = gc.get_threshold()
            gc.set_threshold(max(threshold, state.saved[0]), *state.saved[1:])
            gc.freeze()
        state.rebuilds += 1
    try:
        yield
    finally:
        with state.lock:
            state.rebuilds -= 1
            if state.rebuilds == 0:
                gc.unfreeze()
                gc.set_threshold(*state.saved)


def keep_survivors() -> None:
    """Inside `fewer_collections`: freeze what is alive now (the state a rebuild holds after a batch)."""
    if _COLLECTIONS.rebuilds:
        gc.freeze()
