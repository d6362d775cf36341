"""Alert dispatch: follows the log for alert events (warnings, breaches, retractions, calendar gaps and
acknowledgements), publishes them to the alerts topic, queues webhooks (all but acknowledgements).

The dispatcher keeps its own position (not a projection, never rebuilt, so a rebuild delivers nothing
again). Per batch: read log rows after the position; decode only the alert rows; publish them to the alerts
topic and wait for the broker (at least once: a crash before step 3 republishes, consumers dedupe by
`event_id`); then queue one webhook delivery per alert and matching department webhook together with the
new position, in one transaction (exactly once).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from contracts import (
    Envelope,
    SlaAlertPayload,
    SlaAlertRetractedPayload,
    SlaCalendarGapPayload,
    to_canonical_json,
)
from services.adapters.clock import Clock
from services.adapters.config import Webhook
from services.adapters.kafka.records import EventPublisher
from services.adapters.store.eventstore import TOPIC_PREFIX, EventStore
from services.adapters.supervision import Liveness, StepLoop, run_loop
from services.adapters.webhooks.deliveries import Delivery, DeliveryStore, delivery_id_for

log = logging.getLogger(__name__)
ALERT_EVENT_TYPES = ("sla.warning_raised", "sla.breached", "sla.alert_acknowledged", "sla.alert_retracted",
                     "sla.calendar_gap")
_ALERT_TOPICS = frozenset(f"{TOPIC_PREFIX}{event_type}@v1" for event_type in ALERT_EVENT_TYPES)


class AlertDispatcher:
    """Moves recorded alert events onward: alerts topic (if any) and department webhooks."""

    def __init__(self, store: EventStore, deliveries: DeliveryStore, webhooks: Sequence[Webhook],
                 publisher: EventPublisher | None, clock: Clock, batch: int = 1000) -> None:
        self._store = store
        self._deliveries = deliveries
        self._webhooks = tuple(webhooks)
        self._publisher = publisher
        self._clock = clock
        self._batch = batch

    def run_once(self) -> int:
        """Dispatch one batch of the log; returns how many log rows were passed."""
        rows = self._store.read_raw(self._deliveries.position(), self._batch)
        if not rows:
            return 0
        alerts = self._store.open([row for row in rows if row.topic in _ALERT_TOPICS])
        if alerts and self._publisher is not None:
            self._publisher.publish(alerts)
        jobs = [job for alert in alerts for job in self._jobs(alert)]
        self._deliveries.enqueue(jobs, rows[-1].position, self._clock())
        return len(rows)

    def run(self, stop: threading.Event, idle_s: float = 0.2, *, liveness: Liveness | None = None,
            reset_clients: Callable[[], None] | None = None) -> None:
        """Batch after batch until `stop` is set, supervised (services.adapters.supervision): a failed batch is retried
        with backoff after `reset_clients` (the alerts producer recreated)."""
        run_loop("sla-dispatch", StepLoop(lambda: self.run_once() > 0, reset_clients), stop, liveness or Liveness(),
                 idle_s=idle_s)

    def _jobs(self, alert: Envelope) -> list[Delivery]:
        payload = alert.payload
        if not isinstance(payload, SlaAlertPayload | SlaAlertRetractedPayload | SlaCalendarGapPayload):
            return []  # acknowledgements go to the topic only
        body = to_canonical_json(alert).decode()
        return [Delivery(delivery_id_for(str(alert.event_id), hook.url), str(alert.event_id), alert.event_type,
                         payload.department, hook.url, hook.secret_env, body)
                for hook in self._webhooks if hook.department == payload.department]
