"""Kafka clients a test forgot to close: each client records the test that made it, and the broker fixture names
the ones still open, or whose IO thread still runs, at the end of the session: such a thread keeps retrying a
broker that is gone, logs into closed streams and leaks sockets."""

from __future__ import annotations

import os
import traceback
import weakref
from typing import Any

from kafka.net.compat import KafkaNetClient

_made: list[tuple[weakref.ref[Any], str, str]] = []
_installed = False


def install() -> None:
    """Record every Kafka network client made from now on, with the test that made it."""
    global _installed
    if _installed:
        return
    _installed = True
    original = KafkaNetClient.__init__

    def recording(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        where = "".join(traceback.format_stack(limit=14)[:-1])
        # the network selector, not the client: a client dropped unclosed is collected while its thread runs on
        _made.append((weakref.ref(self._net), os.environ.get("PYTEST_CURRENT_TEST", "outside a test"), where))

    KafkaNetClient.__init__ = recording


def close_leftovers() -> list[str]:
    """Stop every recorded client's network thread still running; name each with the test that made it and where."""
    leaked = []
    for ref, test, where in _made:
        net = ref()
        thread = None if net is None else net._io_thread
        if net is not None and thread is not None and thread.is_alive():
            leaked.append(f"- made in {test} ({thread.name}):\n{where}")
            net.close()
    _made.clear()
    return leaked
