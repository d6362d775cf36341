"""Customer segments from configuration: ordered rules over a customer's facts; the first rule that holds wins."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.instants import DAY_US, epoch_us


@dataclass(frozen=True, slots=True)
class SegmentFacts:
    """What segment rules may look at: segments touchpoints declared, first contact, contacts in the last year."""

    declared: frozenset[str]
    first_contact_us: int | None
    contacts_365d: int


@dataclass(frozen=True, slots=True)
class SegmentRule:
    """A named segment and its conditions (all must hold; a rule without conditions always holds)."""

    name: str
    declared: frozenset[str] = frozenset()
    first_contact_within_days: int | None = None
    min_contacts_365d: int | None = None

    def holds(self, facts: SegmentFacts, now_us: int) -> bool:
        if self.declared and not (self.declared & {d.casefold() for d in facts.declared}):
            return False
        if self.first_contact_within_days is not None and (
            facts.first_contact_us is None or now_us - facts.first_contact_us > self.first_contact_within_days * DAY_US
        ):
            return False
        return self.min_contacts_365d is None or facts.contacts_365d >= self.min_contacts_365d

    def describe(self) -> str:
        parts = []
        if self.declared:
            parts.append(f"declared {' or '.join(sorted(self.declared))}")
        if self.first_contact_within_days is not None:
            parts.append(f"first contact within {self.first_contact_within_days} days")
        if self.min_contacts_365d is not None:
            parts.append(f"at least {self.min_contacts_365d} contacts in 365 days")
        return " and ".join(parts) or "default"


def segment_of(rules: Sequence[SegmentRule], facts: SegmentFacts, now: datetime) -> SegmentRule | None:
    """The first rule that holds at `now`, or None when no rule does."""
    now_us = epoch_us(now)
    return next((rule for rule in rules if rule.holds(facts, now_us)), None)


def parse_rules(entries: Iterable[Mapping[str, Any]]) -> tuple[SegmentRule, ...]:
    """Rules from configuration entries (`name`, optional `declared`, `first_contact_within_days`,
    `min_contacts_365d`); unknown keys are refused so a typo does not silently widen a segment."""
    known = {"name", "declared", "first_contact_within_days", "min_contacts_365d"}
    rules = []
    for entry in entries:
        unknown = sorted(set(entry) - known)
        if unknown or not entry.get("name"):
            raise ValueError(f"segment rule {entry.get('name')!r}: needs a name; unknown keys {unknown}")
        rules.append(SegmentRule(
            name=str(entry["name"]),
            declared=frozenset(str(d).casefold() for d in entry.get("declared", ())),
            first_contact_within_days=_optional_int(entry, "first_contact_within_days"),
            min_contacts_365d=_optional_int(entry, "min_contacts_365d"),
        ))
    return tuple(rules)


def _optional_int(entry: Mapping[str, Any], key: str) -> int | None:
    value = entry.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or value < 0:
        raise ValueError(f"segment rule {entry.get('name')!r}: {key} must be a non-negative integer")
    return value
