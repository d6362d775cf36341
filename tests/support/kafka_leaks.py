"""Kafka clients a test forgot to close: each client records the test that made it, and the broker fixture names
the ones still open, or whose IO thread still runs, at the end of the session: such a thread keeps retrying a
broker that is gone, logs into closed streams and leaks sockets. kafka-python's network clients are recorded, and
confluent-kafka's producers, consumers and admin clients (librdkafka threads, invisible to `threading`)."""

from __future__ import annotations

import gc
import os
import traceback
import weakref
from typing import Any

from kafka.net.compat import KafkaNetClient

from services.adapters.kafka.confluent import clients as confluent_clients

_made: list[tuple[weakref.ref[Any], str, str]] = []
_confluent_made: list[tuple[weakref.ref[Any], str, str]] = []
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
    _record_confluent()


def _record_confluent() -> None:
    """Make touchline's confluent-kafka clients (services.adapters.kafka.confluent.clients) of subclasses that
    remember where they were made and whether they were closed."""
    for name in ("Producer", "Consumer", "AdminClient"):
        setattr(confluent_clients, name, _recording_subclass(getattr(confluent_clients, name)))


def _recording_subclass(base: Any) -> type:
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        base.__init__(self, *args, **kwargs)
        self._touchline_closed = False
        where = "".join(traceback.format_stack(limit=14)[:-1])
        _confluent_made.append((weakref.ref(self), os.environ.get("PYTEST_CURRENT_TEST", "outside a test"), where))

    def close(self: Any, *args: Any, **kwargs: Any) -> Any:
        self._touchline_closed = True
        return base.close(self, *args, **kwargs)

    def __exit__(self: Any, *exc: Any) -> Any:
        self._touchline_closed = True
        return base.__exit__(self, *exc)

    members: dict[str, Any] = {"__init__": __init__, "__exit__": __exit__}
    if hasattr(base, "close"):
        members["close"] = close
    return type(base.__name__, (base,), members)


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
    return leaked + _close_confluent_leftovers()


def closed(client: Any) -> bool:
    """Whether a recorded confluent-kafka client was closed."""
    return bool(client._touchline_closed)


def _close_confluent_leftovers() -> list[str]:
    """confluent-kafka clients still referenced and never closed (one dropped unclosed is destroyed with its
    threads when collected, so only live ones are leaks)."""
    gc.collect()  # a client in a reference cycle (a consumer holding its owner's callbacks) is collected here
    leaked = []
    for ref, test, where in _confluent_made:
        client = ref()
        if client is not None and not client._touchline_closed:
            leaked.append(f"- made in {test} ({type(client).__name__}, confluent-kafka):\n{where}")
            client.__exit__(None, None, None)
    _confluent_made.clear()
    return leaked
