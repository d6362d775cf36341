"""Case views and SLA clocks share one definition of a dropped handoff: the policy in force at the handoff."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from contracts.sla import SlaBasis, SlaTarget
from domain.cases import AcceptanceTarget, HandoffCase, acceptance_deadline, fixed_target
from domain.sla.calendar import TWENTY_FOUR_SEVEN
from domain.sla.handoffs import policy_handoff_target
from domain.sla.policy import Policy, PolicyBook
from services.adapters.config import load_calendars, load_policy

pytestmark = pytest.mark.unit
CST = timezone(timedelta(hours=8))
FALLBACK = fixed_target(timedelta(hours=4))


def book_with_later_version(effective: datetime) -> tuple[PolicyBook, Policy]:
    first = Policy(load_policy())
    rules = tuple(
        rule.model_copy(update={"targets": rule.targets.model_copy(
            update={"handoff_acceptance": SlaTarget(seconds=600, basis=SlaBasis.CALENDAR)})})
        if rule.targets.handoff_acceptance is not None else rule
        for rule in first.payload.rules
    )
    second = Policy(first.payload.model_copy(update={"version": first.version + 1, "effective_at": effective,
                                                     "rules": rules}))
    return PolicyBook().adding(first).adding(second), first


def handoff(case_type: str, at: datetime) -> HandoffCase:
    return HandoffCase("CASE-1", case_type, "normal", at)


def test_the_policy_in_force_at_the_handoff_sets_the_target() -> None:
    change = datetime(2026, 12, 1, tzinfo=CST)
    book, first = book_with_later_version(change)
    target = policy_handoff_target(book, FALLBACK)
    before = target("loan", "card_centre", handoff("inquiry", change - timedelta(seconds=1)))
    # config/sla/policy.toml: an inquiry of normal priority falls to the `default` rule, 2 business hours
    assert before == AcceptanceTarget(timedelta(hours=2), business_time=True)
    assert first.effective_at < change
    after = target("loan", "card_centre", handoff("inquiry", change))
    assert after == AcceptanceTarget(timedelta(minutes=10), business_time=False)


def test_a_calendar_time_target_ignores_business_hours() -> None:
    book, _ = book_with_later_version(datetime(2026, 1, 1, tzinfo=CST))
    friday_evening = datetime(2026, 11, 27, 17, 55, tzinfo=CST)
    calendars = load_calendars()
    deadline = acceptance_deadline("loan", "card_centre", handoff("inquiry", friday_evening), friday_evening,
                                   lambda _d: calendars.get("default", TWENTY_FOUR_SEVEN),
                                   policy_handoff_target(book, FALLBACK))
    assert deadline == friday_evening + timedelta(minutes=10)


def test_without_a_policy_the_default_applies() -> None:
    target = policy_handoff_target(PolicyBook(), FALLBACK)
    assert target("loan", "card_centre", handoff("inquiry", datetime(2026, 11, 2, tzinfo=CST))) == \
        AcceptanceTarget(timedelta(hours=4))
