"""Case rules: given a case's events, when folded, then holder, status, handoffs, contacts and anomalies."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import pytest

from contracts import Envelope
from domain.cases import (
    AnomalyKind,
    CaseState,
    CaseStatus,
    HandoffOutcome,
    apply,
    bounced,
    unknown_case,
)
from domain.log import RecordedEvent
from tests.support.case_events import CASE, T0, accepted, ev, handed, opened

pytestmark = pytest.mark.unit

def fold(events: Iterable[Envelope]) -> tuple[CaseState, list[AnomalyKind]]:
    state = unknown_case(CASE)
    kinds: list[AnomalyKind] = []
    for position, event in enumerate(events, start=1):
        state, found = apply(state, RecordedEvent(position, event))
        kinds.extend(a.kind for a in found)
    return state, kinds


def test_the_opener_holds_the_case_until_a_receiver_accepts() -> None:
    handoff = handed(5, "loan", "card_centre")

    pending, _ = fold([opened(), handoff])
    state, kinds = fold([opened(), handoff, accepted(50, "card_centre", handoff)])

    assert (pending.holder, pending.pending and pending.pending.to_department) == ("loan", "card_centre")
    assert (state.holder, state.pending, kinds) == ("card_centre", None, [])
    assert [(s.department, s.began_by, s.ended_at) for s in state.stints] == [
        ("loan", "opened", T0 + timedelta(minutes=50)), ("card_centre", "accepted", None)]
    (done,) = state.handoffs
    assert (done.outcome, done.accepted_at, done.ended_at) == (
        HandoffOutcome.ACCEPTED, T0 + timedelta(minutes=50), T0 + timedelta(minutes=50))
    assert state.path == ("loan", "card_centre")


def test_an_acceptance_without_an_id_takes_the_pending_handoff() -> None:
    state, kinds = fold([opened(), handed(5, "loan", "card_centre"), accepted(9, "card_centre")])

    assert (state.holder, state.handoffs[0].outcome, kinds) == ("card_centre", HandoffOutcome.ACCEPTED, [])


def test_a_redirect_before_acceptance_supersedes_the_pending_handoff() -> None:
    state, kinds = fold([opened(), handed(5, "loan", "card_centre"), handed(20, "loan", "approval_office")])

    assert [(h.to_department, h.outcome, h.ended_at) for h in state.handoffs] == [
        ("card_centre", HandoffOutcome.SUPERSEDED, T0 + timedelta(minutes=20)),
        ("approval_office", HandoffOutcome.PENDING, None)]
    assert (state.holder, kinds) == ("loan", [])


def test_a_return_to_a_department_already_left_is_counted_and_a_straight_bounce_is_marked() -> None:
    a_b = handed(1, "loan", "card_centre")
    b_a = handed(3, "card_centre", "loan")
    a_c = handed(5, "loan", "approval_office")
    c_b = handed(7, "approval_office", "card_centre")
    state, kinds = fold([opened(), a_b, accepted(2, "card_centre"), b_a, accepted(4, "loan"), a_c,
                         accepted(6, "approval_office"), c_b])

    assert state.path == ("loan", "card_centre", "loan", "approval_office", "card_centre")
    assert [h.returned for h in state.handoffs] == [False, True, False, True]
    assert (state.returns, bounced(state.handoffs), kinds) == (2, frozenset({1}), [])


def test_resolution_closes_the_pending_handoff_and_the_stint_and_reopening_starts_a_new_one() -> None:
    state, kinds = fold([opened(), handed(5, "loan", "card_centre"), ev("case.resolved", 30, resolution="done"),
                         ev("case.reopened", 90, reason="card does not work")])

    assert (state.status, state.reopened, kinds) == (CaseStatus.OPEN, 1, [])
    assert state.handoffs[0].outcome is HandoffOutcome.CLOSED
    assert [(s.began_by, s.ended_at) for s in state.stints] == [
        ("opened", T0 + timedelta(minutes=30)), ("reopened", None)]


def test_waiting_on_the_customer_ends_with_their_answer_which_is_kept_as_context() -> None:
    state, _ = fold([opened(), ev("case.waiting_on_customer", 5, reason="proof of address"),
                     ev("case.customer_responded", 60, "loan", note="bill attached")])

    assert state.status is CaseStatus.OPEN
    assert [(s.kind, s.text) for s in state.statements][-1] == ("response", "bill attached")
    assert state.contacts == ()  # an answer to our question is not a repeat contact


def test_repeat_contacts_are_the_customer_reaching_out_while_the_case_is_open() -> None:
    outbound = ev("call.received", 20, "card_centre", call_id="c-out", direction="outbound", answered_by="agent")
    state, _ = fold([
        ev("call.received", -5, "loan", call_id="c-0", direction="inbound", answered_by="agent"),  # before opening
        opened(),
        ev("call.received", 10, "card_centre", call_id="c-1", direction="inbound", answered_by="agent"),
        outbound,
        ev("web.request_submitted", 30, "web", request_id="w-1", form="contact-us", subject="again",
           body="third time I write this"),
        ev("case.customer_responded", 40, note="me again, nobody called back"),  # nobody was waiting
        ev("case.resolved", 50, resolution="done"),
        ev("call.received", 70, "card_centre", call_id="c-2", direction="inbound", answered_by="agent"),
    ])

    assert [(c.event_type, c.channel, c.department, c.via) for c in state.contacts] == [
        ("call.received", "phone", "card_centre", "case"),
        ("web.request_submitted", "web", "web", "case"),
        ("case.customer_responded", "internal", "loan", "case"),
    ]
    assert ("web_request", "again: third time I write this") in [(s.kind, s.text) for s in state.statements]


def test_promises_are_kept_by_a_callback_made_and_identifiers_given_are_remembered() -> None:
    state, _ = fold([
        opened(),
        ev("callback.promised", 5, promise_id="P-1", due_at=(T0 + timedelta(hours=2)).isoformat(), reason="check"),
        ev("callback.promised", 6, promise_id="P-2", due_at=(T0 + timedelta(hours=3)).isoformat(), reason="again"),
        ev("callback.made", 100, promise_id="P-1", outcome="reached"),
    ])

    assert [(p.promise_id, p.made_at, p.outcome) for p in state.promises] == [
        ("P-1", T0 + timedelta(minutes=100), "reached"), ("P-2", None, None)]
    assert [(g.kind, g.value) for g in state.given] == [("customer_number", "C-1"), ("phone", "+8613800138000")]


# Anomalies: recorded on the case, never refused.

def test_a_handoff_from_a_department_that_does_not_hold_the_case_is_applied_and_flagged() -> None:
    forwarded = handed(10, "card_centre", "approval_office")  # card centre never accepted it
    state, kinds = fold([opened(), handed(5, "loan", "card_centre"), forwarded])

    assert kinds == [AnomalyKind.HANDOFF_FROM_NON_HOLDER]
    assert [h.outcome for h in state.handoffs] == [HandoffOutcome.SUPERSEDED, HandoffOutcome.PENDING]
    assert state.holder == "loan"
    (anomaly,) = state.anomalies
    assert (anomaly.position, anomaly.event_id, anomaly.detail) == (
        3, str(forwarded.event_id), "handed off by card_centre, but loan holds the case")


def test_a_resolved_case_handed_off_is_applied_and_flagged() -> None:
    state, kinds = fold([opened(), ev("case.resolved", 5, resolution="done"), handed(10, "loan", "card_centre"),
                         accepted(20, "card_centre")])

    assert kinds == [AnomalyKind.HANDOFF_OF_RESOLVED_CASE]
    assert (state.status, state.holder) == (CaseStatus.RESOLVED, "card_centre")
    assert [s.department for s in state.stints] == ["loan"]  # no time accrues on a resolved case


@pytest.mark.parametrize(("events", "kind"), [
    pytest.param(lambda: [opened(), accepted(5, "card_centre")], AnomalyKind.ACCEPTANCE_WITHOUT_HANDOFF,
                 id="nothing pending"),
    pytest.param(lambda: [opened(), handed(1, "loan", "card_centre"), accepted(5, "approval_office")],
                 AnomalyKind.ACCEPTANCE_BY_OTHER_DEPARTMENT, id="other department"),
    pytest.param(lambda: [opened(), handed(1, "loan", "card_centre"), accepted(2, "card_centre"),
                          ev("case.handoff_accepted", 5, "card_centre", department="card_centre",
                             handoff_event_id="00000000-0000-4000-8000-000000000000")],
                 AnomalyKind.ACCEPTANCE_WITHOUT_HANDOFF, id="unknown handoff id"),
])
def test_acceptances_that_break_the_rules_change_nothing_but_are_recorded(events: Any, kind: AnomalyKind) -> None:
    listed = events()
    before, _ = fold(listed[:-1])
    state, kinds = fold(listed)

    assert kinds == [kind]
    assert (state.holder, state.handoffs, state.stints) == (before.holder, before.handoffs, before.stints)


def test_accepting_a_handoff_that_already_ended_is_flagged() -> None:
    first = handed(1, "loan", "card_centre")
    state, kinds = fold([opened(), first, handed(2, "loan", "approval_office"), accepted(5, "card_centre", first)])

    assert kinds == [AnomalyKind.ACCEPTANCE_OF_ENDED_HANDOFF]
    assert state.holder == "loan"


def test_a_case_seen_first_through_another_event_is_implied_then_completed_by_its_opening() -> None:
    implied, kinds = fold([handed(5, "loan", "card_centre")])
    state, later = fold([handed(5, "loan", "card_centre"), opened(10)])

    assert kinds == [AnomalyKind.NOT_OPENED]
    assert (implied.known, implied.opened, implied.holder, implied.opened_at) == (
        True, False, "loan", T0 + timedelta(minutes=5))
    assert (state.opened, state.subject, later) == (True, "card never arrived", [AnomalyKind.NOT_OPENED])


@pytest.mark.parametrize(("tail", "kind"), [
    ([opened(1)], AnomalyKind.OPENED_TWICE),
    ([ev("case.resolved", 1, resolution="a"), ev("case.resolved", 2, resolution="b")], AnomalyKind.RESOLVED_TWICE),
    ([ev("case.reopened", 1, reason="why")], AnomalyKind.REOPENED_WHILE_OPEN),
    ([ev("case.resolved", 1, resolution="a"), ev("case.waiting_on_customer", 2, reason="x")],
     AnomalyKind.CHANGE_ON_RESOLVED_CASE),
    ([ev("case.resolved", 1, resolution="a"),
      ev("case.escalated", 2, from_type="inquiry", to_type="complaint", reason="x")],
     AnomalyKind.CHANGE_ON_RESOLVED_CASE),
    ([handed(30, "loan", "card_centre"), accepted(20, "card_centre")], AnomalyKind.OUT_OF_ORDER),
])
def test_other_rule_breaking_facts_are_anomalies(tail: list[Envelope], kind: AnomalyKind) -> None:
    state, kinds = fold([opened(), *tail])

    assert kinds == [kind]
    assert [a.kind for a in state.anomalies] == [kind]


def test_events_of_unknown_cases_that_are_not_case_events_create_nothing() -> None:
    state, kinds = fold([ev("callback.promised", 0, promise_id="P", due_at=T0.isoformat(), reason="r")])

    assert (state, kinds) == (unknown_case(CASE), [])
