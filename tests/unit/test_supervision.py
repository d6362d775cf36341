"""The supervised loop: retry with backoff after a failed step, recreate clients, die after N failures in a row."""

from __future__ import annotations

import threading

import pytest

from services.adapters.supervision import Backoff, Fatal, Liveness, StepLoop, run_loop

FAST = Backoff(initial_s=0.001, cap_s=0.01, max_failures=3)


class Flaky:
    """Steps that fail while `broken`; `reset` repairs the client after `repairs_after` resets."""

    def __init__(self, failures: int, stop: threading.Event, steps: int = 5) -> None:
        self.failures, self.stop, self.steps = failures, stop, steps
        self.resets = self.done = self.closed = 0
        self.broken = failures > 0

    def step(self) -> bool:
        if self.broken:
            raise ConnectionError("producer is wedged")
        self.done += 1
        if self.done >= self.steps:
            self.stop.set()
        return True

    def reset(self) -> None:
        self.resets += 1
        self.broken = self.resets < self.failures

    def close(self) -> None:
        self.closed += 1


def test_a_failed_step_recreates_the_clients_and_the_loop_goes_on() -> None:
    stop, liveness = threading.Event(), Liveness(FAST)
    loop = Flaky(failures=2, stop=stop)
    run_loop("recorder", loop, stop, liveness)
    assert loop.done == 5 and loop.resets == 2 and loop.closed == 1
    assert liveness.checks() == {"recorder": "stopped"}  # stopped normally: not dead
    assert not liveness.died.is_set()


def test_after_max_failures_in_a_row_the_loop_is_dead_and_says_why() -> None:
    stop, liveness = threading.Event(), Liveness(FAST)
    loop = Flaky(failures=100, stop=stop)
    run_loop("chainer", loop, stop, liveness)
    assert liveness.died.is_set() and loop.closed == 1
    assert liveness.dead() == {"chainer": "ConnectionError: producer is wedged"}
    assert liveness.checks()["chainer"].startswith("dead: ")
    assert loop.resets == FAST.max_failures - 1  # a reset before every retry


def test_a_fatal_error_kills_the_loop_at_once() -> None:
    stop, liveness = threading.Event(), Liveness(FAST)
    calls: list[int] = []

    def step() -> bool:
        calls.append(1)
        raise Fatal("misconfigured")

    run_loop("projector", StepLoop(step), stop, liveness)
    assert calls == [1] and liveness.dead() == {"projector": "Fatal: misconfigured"}


def test_a_stop_interrupts_the_backoff() -> None:
    stop, liveness = threading.Event(), Liveness(Backoff(initial_s=60, cap_s=60, max_failures=5))

    def step() -> bool:
        stop.set()  # e.g. SIGTERM while the broker is down
        raise ConnectionError("down")

    thread = threading.Thread(target=run_loop, args=("ticker", StepLoop(step), stop, liveness))
    thread.start()
    thread.join(timeout=5)
    assert not thread.is_alive(), "a stopped loop must not sleep out its backoff"
    assert not liveness.died.is_set()


@pytest.mark.parametrize("ready", [True, False])
def test_a_loop_that_is_not_ready_is_waiting(ready: bool) -> None:
    liveness = Liveness(FAST)
    state = liveness.register("recorder", ready=lambda: ready)
    state.running = True
    assert liveness.checks() == {"recorder": "ok" if ready else "waiting"}
