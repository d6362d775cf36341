"""Cases reducer: route each recorded event to its case and fold it with the case rules (pure, batch-friendly).

Routing: an event naming a case goes to that case. A contact naming no case (an inbound call, a web request, a
front-desk visit) goes to its customer's most recently opened open case, if the customer has one; the customer is
`key_fn(event.customer)`, the same key as the timeline's, or any weaker identifier the contact carries with it (a
visit with national ID and phone reaches the case opened by phone: `filed_under`). A case's customer is the first
one learned from its events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from contracts import CustomerRef, Envelope
from domain.cases import CaseState, apply, is_contact_event, unknown_case
from domain.evolve import evolve as replace
from domain.identity.identifiers import customer_id_for, identifiers_of
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
        elif is_contact_event(event):
            customers.update(filed_under(event.customer, key_fn(event.customer)))
    return Needs(frozenset(case_ids), frozenset(customers))


def filed_under(customer: CustomerRef, key: str | None) -> tuple[str, ...]:
    """The keys a contact's open cases may be filed under: its key, then every other identifier it carries."""
    if key is None:
        return ()
    others = (customer_id_for(found) for found in identifiers_of(customer))
    return (key, *(other for other in others if other != key))


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
        if state.customer_id is not None and (held := self._by_customer.get(state.customer_id)) is not None:
            held.pop(state.case_id, None)
            if not held:
                del self._by_customer[state.customer_id]

    def latest(self, customer_ids: tuple[str, ...]) -> str | None:
        """The open case opened last (by log position) filed under any of `customer_ids`, if any."""
        found = {case_id: position for customer_id in customer_ids
                 for case_id, position in self._by_customer.get(customer_id, {}).items()}
        return max(found, key=lambda case_id: (found[case_id], case_id)) if found else None


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

    _KEYS_LIMIT = 16_384  # references remembered (as the memos of domain.identity.identifiers): about 1 KB each

    def __init__(self, key_fn: KeyFn, cases: Mapping[str, CaseState] | None = None) -> None:
        self._key_fn = key_fn
        self._keys: dict[CustomerRef, tuple[str, ...]] = {}  # filed_under of each distinct reference, once
        self.cases: dict[str, CaseState] = dict(cases or {})
        self._open = _OpenCases(self.cases.values())

    def hold(self, cases: Mapping[str, CaseState]) -> None:
        """Take up cases read back from a store (none of them held)."""
        for case_id, state in cases.items():
            self.cases[case_id] = state
            self._open.add(state)

    def forget(self, case_ids: Iterable[str]) -> None:
        """Let go of held cases (a store keeps them); a later fold needs them taken up again (`hold`)."""
        for case_id in case_ids:
            self._open.remove(self.cases.pop(case_id))

    def fold(self, events: Iterable[RecordedEvent]) -> set[str]:
        """Apply events in the given (log) order; return the ids of the cases they changed."""
        cases, open_cases, keys = self.cases, self._open, self._keys
        changed: set[str] = set()
        for recorded in events:
            event = recorded.event
            filed = keys.get(event.customer, _UNKNOWN)
            if filed is _UNKNOWN:
                key = self._key_fn(event.customer) if event.customer != _NOBODY else None
                filed = filed_under(event.customer, key)
                if len(keys) >= self._KEYS_LIMIT:
                    keys.clear()
                keys[event.customer] = filed
            key = filed[0] if filed else None
            case_id = _route(event, filed, open_cases)
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


def _route(event: Envelope, filed: tuple[str, ...], open_cases: _OpenCases) -> str | None:
    if event.case_id is not None:
        return event.case_id
    if filed and is_contact_event(event):
        return open_cases.latest(filed)
    return None
