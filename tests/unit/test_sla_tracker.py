"""Which clocks events start, pause, resume, stop and restart; the promise ledger; alert events and their ids."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from contracts import Envelope, SlaMetric
from domain.sla.alerts import alert_events, alert_id_for
from domain.sla.case import CaseSla, CaseStatus
from domain.sla.clock import Clock, ClockState
from domain.sla.ledger import PromiseStatus, tally
from projections.sla.reducer import SlaState, fold
from tests.support.builders import make_event
from tests.support.sla import HOUR, at, policy_event, policy_payload, recorded_from, rule

pytestmark = pytest.mark.unit

CASE = "CASE-SLA-1"
WHO = {"phone": "13800138000"}
MONDAY = "2026-11-23"


def case_event(event_type: str, when: datetime, payload: dict[str, Any] | None = None, *,
               department: str = "card_centre", channel: str = "internal", agent: str | None = "card-0117",
               **envelope: Any) -> Envelope:
    return make_event(event_type, occurred_at=when, department=department, channel=channel, agent=agent,
                      case_id=CASE, customer=WHO, payload=payload, **envelope)


def opened(when: datetime, channel: str = "web", agent: str | None = None, **payload: Any) -> Envelope:
    return case_event("case.opened", when, {"case_type": "inquiry", "priority": "normal", **payload},
                      channel=channel, agent=agent)


def run(*events: Envelope, policies: tuple[Envelope, ...] | None = None) -> CaseSla:
    state, _ = fold(recorded_from([*(policies or (policy_event(),)), *events]), SlaState())
    return state.cases[CASE]


def clocks(case: CaseSla, metric: SlaMetric) -> list[Clock]:
    return [c for c in case.clocks if c.metric is metric]


def test_a_web_case_runs_first_response_until_an_agent_writes_to_the_customer() -> None:
    case = run(opened(at(MONDAY, "09:00")),
               case_event("case.note_added", at(MONDAY, "11:00"), {"note": "x", "visibility": "internal"}),
               case_event("case.note_added", at(MONDAY, "15:00"), {"note": "y", "visibility": "customer"}))
    [first] = clocks(case, SlaMetric.FIRST_RESPONSE)
    assert (first.stopped_at, first.stop_reason) == (at(MONDAY, "15:00"), "agent contact")
    assert first.state(at(MONDAY, "16:00")) is ClockState.MISSED  # 4h target: due 14:00
    assert [c.started_at for c in clocks(case, SlaMetric.CUSTOMER_UPDATE)] == [at(MONDAY, "09:00"),
                                                                               at(MONDAY, "15:00")]


def test_a_case_opened_by_an_agent_on_the_phone_has_its_first_response_at_once() -> None:
    case = run(opened(at(MONDAY, "09:00"), channel="phone", agent="loan-0231"))
    [first] = clocks(case, SlaMetric.FIRST_RESPONSE)
    assert first.stopped_at == at(MONDAY, "09:00") and first.state(at(MONDAY, "09:01")) is ClockState.MET


def test_waiting_on_the_customer_pauses_resolution_and_an_answer_resumes_it() -> None:
    case = run(opened(at(MONDAY, "09:00")),
               case_event("case.waiting_on_customer", at(MONDAY, "10:00"), {"reason": "proof of address"}),
               case_event("case.customer_responded", at("2026-11-25", "10:00"), {"note": "sent"}, agent=None))
    [resolution] = clocks(case, SlaMetric.RESOLUTION)
    assert case.status is CaseStatus.OPEN
    assert [(p.started_at, p.ended_at) for p in resolution.pauses] == [(at(MONDAY, "10:00"), at("2026-11-25", "10:00"))]
    assert resolution.elapsed(at("2026-11-25", "11:00")) == 2 * HOUR  # 1h before, 1h after the pause
    [next_response] = clocks(case, SlaMetric.NEXT_RESPONSE)
    assert next_response.started_at == at("2026-11-25", "10:00") and next_response.stopped_at is None


def test_resolving_stops_every_clock_and_reopening_restarts_resolution() -> None:
    case = run(opened(at(MONDAY, "09:00")),
               case_event("case.resolved", at(MONDAY, "12:00"), {"resolution": "done"}),
               case_event("case.reopened", at("2026-11-24", "09:00"), {"reason": "card does not work"}))
    first, second = clocks(case, SlaMetric.RESOLUTION)
    assert (first.stopped_at, first.stop_reason) == (at(MONDAY, "12:00"), "case resolved")
    assert first.state(at("2026-11-24", "09:00")) is ClockState.MET
    assert (second.started_at, second.stopped_at) == (at("2026-11-24", "09:00"), None)
    assert first.clock_id != second.clock_id and case.status is CaseStatus.OPEN


def test_an_inquiry_escalated_to_a_complaint_restarts_resolution_under_the_complaint_rule() -> None:
    case = run(opened(at(MONDAY, "09:00")),
               case_event("case.escalated", at(MONDAY, "14:00"),
                          {"from_type": "inquiry", "to_type": "complaint", "reason": "third call", "level": 2}))
    inquiry, complaint = clocks(case, SlaMetric.RESOLUTION)
    assert (inquiry.rule, inquiry.stop_reason) == ("default", "escalated to complaint")
    assert (complaint.rule, complaint.target_seconds, complaint.started_at) == ("complaints", 16 * HOUR,
                                                                                at(MONDAY, "14:00"))
    assert case.case_type == "complaint"


def test_a_handoff_clock_runs_until_the_receiving_department_accepts_and_the_case_follows() -> None:
    handoff = case_event("case.handed_off", at(MONDAY, "10:00"), {
        "from_department": "card_centre", "to_department": "approval_office", "reason": "approval in Shanghai",
        "context_summary": "verified identity"})
    case = run(opened(at(MONDAY, "09:00")), handoff,
               case_event("case.handoff_accepted", at(MONDAY, "14:00"),
                          {"department": "approval_office", "handoff_event_id": str(handoff.event_id)},
                          department="approval_office"))
    [accept] = clocks(case, SlaMetric.HANDOFF_ACCEPTANCE)
    assert (accept.department, accept.stopped_at) == ("approval_office", at(MONDAY, "14:00"))
    assert accept.state(at(MONDAY, "15:00")) is ClockState.MISSED  # 2h target: due 12:00
    [resolution] = clocks(case, SlaMetric.RESOLUTION)
    assert resolution.owner == ("approval_office", "approval_office-manager")
    assert resolution.owner_at(at(MONDAY, "13:59")) == ("card_centre", "card_centre-manager")


def promised(promise_id: str, when: datetime, due: datetime, agent: str = "card-0117") -> Envelope:
    return case_event("callback.promised", when, {"promise_id": promise_id, "due_at": due.isoformat(),
                                                   "reason": "check the card status"}, agent=agent)


def made(promise_id: str, when: datetime, outcome: str = "reached") -> Envelope:
    return case_event("callback.made", when, {"promise_id": promise_id, "outcome": outcome})


def test_the_promise_ledger_tells_kept_on_time_kept_late_broken_pending_and_released() -> None:
    case = run(opened(at(MONDAY, "09:00")),
               promised("P1", at(MONDAY, "09:10"), at(MONDAY, "12:00")), made("P1", at(MONDAY, "11:00")),
               promised("P2", at(MONDAY, "09:20"), at(MONDAY, "12:00")), made("P2", at(MONDAY, "13:00")),
               promised("P3", at(MONDAY, "09:30"), at(MONDAY, "12:00")),
               promised("P4", at(MONDAY, "09:40"), at("2026-11-30", "12:00")))
    now = at("2026-11-24", "09:00")
    assert {p.promise_id: p.status(now) for p in case.promises} == {
        "P1": PromiseStatus.KEPT_ON_TIME, "P2": PromiseStatus.KEPT_LATE, "P3": PromiseStatus.BROKEN,
        "P4": PromiseStatus.PENDING}
    resolved = run(opened(at(MONDAY, "09:00")), promised("P3", at(MONDAY, "09:30"), at(MONDAY, "12:00")),
                   promised("P4", at(MONDAY, "09:40"), at("2026-11-30", "12:00")),
                   case_event("case.resolved", at("2026-11-24", "09:00"), {"resolution": "card sent"}))
    assert tally(resolved.promises, at("2026-12-01", "09:00")) == {
        "pending": 0, "kept_on_time": 0, "kept_late": 0, "broken": 1, "released": 1}


def test_a_callback_clock_is_due_at_the_promised_time_and_stops_when_the_call_is_made() -> None:
    case = run(opened(at(MONDAY, "09:00")), promised("P1", at(MONDAY, "10:00"), at("2026-11-24", "10:00")),
               made("P1", at("2026-11-24", "09:00"), "no_answer"))
    [callback] = clocks(case, SlaMetric.CALLBACK_PROMISE)
    assert (callback.target_seconds, callback.deadline()) == (8 * HOUR, None)
    assert callback.stop_reason == "callback made (no_answer)"
    assert callback.instant_of(50) == at(MONDAY, "15:00")
    assert callback.standard_seconds == 24 * HOUR  # the default rule's promise standard
    assert [c.stopped_at for c in clocks(case, SlaMetric.FIRST_RESPONSE)] == [None]  # no answer: no contact


def test_changing_the_policy_affects_only_clocks_started_after_its_effective_time() -> None:
    v2 = policy_event(policy_payload(2, at(MONDAY, "12:00"), [rule("v2-fast", resolution=HOUR)]),
                      at(MONDAY, "08:00"))
    early = opened(at(MONDAY, "11:59"))
    state, _ = fold(recorded_from([policy_event(), v2, early]), SlaState())
    [before] = clocks(state.cases[CASE], SlaMetric.RESOLUTION)
    late = make_event("case.opened", occurred_at=at(MONDAY, "12:00"), case_id="CASE-SLA-2", department="loan",
                      channel="web", payload={"case_type": "inquiry", "priority": "normal"})
    state, _ = fold(recorded_from([late], 4), state)
    [after] = [c for c in state.cases["CASE-SLA-2"].clocks if c.metric is SlaMetric.RESOLUTION]
    assert (before.policy_version, before.rule, before.target_seconds) == (1, "default", 40 * HOUR)
    assert (after.policy_version, after.rule, after.target_seconds) == (2, "v2-fast", HOUR)
    assert [c.metric for c in state.cases["CASE-SLA-2"].clocks] == [SlaMetric.RESOLUTION]  # v2 has one target


def test_alert_events_are_deterministic_and_recording_them_marks_their_thresholds() -> None:
    case = run(opened(at(MONDAY, "09:00")))
    [resolution] = clocks(case, SlaMetric.RESOLUTION)
    now = at("2026-11-30", "09:00")
    alerts = alert_events(resolution, now)
    assert [e.event_type for e in alerts] == ["sla.warning_raised", "sla.warning_raised", "sla.breached"]
    assert [e.event_id for e in alerts] == [alert_id_for(resolution.clock_id, p) for p in (50, 75, 100)]
    assert alerts == alert_events(resolution, now)
    breach = alerts[-1]
    assert breach.occurred_at == at("2026-11-27", "18:00") == resolution.deadline()  # 40h: five office days
    assert breach.payload.escalated_to_role == "card_centre-manager"  # type: ignore[attr-defined]
    assert breach.case_id == CASE and breach.source.department == "touchline"
    state, _ = fold(recorded_from([policy_event(), opened(at(MONDAY, "09:00")), *alerts]), SlaState())
    [marked] = clocks(state.cases[CASE], SlaMetric.RESOLUTION)
    assert marked.alerted == {50, 75, 100} and alert_events(marked, now) == []
    assert len(state.alerts) == 3


def test_a_warning_keeps_the_deadline_it_saw_when_the_clock_is_paused_later() -> None:
    start = [opened(at(MONDAY, "09:00"))]
    pause = case_event("case.waiting_on_customer", at("2026-11-26", "09:00"), {"reason": "documents"})
    before = alert_events(clocks(run(*start), SlaMetric.RESOLUTION)[0], at("2026-11-30", "09:00"))[0]
    after = alert_events(clocks(run(*start, pause), SlaMetric.RESOLUTION)[0], at("2026-11-30", "09:00"))[0]
    assert before == after and before.occurred_at == at("2026-11-25", "14:00")
    assert before.payload.deadline_at == at("2026-11-27", "18:00")  # type: ignore[attr-defined]
