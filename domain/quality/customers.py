"""Customers as the quality measures see them: their contacts, declared segments and segment now (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from domain.cases.context import CONTACT_EVENTS
from domain.identity.segments import SegmentFacts, SegmentRule, segment_of
from domain.instants import DAY_US, epoch_us
from domain.quality.facts import TOUCH_TYPES, Fact, Resolve, customer_of

CONTACT_KINDS = frozenset(cls.type_key()[0] for cls in CONTACT_EVENTS)


@dataclass(slots=True)
class CustomerFacts:
    """One resolved customer: facts in log order, the touches among them, declared segments."""

    customer_id: str
    facts: list[Fact] = field(default_factory=list)
    touches: list[Fact] = field(default_factory=list)
    declared: set[str] = field(default_factory=set)

    def add(self, fact: Fact) -> None:
        """The customer's next fact in log order."""
        self.facts.append(fact)
        if fact.kind in TOUCH_TYPES:
            self.touches.append(fact)
        if fact.kind == "case.opened" and fact.detail:
            self.declared.add(fact.detail)


def customers_of(facts: Iterable[Fact], resolve: Resolve) -> dict[str, CustomerFacts]:
    """The customers named by `facts` (in log order), by resolved customer id."""
    found: dict[str, CustomerFacts] = {}
    for fact in facts:
        customer = customer_of(fact, resolve)
        if customer is None:
            continue
        found.setdefault(customer, CustomerFacts(customer)).add(fact)
    return found


def segment_name(rules: Sequence[SegmentRule], customer: CustomerFacts, now: datetime) -> str | None:
    """The customer's segment at `now` by the configured rules, as the context card names it: declared segments,
    the first fact's time, and contacts (calls, web requests, visits) in the 365 days up to `now`."""
    now_us = epoch_us(now)
    contacts = sum(1 for f in customer.facts if f.kind in CONTACT_KINDS and now_us - f.occurred_us <= 365 * DAY_US)
    first = min((f.occurred_us for f in customer.facts), default=None)
    rule = segment_of(rules, SegmentFacts(frozenset(customer.declared), first, contacts), now)
    return rule.name if rule is not None else None
