"""Late facts: alerts wait for the watermark (allowed lateness), wrong alerts are retracted, stopped clocks
resolve their alerts, and a rebuild folds the same alerts, retractions and states as the live fold."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from contracts import Envelope, SlaAlertRetracted, SlaBreached, SlaMetric
from domain.log import RecordedEvent
from domain.sla.alerts import Watermark, alert_events, alert_id_for
from domain.sla.clock import Clock
from projections.sla.reducer import AlertState, SlaFolder, SlaState, fold
from tests.support.builders import make_event
from tests.support.sla import at, policy_event

pytestmark = pytest.mark.unit

CASE = "CASE-LATE-1"
OPENED = at("2026-11-23", "09:00")  # a Monday; the complaint rule gives resolution 16 business hours
NOW = at("2026-11-30", "09:00")  # a week later: every threshold of the case is long past


def case_event(event_type: str, when: datetime, payload: dict[str, Any] | None = None) -> Envelope:
    return make_event(event_type, occurred_at=when, department="card_centre", channel="web", case_id=CASE,
                      customer={"phone": "13800138000"}, payload=payload)


def opened() -> Envelope:
    return case_event("case.opened", OPENED, {"case_type": "complaint", "priority": "normal"})


def resolved(when: datetime) -> Envelope:
    return case_event("case.resolved", when, {"resolution": "done"})


class Log:
    """A log and the SLA state folded from it, batch by batch, as the live projection does."""

    def __init__(self) -> None:
        self.events: list[RecordedEvent] = []
        self.folder = SlaFolder()

    def append(self, *events: Envelope) -> None:
        batch = [RecordedEvent(len(self.events) + n, e) for n, e in enumerate(events, start=1)]
        self.events += batch
        self.folder.fold(batch)

    def clock(self, metric: SlaMetric) -> Clock:
        return next(c for c in self.folder.cases[CASE].clocks if c.metric is metric)

    def due(self, watermark: Watermark, now: datetime = NOW) -> list[Envelope]:
        return [e for c in self.folder.cases[CASE].clocks for e in alert_events(c, now, watermark)]

    @property
    def head(self) -> int:
        return self.events[-1].position


def test_a_clock_alerts_only_once_the_watermark_has_passed_its_last_fact() -> None:
    log = Log()
    log.append(policy_event(), opened())  # a past case: its breach instants lie days before now
    assert log.clock(SlaMetric.RESOLUTION).changed_at == 2
    # The open was seen less than the allowed lateness ago: the watermark position is still before it.
    assert log.due(Watermark(NOW - timedelta(seconds=60), position=1)) == []
    # Its resolution, 20 minutes after the opening, arrives within the allowed lateness: nothing is ever due.
    log.append(resolved(OPENED + timedelta(minutes=20)))
    assert log.due(Watermark(NOW, position=log.head)) == []


def test_a_threshold_within_the_allowed_lateness_waits() -> None:
    log = Log()
    log.append(policy_event(), opened())
    breach = log.clock(SlaMetric.RESOLUTION).deadline()
    assert breach is not None
    just_before = Watermark(breach - timedelta(seconds=1), position=log.head)
    assert SlaMetric.RESOLUTION not in {e.payload.metric for e in log.due(just_before)
                                        if isinstance(e, SlaBreached)}
    at_breach = Watermark(breach, position=log.head)
    assert any(isinstance(e, SlaBreached) and e.occurred_at == breach for e in log.due(at_breach))


def test_a_late_stop_before_the_threshold_retracts_the_alerts_it_disproves_and_resolves_the_rest() -> None:
    log = Log()
    log.append(policy_event(), opened())
    alerts = log.due(Watermark(NOW, position=log.head))
    log.append(*alerts)
    resolution = log.clock(SlaMetric.RESOLUTION)
    assert sorted(resolution.alerted) == [50, 75, 100] and log.due(Watermark(NOW, position=log.head)) == []
    # The resolution is recorded late: it occurred 10 business hours in, past 50% (8h) and before 75% (12h).
    late = resolved(at("2026-11-24", "11:00"))
    log.append(late)
    watermark = Watermark(NOW - timedelta(hours=1), position=1)  # not yet settled: retractions still go at once
    retractions = [e for e in log.due(watermark) if isinstance(e, SlaAlertRetracted)]
    by_clock = {(e.payload.metric, e.payload.threshold_percent) for e in retractions}
    assert {(SlaMetric.RESOLUTION, 75), (SlaMetric.RESOLUTION, 100)} <= by_clock
    retraction = next(e for e in retractions if e.payload.metric is SlaMetric.RESOLUTION
                      and e.payload.threshold_percent == 100)
    assert retraction.payload.alert_id == alert_id_for(resolution.clock_id, 100)
    assert retraction.payload.fact_event_id == late.event_id and "before the threshold" in retraction.payload.reason
    assert retraction.occurred_at == NOW
    log.append(*retractions)
    state = log.folder.state()
    assert state.alerts[str(alert_id_for(resolution.clock_id, 100))].state is AlertState.RETRACTED
    fifty = state.alerts[str(alert_id_for(resolution.clock_id, 50))]
    assert fifty.state is AlertState.RESOLVED and fifty.resolved_at == late.occurred_at
    assert log.due(Watermark(NOW, position=log.head)) == []  # nothing more: never retracted twice
    # A rebuild folds the whole log at once and reaches the same state.
    rebuilt, _ = fold(log.events, SlaState())
    assert rebuilt == state


def test_a_retracted_threshold_reached_later_is_alerted_again_under_a_new_id() -> None:
    log = Log()
    log.append(policy_event(), opened())
    log.append(*log.due(Watermark(NOW, position=log.head)))
    clock_id = log.clock(SlaMetric.RESOLUTION).clock_id
    # A pause recorded late (occurred before the breach), then the customer answers: the breach moves later.
    log.append(case_event("case.waiting_on_customer", at("2026-11-24", "09:00"), {"reason": "documents"}))
    log.append(*[e for e in log.due(Watermark(NOW, position=log.head)) if isinstance(e, SlaAlertRetracted)])
    log.append(case_event("case.customer_responded", at("2026-11-25", "09:00")))
    again = [e for e in log.due(Watermark(NOW, position=log.head))
             if isinstance(e, SlaBreached) and e.payload.metric is SlaMetric.RESOLUTION]
    assert [e.event_id for e in again] == [alert_id_for(clock_id, 100, 1)]
    assert again[0].occurred_at == at("2026-11-25", "18:00")  # 8 business hours Monday, 8 after the pause
