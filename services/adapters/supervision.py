"""Supervised loops: one way for every long-running loop to retry, recreate its clients, and report liveness.

`run_loop` calls a loop's `step()` until stopped. When a step raises, it logs the failure, waits (exponential
backoff, capped, interrupted by the stop flag), calls the loop's `reset()` to recreate its clients (Kafka
consumer or producer, database connections), and tries again. After `max_failures` consecutive failures, or an
error marked `Fatal`, the loop is dead: it stops, closes, and says so in the `Liveness` registry, which /readyz
and /metrics read, and which `touchline run` watches to end the process with a non-zero exit status.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from tenacity import RetryCallState, Retrying, retry_if_exception

from services.adapters.metrics import LOOP_FAILURES, LOOP_ITERATIONS, LOOP_LAST_SUCCESS, LOOP_RESTARTS, LOOP_UP

log = logging.getLogger(__name__)


class Fatal(Exception):
    """An error no retry can cure (misconfiguration, a corrupt input the loop must not skip): the loop dies."""


class Supervised(Protocol):
    """What `run_loop` drives."""

    def step(self) -> bool:
        """One iteration; True when it did work (the next one starts at once), False when idle."""

    def reset(self) -> None:
        """Recreate the clients a failed step may have left broken (called before retrying)."""

    def close(self) -> None:
        """Release the clients (called once, in the loop's thread, when the loop ends)."""


@dataclass(frozen=True, slots=True)
class Backoff:
    """Retry policy: waits of initial, 2 initial, 4 initial, ... up to cap; dead after max_failures in a row.

    "In a row" means without progress: a step that did work ends the row, an idle one (nothing to do, or a
    consumer still rejoining its group after a reset) ends it only once `quiet_s` passed since the last failure."""

    initial_s: float = 0.5
    cap_s: float = 30.0
    max_failures: int = 10
    quiet_s: float = 60.0


@dataclass
class LoopState:
    """What the registry knows about one loop (written by its thread, read by health and metrics)."""

    name: str
    ready: Callable[[], bool] | None = None  # e.g. the recorder: partitions assigned
    running: bool = False
    stopped: bool = False  # ended normally, on the stop flag
    dead: str | None = None  # why, once dead
    failures: int = 0  # consecutive
    last_error: str | None = None
    last_failure: float = 0.0  # monotonic
    last_success: float | None = None  # Unix time

    def status(self) -> str:
        if self.dead is not None:
            return f"dead: {self.dead}"
        if not self.running:
            return "stopped" if self.stopped else "starting"
        if self.failures:
            return f"retrying after {self.failures} failure(s): {self.last_error}"
        if self.ready is not None and not _safely(self.ready):
            return "waiting"
        return "ok"


@dataclass
class Liveness:
    """The loops of one process and their state; `died` is set when any loop dies."""

    backoff: Backoff = field(default_factory=Backoff)  # the retry policy of this process's loops
    loops: dict[str, LoopState] = field(default_factory=dict)
    died: threading.Event = field(default_factory=threading.Event)

    def register(self, name: str, ready: Callable[[], bool] | None = None) -> LoopState:
        state = self.loops[name] = LoopState(name, ready)
        LOOP_UP.labels(name).set(0)
        return state

    def checks(self) -> dict[str, str]:
        """One readiness check per loop: "ok" when running and ready, else why not."""
        return {name: state.status() for name, state in self.loops.items()}

    def dead(self) -> dict[str, str]:
        return {name: state.dead for name, state in self.loops.items() if state.dead is not None}

    def mark_dead(self, state: LoopState, why: str) -> None:
        state.dead, state.running = why, False
        LOOP_UP.labels(state.name).set(0)
        self.died.set()


def run_loop(name: str, loop: Supervised, stop: threading.Event, liveness: Liveness, *, idle_s: float = 0.2,
             backoff: Backoff | None = None, on_stop: Callable[[], None] | None = None) -> None:
    """Step `loop` until `stop` is set or it dies (see the module docstring); `on_stop` runs in this thread before
    `close` when stopped normally (the recorder drains there)."""
    state = liveness.loops.get(name) or liveness.register(name)
    state.running = True
    LOOP_UP.labels(name).set(1)
    attempts = _Attempts(name, loop, state, stop, backoff or liveness.backoff)
    try:
        while not stop.is_set():
            try:
                worked = attempts()
            except Exception as exc:  # noqa: BLE001 - a dead loop records why and ends
                if stop.is_set():
                    break
                if isinstance(exc, Fatal):
                    LOOP_FAILURES.labels(name).inc()
                log.error("loop %s is dead: %s", name, _describe(exc), extra={"loop": name}, exc_info=exc)
                liveness.mark_dead(state, _describe(exc))
                return
            _succeeded(state, worked, liveness.backoff if backoff is None else backoff)
            if not worked:
                stop.wait(idle_s)
        state.stopped = True
        if on_stop is not None:
            _finish(name, on_stop)
    finally:
        state.running = False
        LOOP_UP.labels(name).set(0)
        _close(name, loop)


class _Attempts:
    """Runs `step` under the retry policy; after a failure, the next attempt first recreates the clients (inside
    the attempt: a reset that fails, with the broker still down, counts as one more failure). Failures are
    counted on the loop's state, across calls, so idle steps between them do not hide a loop that never recovers."""

    def __init__(self, name: str, loop: Supervised, state: LoopState, stop: threading.Event,
                 backoff: Backoff) -> None:
        self._name, self._loop, self._state, self._backoff = name, loop, state, backoff
        self._needs_reset = False
        self._retrying = Retrying(
            sleep=lambda seconds: _wait(stop, seconds),  # a stop interrupts the backoff
            stop=lambda _: stop.is_set() or state.failures >= backoff.max_failures,
            wait=lambda _: min(backoff.cap_s, backoff.initial_s * 2 ** max(0, state.failures - 1)),
            retry=retry_if_exception(lambda exc: not isinstance(exc, Fatal)),
            after=self._failed,
            before_sleep=self._log_retry,
            reraise=True,
        )

    def __call__(self) -> bool:
        return self._retrying(self._attempt)

    def _attempt(self) -> bool:
        LOOP_ITERATIONS.labels(self._name).inc()
        if self._needs_reset:
            self._needs_reset = False
            LOOP_RESTARTS.labels(self._name).inc()
            log.info("loop %s recreating its clients", self._name, extra={"loop": self._name})
            self._loop.reset()
        return self._loop.step()

    def _failed(self, retry_state: RetryCallState) -> None:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        self._state.failures += 1
        self._state.last_error, self._state.last_failure = _describe(exc), time.monotonic()
        self._needs_reset = True
        LOOP_FAILURES.labels(self._name).inc()

    def _log_retry(self, retry_state: RetryCallState) -> None:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        log.warning("loop %s failed (%d in a row), retrying in %.1f s: %s", self._name, self._state.failures,
                    retry_state.upcoming_sleep, self._state.last_error, extra={"loop": self._name}, exc_info=exc)


def _wait(stop: threading.Event, seconds: float) -> None:
    stop.wait(seconds)


def _succeeded(state: LoopState, worked: bool, backoff: Backoff) -> None:
    if worked or time.monotonic() - state.last_failure >= backoff.quiet_s:
        state.failures, state.last_error = 0, None
    state.last_success = time.time()
    LOOP_LAST_SUCCESS.labels(state.name).set(state.last_success)


def _finish(name: str, on_stop: Callable[[], None]) -> None:
    try:
        on_stop()
    except Exception:  # noqa: BLE001 - stopping goes on; the log says what was not finished
        log.error("loop %s failed while stopping", name, exc_info=True, extra={"loop": name})


def _close(name: str, loop: Supervised) -> None:
    try:
        loop.close()
    except Exception:  # noqa: BLE001 - closing is best effort; the loop has ended either way
        log.warning("loop %s did not close cleanly", name, exc_info=True, extra={"loop": name})


def _describe(exc: BaseException | None) -> str:
    return "unknown error" if exc is None else f"{type(exc).__name__}: {exc}"[:300]


def _safely(probe: Callable[[], bool]) -> bool:
    try:
        return bool(probe())
    except Exception:  # noqa: BLE001 - a probe that fails means not ready
        return False


@dataclass
class StepLoop:
    """A `Supervised` from plain callables: `step` (work done?), optional `reset` and `close`."""

    step_fn: Callable[[], bool]
    reset_fn: Callable[[], None] | None = None
    close_fn: Callable[[], None] | None = None

    def step(self) -> bool:
        return self.step_fn()

    def reset(self) -> None:
        if self.reset_fn is not None:
            self.reset_fn()

    def close(self) -> None:
        if self.close_fn is not None:
            self.close_fn()
