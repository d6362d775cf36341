"""A rebuild runs the cyclic garbage collector less often, and gives the thresholds back when the last one ends."""

from __future__ import annotations

import gc
import threading

import pytest

from services.adapters.collector import REBUILD_GC_THRESHOLD, fewer_collections

pytestmark = pytest.mark.unit


def test_thresholds_are_raised_during_rebuilds_and_restored_after_the_last() -> None:
    before = gc.get_threshold()
    with fewer_collections():
        assert gc.get_threshold() == (max(REBUILD_GC_THRESHOLD, before[0]), *before[1:])
        with fewer_collections():  # a second rebuild at the same time (another thread)
            pass
        assert gc.get_threshold()[0] == max(REBUILD_GC_THRESHOLD, before[0])
    assert gc.get_threshold() == before


def test_thresholds_come_back_when_a_rebuild_fails_or_runs_in_threads() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), fewer_collections():
        raise RuntimeError("the rebuild failed")
    assert gc.get_threshold() == before
    barrier = threading.Barrier(4)

    def rebuild() -> None:
        with fewer_collections():
            barrier.wait(timeout=5)

    threads = [threading.Thread(target=rebuild) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert gc.get_threshold() == before
