"""Prometheus metrics of the pipeline stages and of the supervised loops (each process serves /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

INGEST_EVENTS = Counter("touchline_ingest_events", "Events received over HTTP, by outcome.", ["outcome"])
RECORDER_RECORDS = Counter("touchline_recorder_records", "Kafka records handled by the recorder, by outcome.",
                           ["outcome"])
RECORDER_LAG = Gauge("touchline_recorder_lag", "Records on the broker not yet consumed by the recorder (high "
                     "watermark minus position), per partition.", ["partition"])
PROJECTION_POSITION = Gauge("touchline_projection_position", "Last log position applied, per projection.",
                            ["projection"])
LOG_HEAD = Gauge("touchline_log_head", "Newest position of the event store's global log, as last read.")
PROJECTION_FAILURES = Gauge("touchline_projection_failures",
                            "Events a projection parked (could not apply, skipped) and not yet resolved.",
                            ["projection"])
PROJECTION_PARKED = Counter("touchline_projection_parked", "Events parked by a projection (each time met).",
                            ["projection"])
SLA_EVENTS = Counter("touchline_sla_events", "SLA events recorded by the ticker (warnings, breaches, retractions, "
                     "calendar gaps), by event type.", ["event_type"])
SLA_CALENDAR_GAPS = Counter("touchline_sla_calendar_gaps", "Clocks found reaching a year their calendar has no "
                            "holiday data for (each recorded as sla.calendar_gap), by calendar.", ["calendar"])
WEBHOOK_DELIVERIES = Counter("touchline_webhook_deliveries", "Webhook delivery attempts, by outcome "
                             "(delivered, retry, failed).", ["outcome"])
LOOP_ITERATIONS = Counter("touchline_loop_iterations", "Steps attempted by a supervised loop.", ["loop"])
LOOP_FAILURES = Counter("touchline_loop_failures", "Steps of a supervised loop that raised.", ["loop"])
LOOP_RESTARTS = Counter("touchline_loop_restarts", "Client recreations of a supervised loop after a failure.",
                        ["loop"])
LOOP_LAST_SUCCESS = Gauge("touchline_loop_last_success_timestamp_seconds",
                          "Unix time of the last successful step of a supervised loop.", ["loop"])
LOOP_UP = Gauge("touchline_loop_up", "1 while a supervised loop runs, 0 once stopped or dead.", ["loop"])
