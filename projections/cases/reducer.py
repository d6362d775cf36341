"""Cases reducer: route each recorded event to its case and fold it with the case rules (pure, batch-friendly).

Routing: an event naming a case goes to that case. A contact naming no case (an inbound call, a web request, a
front-desk visit) goes to its customer's most recently opened open case, if the customer has one; the customer is
`key_fn(event.customer)`, the same key as the timeline's. A case's customer is the first one learned from its events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from contracts import CustomerRef, Envelope
from domain.cases import CaseState, apply, is_contact_event, unknown_case
from domain.evolve import evolve as replace
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
    folder = CaseFolder(key_fn, loaded)
    changed = folder.fold(events)
    return {case_id: folder.cases[case_id] for case_id in sorted(changed)}


class CaseFolder:
    """Cases folded batch after batch, with the index of open cases per customer kept up to date.

    `fold` over consecutive batches gives the same cases as `fold` over their concatenation; a rebuild holding
    every case in memory folds the whole log through one folder instead of reloading the cases of each batch.
    """

    _KEYS_LIMIT = 50_000

    def __init__(self, key_fn: KeyFn, cases: Mapping[str, CaseState] | None = None) -> None:
        self._key_fn = key_fn
        self._keys: dict[CustomerRef, str | None] = {}  # key_fn of each distinct reference, worked out once
        self.cases: dict[str, CaseState] = dict(cases or {})
        self._open = _OpenCases(self.cases.values())

    def fold(self, events: Iterable[RecordedEvent]) -> set[str]:
        """Apply events in the given (log) order; return the ids of the cases they changed."""
        cases, open_cases, keys = self.cases, self._open, self._keys
        changed: set[str] = set()
        for recorded in events:
            event = recorded.event
            key = keys.get(event.customer, _UNKNOWN)
            if key is _UNKNOWN:
                key = self._key_fn(event.customer) if event.customer != _NOBODY else None
                if len(keys) >= self._KEYS_LIMIT:
                    keys.clear()
                keys[event.customer] = key
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
        return changed


_NOBODY = CustomerRef()
_UNKNOWN: Any = object()


def _route(event: Envelope, key: str | None, open_cases: _OpenCases) -> str | None:
    if event.case_id is not None:
        return event.case_id
    if key is not None and is_contact_event(event):
        return open_cases.latest(key)
    return None
