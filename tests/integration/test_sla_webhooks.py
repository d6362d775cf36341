"""Alert delivery: the dispatcher follows the log into the alerts topic and per-department webhooks; webhooks
are HMAC-signed, retried with backoff, and every attempt is logged."""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from contracts import Envelope, SlaBreached, SlaWarningRaised, to_canonical_json
from domain.sla.alerts import acknowledgement
from projections.sqlstore import make_engine
from services.adapters.config import Webhook
from services.adapters.store.eventstore import EventStore
from services.adapters.webhooks.deliveries import DeliveryStore
from services.adapters.webhooks.sender import SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookSender, backoff
from services.application.sla.dispatch import AlertDispatcher
from tests.support.pipeline import free_port
from tests.support.sla import at

pytestmark = pytest.mark.integration

SECRET = "card-centre-webhook-secret"
T0 = at("2026-11-25", "10:00")


@dataclass
class Receiver:
    """A webhook endpoint that answers with the next queued status code and keeps what it got."""

    statuses: list[int]
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    state = Receiver(statuses=[500, 200])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server API
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append((dict(self.headers.items()), body))
            self.send_response(state.statuses.pop(0) if state.statuses else 200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@dataclass
class Published:
    events: list[Envelope] = field(default_factory=list)

    def publish(self, events: Sequence[Envelope]) -> None:
        self.events.extend(events)


@dataclass
class Setup:
    store: EventStore
    deliveries: DeliveryStore
    now: list[datetime]


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    store, views = EventStore(f"sqlite:///{tmp_path / 'events.db'}"), make_engine(f"sqlite:///{tmp_path / 'v.db'}")
    deliveries = DeliveryStore(views)
    deliveries.create()
    yield Setup(store, deliveries, [T0])
    store.close()
    views.dispose()


def alerts() -> list[Envelope]:
    breach = SlaBreached.example()
    warning = SlaWarningRaised.example().model_copy(update={"payload": SlaWarningRaised.example().payload.model_copy(
        update={"department": "loan"})})
    ack = acknowledgement(breach.event_id, breach.case_id, "王经理", None, "card_centre-manager", T0)
    return [warning, breach, ack]


def test_alerts_reach_the_topic_and_their_department_webhook_signed_retried_and_logged(
        setup: Setup, receiver: tuple[Receiver, str]) -> None:
    state, url = receiver
    setup.store.append(alerts())
    hooks = [Webhook("card_centre", url, "CARD_HOOK"), Webhook("repair", "http://127.0.0.1:9/none", "X")]
    topic = Published()
    dispatcher = AlertDispatcher(setup.store, setup.deliveries, hooks, topic, lambda: setup.now[0])

    assert dispatcher.run_once() == 3 and dispatcher.run_once() == 0
    assert [e.event_type for e in topic.events] == ["sla.warning_raised", "sla.breached", "sla.alert_acknowledged"]

    with httpx.Client(timeout=5) as client:
        sender = WebhookSender(setup.deliveries, client, lambda: setup.now[0], {"CARD_HOOK": SECRET}, base_s=2.0)
        assert sender.run_once() == 1  # only the card centre's breach: 500, retried later
        setup.now[0] = T0 + timedelta(seconds=1)
        assert sender.run_once() == 0  # backing off
        setup.now[0] = T0 + timedelta(seconds=2)
        assert sender.run_once() == 1  # delivered
        assert sender.run_once() == 0

    breach = alerts()[1]
    headers, body = state.received[-1]
    assert body == to_canonical_json(breach)
    expected = hmac.new(SECRET.encode(), headers[TIMESTAMP_HEADER].encode() + b"." + body, hashlib.sha256)
    assert headers[SIGNATURE_HEADER] == f"sha256={expected.hexdigest()}"
    assert headers["X-Touchline-Event-Type"] == "sla.breached"
    [(delivery, log)] = setup.deliveries.for_alert(str(breach.event_id))
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("delivered", 2, None)
    assert [(a.attempt, a.status_code, a.error) for a in log] == [(1, 500, "HTTP 500"), (2, 200, None)]
    assert log[1].at - log[0].at == timedelta(seconds=2)


def test_a_delivery_gives_up_after_the_last_attempt(setup: Setup) -> None:
    setup.store.append(alerts()[1:2])
    closed_port = f"http://127.0.0.1:{free_port()}/nobody-listens"
    AlertDispatcher(setup.store, setup.deliveries, [Webhook("card_centre", closed_port, "CARD_HOOK")], None,
                    lambda: setup.now[0]).run_once()
    with httpx.Client(timeout=2) as client:
        sender = WebhookSender(setup.deliveries, client, lambda: setup.now[0], {"CARD_HOOK": SECRET},
                               max_attempts=3, base_s=1.0)
        for step in range(6):
            setup.now[0] = T0 + timedelta(seconds=10 * step)
            sender.run_once()
    [(delivery, log)] = setup.deliveries.for_alert(str(alerts()[1].event_id))
    assert (delivery.status, delivery.attempts) == ("failed", 3)
    assert all(a.status_code is None and a.error and "Connect" in a.error for a in log)


def test_a_missing_secret_fails_the_attempt_rather_than_posting_unsigned(
        setup: Setup, receiver: tuple[Receiver, str]) -> None:
    state, url = receiver
    setup.store.append(alerts()[1:2])
    AlertDispatcher(setup.store, setup.deliveries, [Webhook("card_centre", url, "UNSET")], None,
                    lambda: setup.now[0]).run_once()
    with httpx.Client(timeout=2) as client:
        WebhookSender(setup.deliveries, client, lambda: setup.now[0], {}).run_once()
    [(delivery, log)] = setup.deliveries.for_alert(str(alerts()[1].event_id))
    assert delivery.last_error == "no HMAC secret: set UNSET" and state.received == [] and len(log) == 1


def test_backoff_doubles_up_to_the_cap() -> None:
    assert [backoff(n, 2.0, 30.0).total_seconds() for n in range(1, 7)] == [2, 4, 8, 16, 30, 30]
