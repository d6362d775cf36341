"""The handoff-acceptance target of the SLA policies, for the case views' dropped handoffs: one definition of
"not accepted in time" for SLA clocks and case views alike."""

from __future__ import annotations

from datetime import timedelta

from contracts.sla import SlaBasis, SlaMetric
from domain.cases.timing import AcceptanceTarget, HandoffCase, HandoffTarget
from domain.sla.policy import ClockContext, PolicyBook


def policy_handoff_target(book: PolicyBook, fallback: HandoffTarget) -> HandoffTarget:
    """The target of the policy in force at each handoff instant, selected like the SLA clock of that handoff
    (receiving department, case type, priority); `fallback` where no policy or rule names one."""

    def handoff_target(from_department: str, to_department: str, case: HandoffCase) -> AcceptanceTarget:
        policy = book.in_force(case.handed_at)
        context = ClockContext(department=to_department, case_type=case.case_type, priority=case.priority)
        selection = policy.select(SlaMetric.HANDOFF_ACCEPTANCE, context) if policy is not None else None
        if selection is None:
            return fallback(from_department, to_department, case)
        target = selection.target
        return AcceptanceTarget(timedelta(seconds=target.seconds), target.basis is SlaBasis.BUSINESS)

    return handoff_target
