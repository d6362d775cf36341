"""Cases as the quality measures see them: each case's opening touchpoint and what happened to it (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from domain.quality.facts import RESPONSE_TYPES, Fact, Resolve, customer_of


@dataclass(slots=True)
class CaseFacts:
    """A case opened by a `case.opened` event: where (channel, department, agent) and for whom, then the times
    of its first resolution, reopens, handoffs, first response, and its complaints, breaches and surveys."""

    case_id: str
    customer: str | None
    opened_us: int
    channel: str
    department: str
    agent: str | None
    resolved_us: int | None = None
    first_response_us: int | None = None
    reopened_us: list[int] = field(default_factory=list)
    handoffs: list[tuple[int, str, str]] = field(default_factory=list)  # (when, from department, to department)
    complaints: list[int] = field(default_factory=list)
    breaches: list[tuple[int, str, str]] = field(default_factory=list)  # (when, metric, department)
    gaps: list[int] = field(default_factory=list)  # survey gaps × 10 000


def cases_of(facts: Iterable[Fact], resolve: Resolve) -> dict[str, CaseFacts]:
    """The cases opened in `facts` (in log order), by id; events of a case never opened are left out."""
    cases: dict[str, CaseFacts] = {}
    for fact in facts:
        add_fact(cases, fact, resolve)
    return cases


def add_fact(cases: dict[str, CaseFacts], fact: Fact, resolve: Resolve) -> CaseFacts | None:
    """Fold one fact (the next in log order) into `cases`; the case it opened or changed, else None."""
    if fact.case_id is None:
        return None
    case = cases.get(fact.case_id)
    if fact.kind == "case.opened" and case is None:
        case = cases[fact.case_id] = CaseFacts(fact.case_id, customer_of(fact, resolve), fact.occurred_us,
                                               fact.channel, fact.department, fact.agent)
    elif case is not None:
        _add(case, fact)
    return case


def _add(case: CaseFacts, fact: Fact) -> None:
    at = fact.occurred_us
    if fact.kind == "case.resolved" and case.resolved_us is None:
        case.resolved_us = at
    elif fact.kind == "case.reopened":
        case.reopened_us.append(at)
    elif fact.kind == "case.handed_off":
        case.handoffs.append((at, fact.department, fact.detail or ""))
    elif fact.kind == "complaint.filed":
        case.complaints.append(at)
    elif fact.kind == "sla.breached":
        case.breaches.append((at, fact.detail or "", fact.department))
    elif fact.kind == "survey.servqual_answered" and fact.gap is not None:
        case.gaps.append(fact.gap)
    if case.first_response_us is None and _responds(fact):
        case.first_response_us = at


def _responds(fact: Fact) -> bool:
    return fact.kind in RESPONSE_TYPES and (fact.kind != "case.note_added" or fact.detail == "customer")
