"""A durable test broker: Tansu storing through s3rver (a local S3 on disk), so it can be restarted mid-drill.
Tansu reaches s3rver through `conditional_s3`, which adds the conditional writes s3rver lacks and Tansu needs
(without them a restarted broker wrote over acknowledged records).

Test support only: `touchline run` and `python -m services.adapters.devbroker` keep their broker in memory (see
docs/architecture.md, "Processes in one"). s3rver is an npm package: the first run installs it with npm
into TOOLS_DIR (.tools/s3rver, ignored by git) and later runs reuse it; an s3rver on PATH is used instead.
"""

from __future__ import annotations

import fcntl
import shutil
import subprocess
import sys
import time
from pathlib import Path

from services.adapters.devbroker import BrokerStartError, LocalBroker, free_port, spawn, wait_for_port

S3RVER_PACKAGE = "s3rver@3.7.1"
CONDITIONAL_S3 = Path(__file__).with_name("conditional_s3.py")
TOOLS_DIR = Path(__file__).resolve().parents[2] / ".tools" / "s3rver"
BUCKET = "tansu"
# s3rver accepts any well-formed signature; these values only have to be consistent.
S3_ENV = {
    "AWS_ALLOW_HTTP": "true",
    "AWS_ACCESS_KEY_ID": "S3RVER",
    "AWS_SECRET_ACCESS_KEY": "S3RVER",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def node_available() -> bool:
    return shutil.which("s3rver") is not None or (shutil.which("npm") is not None and shutil.which("node") is not None)


def s3rver_executable(tools_dir: Path = TOOLS_DIR) -> Path:
    """s3rver from PATH, else from tools_dir, installing it there with npm on first use (one installer at a
    time: concurrent test runs wait for the first)."""
    if found := shutil.which("s3rver"):
        return Path(found)
    local = tools_dir / "node_modules" / ".bin" / "s3rver"
    tools_dir.mkdir(parents=True, exist_ok=True)
    with (tools_dir / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not local.exists():
            _npm_install(tools_dir)
    if not local.exists():
        raise BrokerStartError(f"npm installed {S3RVER_PACKAGE} but {local} is missing")
    return local


def _npm_install(tools_dir: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise BrokerStartError("the durable test broker needs s3rver, and npm is not available to install it")
    command = [npm, "install", "--no-save", "--no-package-lock", "--prefix", str(tools_dir), S3RVER_PACKAGE]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BrokerStartError(f"npm install {S3RVER_PACKAGE} failed:\n{done.stderr[-2000:]}")


class DurableBroker(LocalBroker):
    """A LocalBroker whose topics, records and committed offsets live in data_dir/s3 (through s3rver), so they
    survive a restart on the same data_dir; logs go to data_dir."""

    def __init__(self, data_dir: Path, port: int | None = None, startup_timeout: float = 30.0) -> None:
        super().__init__(port=port, startup_timeout=startup_timeout)
        self.data_dir = data_dir.resolve()

    def _broker_log(self) -> Path:
        self.log_path = self.data_dir / "tansu.log"
        return self.log_path

    def _prepare_storage(self, deadline: float) -> tuple[str, dict[str, str]]:
        (self.data_dir / "s3").mkdir(parents=True, exist_ok=True)
        s3rver, s3_port = s3rver_executable(), free_port()
        s3_log = self.data_dir / "s3rver.log"
        argv = [str(s3rver), "-d", str(self.data_dir / "s3"), "-a", "127.0.0.1", "-p", str(s3_port),
                "--configure-bucket", BUCKET, "--allow-mismatched-signatures", "--silent"]
        process = spawn(argv, s3_log)
        self._helpers.append(process)
        wait_for_port("s3rver", process, s3_port, s3_log, deadline)
        # Tansu talks to s3rver through conditional_s3, which refuses the conditional writes S3 would refuse.
        proxy_port, proxy_log = free_port(), self.data_dir / "conditional_s3.log"
        proxy = spawn([sys.executable, str(CONDITIONAL_S3), "--port", str(proxy_port), "--upstream", str(s3_port)],
                      proxy_log)
        self._helpers.insert(0, proxy)  # stopped before s3rver
        wait_for_port("conditional_s3", proxy, proxy_port, proxy_log, deadline)
        return f"s3://{BUCKET}/", {**S3_ENV, "AWS_ENDPOINT": f"http://127.0.0.1:{proxy_port}"}


class RestartableBroker:
    """A dedicated durable broker that a drill can restart on the same port; `bootstrap_servers` stays valid
    across restarts."""

    def __init__(self, data_dir: Path) -> None:
        self._data_dir = data_dir
        self._broker = DurableBroker(data_dir).start()
        self.bootstrap_servers = self._broker.bootstrap_servers

    def restart(self, down_s: float = 1.0) -> float:
        """Stop the broker (and its store), wait `down_s`, start both again; returns how long it was
        unreachable."""
        began = time.monotonic()
        port = self._broker.port
        self._broker.stop()
        time.sleep(down_s)
        self._broker = DurableBroker(self._data_dir, port=port).start()
        return time.monotonic() - began

    def stop(self) -> None:
        self._broker.stop()
