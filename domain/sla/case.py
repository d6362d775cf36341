"""The SLA state of one case (or one case-less promise): context, clocks and promises; stable ids."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

from contracts import (
    CallbackMadePayload,
    CallbackPromisedPayload,
    Envelope,
    SlaAlertPayload,
    SlaAlertRetractedPayload,
    SlaCalendarGapPayload,
    SlaMetric,
)
from domain.sla.clock import Clock
from domain.sla.ledger import Promise

SLA_NAMESPACE = uuid.UUID("6f1d3c52-9a0e-5b7c-8d4e-2a1b0c9d8e7f")
"""Namespace of every id touchline derives for SLA clocks, alerts and acknowledgements."""


class CaseStatus(StrEnum):
    """Where a case stands, as far as its clocks are concerned."""

    UNKNOWN = "unknown"  # events seen before (or without) `case.opened`
    OPEN = "open"
    WAITING = "waiting"  # waiting on the customer
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class CaseSla:
    """Everything SLA about one case (or one case-less promise): its context, clocks and promises."""

    key: str
    case_id: str | None
    customer_id: str | None = None
    case_type: str | None = None
    priority: str | None = None
    segment: str | None = None
    department: str | None = None  # the department that currently owns the case
    site: str | None = None
    status: CaseStatus = CaseStatus.UNKNOWN
    clocks: tuple[Clock, ...] = ()
    promises: tuple[Promise, ...] = ()

    def clock(self, clock_id: str) -> Clock | None:
        return next((c for c in self.clocks if c.clock_id == clock_id), None)

    def running(self, *metrics: SlaMetric) -> list[Clock]:
        return [c for c in self.clocks if c.stopped_at is None and c.metric in metrics]

    def count(self, metric: SlaMetric) -> int:
        return sum(1 for c in self.clocks if c.metric is metric)


def case_key(event: Envelope) -> str | None:
    """The key of the CaseSla an event belongs to: its case, or its promise when it has no case."""
    if event.case_id is not None:
        return event.case_id
    payload = event.payload
    if isinstance(payload, CallbackPromisedPayload | CallbackMadePayload):
        return f"promise:{payload.promise_id}"
    if (isinstance(payload, SlaAlertPayload | SlaAlertRetractedPayload | SlaCalendarGapPayload)
            and payload.promise_id is not None):
        return f"promise:{payload.promise_id}"
    return None


def clock_id_for(key: str, metric: SlaMetric, discriminator: str) -> str:
    """Stable clock id: the same events always produce the same clocks."""
    return str(uuid.uuid5(SLA_NAMESPACE, f"clock/{key}/{metric.value}/{discriminator}"))
