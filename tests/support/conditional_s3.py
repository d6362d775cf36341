"""Conditional writes in front of s3rver, for the durable test broker.

S3 refuses a PUT with `If-None-Match: *` when the key exists, and one with `If-Match: <etag>` when the key's ETag
differs, both with 412 Precondition Failed. s3rver 3.7 predates these headers and ignores them. Tansu relies on
them: after a start, the first use of a partition PUTs its `watermark.json` with `If-None-Match: *` and a high
watermark of 0, expecting a refusal when the object exists (then it reads it). s3rver wrote it over, so a
restarted broker numbered new batches from offset 0 again and wrote them over the acknowledged batches of the
same offsets (one object per batch, named by its base offset): acknowledged records were lost.

This process forwards every request to s3rver unchanged, and answers a conditional PUT itself, with 412, when S3
would refuse it. The check and the write hold a lock per key, so no two conditional writes of a key interleave.

    python -m tests.support.conditional_s3 --port PORT --upstream S3RVER_PORT
"""

from __future__ import annotations

import argparse
import http.client
import threading
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

# Hop-by-hop headers, not forwarded (RFC 9110, 7.6.1); lengths are set afresh for the bodies read whole.
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
                        "upgrade", "content-length"})
PRECONDITION_FAILED = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PreconditionFailed</Code>'
                       b"<Message>At least one of the pre-conditions you specified did not hold</Message>"
                       b"<Condition>%s</Condition></Error>")


class KeyLocks:
    """One lock per object key, made on first use."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)

    def __call__(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks[key]


class ConditionalProxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ProxyServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass  # a request line per record batch would drown the broker's own log

    def do_GET(self) -> None:  # noqa: N802 - http.server's names
        self._forward()

    do_HEAD = do_POST = do_DELETE = do_GET  # noqa: N815

    def do_PUT(self) -> None:  # noqa: N802
        none_match, match = self.headers.get("If-None-Match"), self.headers.get("If-Match")
        if none_match is None and match is None:
            self._forward()
            return
        key = urlsplit(self.path).path
        with self.server.locks(key):
            status, headers, _ = self._upstream("HEAD", key, None, {})
            etag = headers.get("etag")
            if none_match == "*" and status == 200:
                self._refuse(b"If-None-Match")
            elif match is not None and (status != 200 or match.strip() not in ("*", etag)):
                self._refuse(b"If-Match")
            else:
                self._forward()

    def _forward(self) -> None:
        body = self._body()
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        if body is not None:
            headers["Content-Length"] = str(len(body))
        status, reply_headers, reply = self._upstream(self.command, self.path, body, headers)
        self.send_response(status)
        for name, value in reply_headers.items():
            if name not in HOP_BY_HOP or (self.command == "HEAD" and name == "content-length"):
                self.send_header(name, value)
        if self.command != "HEAD":
            self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply)

    def _refuse(self, condition: bytes) -> None:
        self._body()  # read what the client sent, so its connection can be used again
        reply = PRECONDITION_FAILED % condition
        self.send_response(412)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def _body(self) -> bytes | None:
        """The request's body, by its Content-Length (Tansu's object store client sends no chunked bodies)."""
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length or self.command in ("PUT", "POST") else None

    def _upstream(self, method: str, path: str, body: bytes | None,
                  headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        """One request to s3rver on this thread's kept-alive connection. s3rver closes one idle for 5 s: the
        request is then sent once more on a new connection (every request here can be repeated)."""
        local = self.server.local
        if getattr(local, "connection", None) is None:
            local.connection = http.client.HTTPConnection("127.0.0.1", self.server.upstream_port, timeout=30)
        try:
            local.connection.request(method, path, body=body, headers=headers)
            response = local.connection.getresponse()
        except (http.client.RemoteDisconnected, ConnectionError):
            local.connection.close()
            local.connection.request(method, path, body=body, headers=headers)
            response = local.connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()


class ProxyServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, upstream_port: int) -> None:
        super().__init__(("127.0.0.1", port), ConditionalProxy)
        self.upstream_port = upstream_port
        self.locks = KeyLocks()
        self.local = threading.local()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True, help="port to listen on (127.0.0.1)")
    parser.add_argument("--upstream", type=int, required=True, help="s3rver's port (127.0.0.1)")
    args = parser.parse_args()
    ProxyServer(args.port, args.upstream).serve_forever()


if __name__ == "__main__":
    main()
