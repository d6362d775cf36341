"""Health and metrics of a process without the API: /healthz, /readyz (its loops) and /metrics on a small port."""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from services.adapters.supervision import Liveness

log = logging.getLogger(__name__)


class ProbeServer:
    """Serves the probes of one process's `Liveness` in a daemon thread; `close` stops it."""

    def __init__(self, liveness: Liveness, host: str, port: int) -> None:
        handler = type("Handler", (_Handler,), {"liveness": liveness})
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="probes", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> ProbeServer:
        self._thread.start()
        log.info("probes on port %d: /healthz /readyz /metrics", self.port)
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class _Handler(BaseHTTPRequestHandler):
    liveness: Liveness

    def do_GET(self) -> None:  # noqa: N802 - the name http.server dispatches to
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            self._send(200, generate_latest(), CONTENT_TYPE_LATEST)
        elif path == "/healthz":
            dead = self.liveness.dead()
            self._json(503 if dead else 200, {"status": "dead" if dead else "ok"} | dead)
        elif path == "/readyz":
            checks = self.liveness.checks()
            ready = bool(checks) and all(state == "ok" for state in checks.values())
            self._json(200 if ready else 503, {"status": "ok" if ready else "not ready"} | checks)
        else:
            self._json(404, {"status": "not found"})

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the signature http.server calls
        return  # probes every few seconds would drown the log

    def _json(self, status: int, body: dict[str, str]) -> None:
        self._send(status, json.dumps(body).encode(), "application/json")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
