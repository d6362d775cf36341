"""The case across departments: who owns it, where it was handed, what the customer already said, gave and was
promised (frozen values only; the rules that change them are in `domain.cases.rules`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class CaseStatus(StrEnum):
    """Where a case stands in its lifecycle."""

    OPEN = "open"
    WAITING_ON_CUSTOMER = "waiting_on_customer"
    RESOLVED = "resolved"


class HandoffOutcome(StrEnum):
    """How a handoff stopped waiting for the receiving department (PENDING while it still waits)."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    SUPERSEDED = "superseded"  # the case was handed off again before anyone accepted this one
    CLOSED = "closed"  # the case was resolved before anyone accepted this one


class AnomalyKind(StrEnum):
    """A recorded fact that breaks a case rule; it is kept and shown, never refused."""

    NOT_OPENED = "not_opened"  # the first event of a case is not case.opened
    OPENED_TWICE = "opened_twice"
    HANDOFF_FROM_NON_HOLDER = "handoff_from_non_holder"
    HANDOFF_OF_RESOLVED_CASE = "handoff_of_resolved_case"
    ACCEPTANCE_WITHOUT_HANDOFF = "acceptance_without_handoff"  # nothing pending, or an unknown handoff id
    ACCEPTANCE_BY_OTHER_DEPARTMENT = "acceptance_by_other_department"
    ACCEPTANCE_OF_ENDED_HANDOFF = "acceptance_of_ended_handoff"
    RESOLVED_TWICE = "resolved_twice"
    REOPENED_WHILE_OPEN = "reopened_while_open"
    CHANGE_ON_RESOLVED_CASE = "change_on_resolved_case"  # waiting on the customer or escalated once resolved
    OUT_OF_ORDER = "out_of_order"  # a lifecycle event that occurred before the case's previous one


@dataclass(frozen=True, slots=True)
class Anomaly:
    """A rule-breaking fact: which event, what rule, in words."""

    position: int
    event_id: str
    event_type: str
    kind: AnomalyKind
    detail: str


@dataclass(frozen=True, slots=True)
class Handoff:
    """One handoff of the case and, once it stops waiting, how and when (`ended_at`)."""

    seq: int  # 1-based order among the case's handoffs
    position: int
    event_id: str
    from_department: str
    to_department: str
    reason: str
    context_summary: str
    handed_at: datetime
    case_type: str  # the case's type and priority when it was handed off (what a target may depend on)
    priority: str
    returned: bool  # to_department had the case before: the case came back (A -> B -> A)
    outcome: HandoffOutcome = HandoffOutcome.PENDING
    ended_at: datetime | None = None
    accepted_at: datetime | None = None
    accepted_by: str | None = None  # the agent, when the acceptance names one

    @property
    def pending(self) -> bool:
        return self.outcome is HandoffOutcome.PENDING


@dataclass(frozen=True, slots=True)
class Stint:
    """A period in which one department owned the open case (ends at a transfer of ownership or resolution)."""

    department: str
    started_at: datetime
    began_by: str  # "opened", "accepted" or "reopened"
    ended_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Promise:
    """A callback promised on the case and, once made, when and with what outcome."""

    promise_id: str
    department: str
    promised_at: datetime
    due_at: datetime
    reason: str
    made_at: datetime | None = None
    outcome: str | None = None


@dataclass(frozen=True, slots=True)
class Contact:
    """The customer contacting the organisation again while the case was open (a repeat contact)."""

    position: int
    event_id: str
    event_type: str
    occurred_at: datetime
    channel: str
    department: str  # the department the customer reached
    holder: str  # the department owning the case at that moment
    via: str  # "case": the event named the case; "customer": matched by the customer's key


@dataclass(frozen=True, slots=True)
class Statement:
    """Something the customer said, or an agent wrote down about the case, in the words recorded."""

    occurred_at: datetime
    department: str
    channel: str
    kind: str  # "description", "note", "internal_note", "response", "web_request", "complaint", "visit"
    text: str


@dataclass(frozen=True, slots=True)
class Given:
    """An identifier the customer already gave (national IDs only masked), so nobody asks for it again."""

    kind: str
    value: str
    first_at: datetime


@dataclass(frozen=True, slots=True)
class CaseState:
    """Everything the case rules know about one case, derived only from its events."""

    case_id: str
    opened: bool = False  # a case.opened was seen (False for a case implied by other events)
    known: bool = False  # any event of the case was seen
    customer_id: str | None = None
    status: CaseStatus = CaseStatus.OPEN
    holder: str = ""  # the department owning the case: the opener, then the last department to accept it
    opened_by: str = ""  # the first holder
    opened_at: datetime | None = None
    opened_position: int = 0
    last_at: datetime | None = None  # latest occurrence time among its lifecycle events
    last_position: int = 0
    case_type: str = ""
    priority: str = ""
    subject: str = ""
    escalation_level: int = 0
    resolved_at: datetime | None = None
    reopened: int = 0
    handoffs: tuple[Handoff, ...] = ()
    stints: tuple[Stint, ...] = ()
    promises: tuple[Promise, ...] = ()
    contacts: tuple[Contact, ...] = ()
    statements: tuple[Statement, ...] = ()
    given: tuple[Given, ...] = ()
    anomalies: tuple[Anomaly, ...] = ()

    @property
    def is_open(self) -> bool:
        return self.known and self.status is not CaseStatus.RESOLVED

    @property
    def pending(self) -> Handoff | None:
        """The handoff waiting for its receiving department, if any (at most one)."""
        last = self.handoffs[-1] if self.handoffs else None
        return last if last is not None and last.pending else None

    @property
    def path(self) -> tuple[str, ...]:
        """Departments in the order the case travelled: the first holder, then each handoff's receiver."""
        return (self.opened_by, *(h.to_department for h in self.handoffs)) if self.known else ()

    @property
    def returns(self) -> int:
        """How many handoffs brought the case back to a department it had already been at."""
        return sum(1 for h in self.handoffs if h.returned)


def bounced(handoffs: tuple[Handoff, ...]) -> frozenset[int]:
    """Seqs of the handoffs A -> B that the next handoff sent straight back to A."""
    return frozenset(h.seq for h, after in zip(handoffs, handoffs[1:], strict=False)
                     if after.to_department == h.from_department)


def unknown_case(case_id: str) -> CaseState:
    """The state of a case no event has been seen for."""
    return CaseState(case_id=case_id)
