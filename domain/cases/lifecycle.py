"""The lifecycle of a case, one fold for the case rules and the SLA clocks: where each lifecycle fact takes a case
(open, waiting on the customer, resolved) and which rule, if any, it breaks on the way.

The two apply it differently, on purpose: the case read model keeps a case as it was when a fact breaks a rule and
records an anomaly; SLA clocks follow the facts as recorded (a case resolved and then set waiting waits). Opening
is not a move here: the case rules start a case from its first event, the SLA tracker from `case.opened` alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from contracts import CaseCustomerResponded, CaseReopened, CaseResolved, CaseWaitingOnCustomer, Envelope
from domain.cases.model import AnomalyKind, CaseStatus


@dataclass(frozen=True, slots=True)
class Move:
    """Where a lifecycle fact takes a case (`to`; None: a case not opened yet stays so) and the rule it breaks."""

    to: CaseStatus | None
    breaks: AnomalyKind | None = None


def move(status: CaseStatus | None, event: Envelope) -> Move | None:
    """The move `event` makes from `status` (None: the case is not opened yet); None when it is no lifecycle move."""
    step = _MOVES.get(type(event))
    return step(status) if step is not None else None


def _waiting(status: CaseStatus | None) -> Move:
    broken = AnomalyKind.CHANGE_ON_RESOLVED_CASE if status is CaseStatus.RESOLVED else None
    return Move(CaseStatus.WAITING_ON_CUSTOMER, broken)


def _responded(status: CaseStatus | None) -> Move:
    """An answer ends a wait; a response nobody waited for moves nothing (it may be a repeat contact)."""
    return Move(CaseStatus.OPEN if status is CaseStatus.WAITING_ON_CUSTOMER else status)


def _resolved(status: CaseStatus | None) -> Move:
    return Move(CaseStatus.RESOLVED, AnomalyKind.RESOLVED_TWICE if status is CaseStatus.RESOLVED else None)


def _reopened(status: CaseStatus | None) -> Move:
    if status is CaseStatus.RESOLVED:
        return Move(CaseStatus.OPEN)
    return Move(status, AnomalyKind.REOPENED_WHILE_OPEN)


_MOVES: dict[type[Envelope], Callable[[CaseStatus | None], Move]] = {
    CaseWaitingOnCustomer: _waiting,
    CaseCustomerResponded: _responded,
    CaseResolved: _resolved,
    CaseReopened: _reopened,
}
