"""Webhook delivery: HMAC-signed POSTs of alert events, retried with exponential backoff, every attempt logged.

Each request carries `X-Touchline-Signature: sha256=<hex>`, the HMAC-SHA256 of `<timestamp>.<body>` keyed
with the webhook's secret, and `X-Touchline-Timestamp` (Unix seconds), so a receiver can verify the body
and refuse replays. A 2xx response delivers; anything else (or no response) is retried after
`base * 2^(attempt-1)` seconds, capped, until `max_attempts`, then the delivery is marked failed.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
from collections.abc import Mapping
from datetime import datetime, timedelta

import httpx

from services.adapters.clock import Clock
from services.adapters.metrics import WEBHOOK_DELIVERIES
from services.adapters.supervision import Liveness, StepLoop, run_loop
from services.adapters.webhooks.deliveries import Attempt, Delivery, DeliveryStore

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Touchline-Signature"
TIMESTAMP_HEADER = "X-Touchline-Timestamp"


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """The signature header value of a body sent at `timestamp` (Unix seconds as text)."""
    digest = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def backoff(attempt: int, base_s: float, cap_s: float) -> timedelta:
    """Wait before the next try after `attempt` failed tries: base, 2 base, 4 base, ... up to cap."""
    return timedelta(seconds=min(cap_s, base_s * 2 ** max(0, attempt - 1)))


class WebhookSender:
    """Sends due deliveries; one attempt per delivery per pass."""

    def __init__(self, deliveries: DeliveryStore, client: httpx.Client, clock: Clock, secrets: Mapping[str, str],
                 *, max_attempts: int = 8, base_s: float = 2.0, cap_s: float = 900.0) -> None:
        self._deliveries = deliveries
        self._client = client
        self._clock = clock
        self._secrets = secrets
        self._max_attempts = max_attempts
        self._base_s, self._cap_s = base_s, cap_s

    def run_once(self) -> int:
        """Attempt every due delivery once; returns how many were attempted."""
        due = self._deliveries.due(self._clock())
        for delivery in due:
            self._attempt(delivery)
        return len(due)

    def run(self, stop: threading.Event, interval_s: float = 1.0, liveness: Liveness | None = None) -> None:
        """A pass every `interval_s` until `stop` is set, supervised (services.adapters.supervision)."""
        run_loop("sla-webhooks", StepLoop(lambda: self.run_once() < 0), stop, liveness or Liveness(),
                 idle_s=interval_s)

    def _attempt(self, delivery: Delivery) -> None:
        now, number = self._clock(), delivery.attempts + 1
        started = time.monotonic()
        status_code, error = self._post(delivery, now)
        attempt = Attempt(delivery.delivery_id, number, now, status_code, error,
                          round((time.monotonic() - started) * 1000))
        if error is None:
            WEBHOOK_DELIVERIES.labels("delivered").inc()
            self._deliveries.record(delivery, attempt, "delivered", None)
        elif number >= self._max_attempts:
            log.warning("webhook %s gave up on %s after %d attempts: %s",
                        delivery.url, delivery.alert_id, number, error)
            WEBHOOK_DELIVERIES.labels("failed").inc()
            self._deliveries.record(delivery, attempt, "failed", None)
        else:
            WEBHOOK_DELIVERIES.labels("retry").inc()
            self._deliveries.record(delivery, attempt, "pending", now + backoff(number, self._base_s, self._cap_s))

    def _post(self, delivery: Delivery, now: datetime) -> tuple[int | None, str | None]:
        secret = self._secrets.get(delivery.secret_env)
        if not secret:
            return None, f"no HMAC secret: set {delivery.secret_env}"
        body, timestamp = delivery.body.encode(), str(int(now.timestamp()))
        headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: timestamp,
                   SIGNATURE_HEADER: sign(secret.encode(), timestamp, body),
                   "X-Touchline-Event-Id": delivery.alert_id, "X-Touchline-Event-Type": delivery.event_type}
        try:
            response = self._client.post(delivery.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"
        if 200 <= response.status_code < 300:
            return response.status_code, None
        return response.status_code, f"HTTP {response.status_code}"
