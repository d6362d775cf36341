"""Cases reducer: route each recorded event to its case and fold it with the case rules (pure, batch-friendly).

Routing: an event naming a case goes to that case. A contact naming no case (an inbound call, a web request, a
front-desk visit) goes to its customer's most recently opened open case, if the customer has one; the customer is
`key_fn(event.customer)`, the same key as the timeline's. A case's customer is the first one learned from its events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace

from contracts import CustomerRef, Envelope
from domain.cases import CaseState, apply, is_contact_event, unknown_case
from domain.log import RecordedEvent

KeyFn = Callable[[CustomerRef], str | None]


@dataclass(frozen=True, slots=True)
class Needs:
    """The part of the read model a batch may consult: its cases, and the open cases of contacting customers."""

    case_ids: frozenset[str]
    customer_ids: frozenset[str]


def needs(events: Iterable[RecordedEvent], key_fn: KeyFn) -> Needs:
    case_ids: set[str] = set()
    customers: set[str] = set()
    for recorded in events:
        event = recorded.event
        if event.case_id is not None:
            case_ids.add(event.case_id)
        elif is_contact_event(event) and (key := key_fn(event.customer)) is not None:
            customers.add(key)
    return Needs(frozenset(case_ids), frozenset(customers))


class _OpenCases:
    """Open cases per customer, to route contacts that name no case."""

    def __init__(self, cases: Iterable[CaseState]) -> None:
        self._by_customer: dict[str, dict[str, int]] = {}
        for state in cases:
            self.add(state)

    def add(self, state: CaseState) -> None:
        if state.is_open and state.customer_id is not None:
            self._by_customer.setdefault(state.customer_id, {})[state.case_id] = state.opened_position

    def remove(self, state: CaseState) -> None:
        if state.customer_id is not None:
            self._by_customer.get(state.customer_id, {}).pop(state.case_id, None)

    def latest(self, customer_id: str) -> str | None:
        """The customer's open case opened last (by log position), if any."""
        cases = self._by_customer.get(customer_id)
        return max(cases, key=lambda case_id: (cases[case_id], case_id)) if cases else None


def fold(events: Iterable[RecordedEvent], key_fn: KeyFn, loaded: Mapping[str, CaseState]) -> dict[str, CaseState]:
    """Apply events in the given (log) order to the loaded cases; return the cases that changed, by id."""
    cases = dict(loaded)
    open_cases = _OpenCases(cases.values())
    changed: set[str] = set()
    for recorded in events:
        event = recorded.event
        key = key_fn(event.customer) if event.customer != _NOBODY else None
        case_id = _route(event, key, open_cases)
        if case_id is None:
            continue
        before = cases.get(case_id) or unknown_case(case_id)
        after, _ = apply(before, recorded)
        if after is before:
            continue
        if after.customer_id is None and key is not None:
            after = replace(after, customer_id=key)
        open_cases.remove(before)
        open_cases.add(after)
        cases[case_id] = after
        changed.add(case_id)
    return {case_id: cases[case_id] for case_id in sorted(changed)}


_NOBODY = CustomerRef()


def _route(event: Envelope, key: str | None, open_cases: _OpenCases) -> str | None:
    if event.case_id is not None:
        return event.case_id
    if key is not None and is_contact_event(event):
        return open_cases.latest(key)
    return None
