"""Prometheus metrics of the pipeline stages (exposed by the API at /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

INGEST_EVENTS = Counter("touchline_ingest_events", "Events received over HTTP, by outcome.", ["outcome"])
RECORDER_RECORDS = Counter("touchline_recorder_records", "Kafka records handled by the recorder, by outcome.",
                           ["outcome"])
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
