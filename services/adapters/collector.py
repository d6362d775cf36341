"""Holding the cyclic garbage collector back while a batch of events is decoded or recorded.

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
