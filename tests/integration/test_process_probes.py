"""The production processes serve /healthz, /readyz and /metrics on TOUCHLINE_METRICS_PORT, and stop with exit
status 0 on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import orjson
import pytest
from kafka import KafkaProducer

from services.adapters.kafka.backend import ensure_kafka_topics
from tests.support.pipeline import free_port, pipeline_settings, settings_env, touchpoint, wait_for

pytestmark = pytest.mark.integration


@contextmanager
def process(command: str, env: dict[str, str], log: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    full = {k: v for k, v in os.environ.items() if not k.startswith("TOUCHLINE_")} | env | {
        "TOUCHLINE_METRICS_PORT": str(port)}
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "services.entrypoints.cli", command], env=full, stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        yield proc, f"http://127.0.0.1:{port}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def answer(url: str) -> tuple[int, dict[str, str]]:
    with suppress(httpx.TransportError):
        response = httpx.get(url, timeout=5)
        return response.status_code, response.json()
    return 0, {}


def test_the_recorder_is_ready_once_it_owns_partitions_and_reports_its_lag(
        tmp_path: Path, kafka_bootstrap: str, postgres_url: str, pg_schema: str, kafka_topic: str) -> None:
    settings = pipeline_settings(kafka_bootstrap, postgres_url, pg_schema, kafka_topic)
    ensure_kafka_topics(settings)
    with process("recorder", settings_env(settings), tmp_path / "recorder.log") as (proc, base):
        seen: list[tuple[int, dict[str, str]]] = []

        def ready() -> bool:
            assert proc.poll() is None, (tmp_path / "recorder.log").read_text()
            seen.append(answer(f"{base}/readyz"))
            return seen[-1][0] == 200

        wait_for(ready, 60, "recorder never ready", interval_s=0.1)
        assert seen[-1][1]["recorder"] == "ok"
        assert all(body.get("recorder") in ("waiting", "starting") for status, body in seen if status == 503)
        producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
        for i in range(5):
            producer.send(kafka_topic, key=str(i).encode(), value=orjson.dumps(touchpoint(i, "web")))
        producer.flush()
        producer.close()
        wait_for(lambda: 'touchline_recorder_records_total{outcome="recorded"} 5.0' in httpx.get(
            f"{base}/metrics").text, 30, "recorder metrics")
        metrics = httpx.get(f"{base}/metrics").text
        assert 'touchline_loop_up{loop="recorder"} 1.0' in metrics
        assert "touchline_recorder_lag{partition=" in metrics
        assert answer(f"{base}/healthz") == (200, {"status": "ok"})
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0


def test_the_projector_serves_its_probes_and_stops_on_sigterm(tmp_path: Path) -> None:
    env = {"TOUCHLINE_DATA_DIR": str(tmp_path), "TOUCHLINE_ENV": "test", "DATABASE_URL": "",
           "TOUCHLINE_LOG_FORMAT": "json"}
    with process("projector", env, tmp_path / "projector.log") as (proc, base):
        wait_for(lambda: answer(f"{base}/readyz")[0] == 200, 60, "projector never ready")
        assert answer(f"{base}/readyz")[1] == {"status": "ok", "projector": "ok"}
        assert 'touchline_loop_up{loop="projector"} 1.0' in httpx.get(f"{base}/metrics").text
        time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    first = (tmp_path / "projector.log").read_text().splitlines()[0]
    assert orjson.loads(first)["level"] in ("INFO", "WARNING"), "JSON log lines"
