"""Decoding and recording hold the cyclic garbage collector back, and give it back as they found it."""

from __future__ import annotations

import gc
import threading

import pytest

from services.adapters.collector import collector_held

pytestmark = pytest.mark.unit


def test_the_collector_is_off_inside_and_back_on_after_the_last_holder() -> None:
    assert gc.isenabled()
    with collector_held():
        assert not gc.isenabled()
        with collector_held():  # nested: a read inside a recorder's batch
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_held():
        raise RuntimeError("the batch failed")
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    try:
        with collector_held():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_threads_holding_it_together_give_it_back_once_all_are_done() -> None:
    inside, leave = threading.Barrier(5), threading.Event()

    def hold() -> None:
        with collector_held():
            inside.wait()
            leave.wait()

    threads = [threading.Thread(target=hold) for _ in range(4)]
    for thread in threads:
        thread.start()
    inside.wait()
    assert not gc.isenabled()
    leave.set()
    for thread in threads:
        thread.join()
    assert gc.isenabled()
