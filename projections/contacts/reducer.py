"""Contacts reducer: each recorded event the quality measures read becomes one fact, under its anchor (pure).

The state is the facts by log position; a fact never changes once written, so a batch only adds rows and a
rebuild from zero writes the same rows as the live projector did.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from contracts import CustomerRef
from domain.log import RecordedEvent
from domain.quality.facts import Fact, fact_of

KeyFn = Callable[[CustomerRef], str | None]

COLUMNS = ("position", "event_id", "kind", "occurred_us", "anchor", "case_id", "channel", "department", "agent",
           "contact", "detail", "due_us", "gap")


def fold(state: Mapping[int, Fact], events: Iterable[RecordedEvent], key_fn: KeyFn) -> dict[int, Fact]:
    """The facts of `events` past the state, by position (the new ones only: facts are never rewritten)."""
    added: dict[int, Fact] = {}
    for recorded in events:
        if recorded.position in state:
            continue
        event = recorded.event
        anchor = key_fn(event.customer) if event.CONCERNS_A_CUSTOMER else None
        fact = fact_of(recorded, anchor)
        if fact is not None:
            added[recorded.position] = fact
    return added


def fact_row(fact: Fact) -> dict[str, Any]:
    """The stored row of a fact: the same dictionary in every store (the checksum's input)."""
    return {name: getattr(fact, name) for name in COLUMNS}


def row_fact(row: Mapping[Any, Any]) -> Fact:
    return Fact(**{name: row[name] for name in COLUMNS})
