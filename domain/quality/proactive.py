"""Proactive contact ("zero complaints is scary"): customers of watched segments whose silence has outgrown their
own contact rhythm (pure, as of an injected `now`).

A customer's rhythm is the median gap between consecutive touches (nearest rank, so the lower middle gap of an
even count); they are due for a proactive contact once the silence since their last touch reaches
max(`multiple` × median gap, `min_days` days). Customers with fewer than `min_gaps` gaps have no rhythm yet and
are not listed. Any touch (either side starting it) ends the silence.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from domain.identity.segments import SegmentRule
from domain.instants import DAY_US, epoch_us
from domain.instants import from_epoch_us as instant
from domain.percentile import nearest_rank
from domain.quality.customers import CustomerFacts, segment_name
from domain.quality.facts import Fact


@dataclass(frozen=True, slots=True)
class Rhythm:
    """How long a segment's customer may stay silent: `multiple` × their median gap, at least `min_days`."""

    multiple: float = 3.0
    min_days: int = 30
    min_gaps: int = 2

    def __post_init__(self) -> None:
        if self.multiple <= 0 or self.min_days < 0 or self.min_gaps < 1:
            raise ValueError("a rhythm needs multiple > 0, min_days >= 0 and min_gaps >= 1")


@dataclass(frozen=True, slots=True)
class ProactiveConfig:
    """The watched segments and each one's rhythm (segments not named here are never listed)."""

    rhythms: tuple[tuple[str, Rhythm], ...] = (("key_account", Rhythm()),)
    last_contacts: int = 3  # how many of the last touches to show

    def rhythm_for(self, segment: str | None) -> Rhythm | None:
        return next((rhythm for name, rhythm in self.rhythms if name == segment), None)


@dataclass(frozen=True, slots=True)
class Due:
    """A customer to contact: since when (`due_at`), their rhythm, their last touches, and their owner."""

    customer_id: str
    segment: str
    owner: str | None
    median_gap_days: float
    silence_days: float
    last_contact_at: datetime
    due_at: datetime
    last_contacts: tuple[Fact, ...]


def due_at_us(touches: Sequence[int], rhythm: Rhythm) -> tuple[int, int] | None:
    """(median gap, when silence after the last of `touches` (sorted µs) reaches the threshold), in µs; None
    while there are fewer than `min_gaps` gaps."""
    gaps = [b - a for a, b in zip(touches, touches[1:], strict=False)]
    median = nearest_rank(gaps, 50)
    if len(gaps) < rhythm.min_gaps or median is None:
        return None
    return int(median), touches[-1] + max(round(rhythm.multiple * median), rhythm.min_days * DAY_US)


def owner_of(customer: CustomerFacts) -> str | None:
    """The agent (else the department) who opened the customer's latest case, else who handled the last touch."""
    opened = [f for f in customer.facts if f.kind == "case.opened"]
    last = opened[-1] if opened else (customer.touches[-1] if customer.touches else None)
    return None if last is None else (last.agent or last.department)


def proactive(customers: Iterable[CustomerFacts], rules: Sequence[SegmentRule], now: datetime,
              config: ProactiveConfig) -> list[Due]:
    """Customers due for a proactive contact at `now` (facts cut at `now`), longest overdue first."""
    now_us, found = epoch_us(now), []
    for customer in customers:
        segment = segment_name(rules, customer, now)
        rhythm = config.rhythm_for(segment)
        if segment is None or rhythm is None:
            continue
        due = due_of(customer, segment, timing_of(customer, rhythm), now_us, config)
        if due is not None:
            found.append(due)
    return sorted(found, key=lambda d: (d.due_at, d.customer_id))


def timing_of(customer: CustomerFacts, rhythm: Rhythm) -> tuple[int, int] | None:
    """`due_at_us` over the customer's distinct touch instants."""
    return due_at_us(sorted({t.occurred_us for t in customer.touches}), rhythm)


def due_of(customer: CustomerFacts, segment: str, timing: tuple[int, int] | None, now_us: int,
           config: ProactiveConfig) -> Due | None:
    """The customer's entry in the list at `now_us` given their `timing_of`, or None when not due."""
    if timing is None or now_us < timing[1]:
        return None
    last_us = max(t.occurred_us for t in customer.touches)
    latest = sorted(customer.touches, key=lambda f: (f.occurred_us, f.position))[-config.last_contacts:]
    return Due(customer.customer_id, segment, owner_of(customer), timing[0] / DAY_US, (now_us - last_us) / DAY_US,
               instant(last_us), instant(timing[1]), tuple(reversed(latest)))
