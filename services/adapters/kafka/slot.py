"""The producer a sender holds, whichever Kafka client library made it: given at once, or made on first use by a
factory and made again after it was dropped (a producer a failure may have wedged: fenced, or its idempotence
state lost)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

P = TypeVar("P")


class ProducerSlot(Generic[P]):
    def __init__(self, producer: P | None, factory: Callable[[], P] | None) -> None:
        if producer is None and factory is None:
            raise ValueError("a producer or a factory of producers is needed")
        self._producer = producer
        self._factory = factory
        self._lock = threading.Lock()

    @property
    def renewable(self) -> bool:
        """Whether a dropped producer is made again (a factory was given)."""
        return self._factory is not None

    def current(self) -> P:
        """The producer, made now when there is none."""
        with self._lock:
            if self._producer is None:
                assert self._factory is not None  # without a factory the producer is never taken but by close
                self._producer = self._factory()
            return self._producer

    def take(self) -> P | None:
        """Hand the producer over to be closed (None when there is none); the next `current` makes a new one."""
        with self._lock:
            producer, self._producer = self._producer, None
        return producer
