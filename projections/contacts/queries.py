"""Contact-quality queries: the read protocol of the contacts stores, the settings, and the views computed from the
stored facts at an injected `now` (as of that instant: facts that occurred later are not seen).

Every view takes `resolve` (anchor -> customer now, from the customers projection), so contacts filed under
another identifier of the same person count as that person's (repeat contacts follow the resolved customer).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from domain.cases import DEFAULT_HANDOFF_TARGET, CalendarFor, HandoffTarget, fixed_target
from domain.identity.segments import SegmentRule
from domain.instants import epoch_us
from domain.quality.cases import CaseFacts, cases_of
from domain.quality.customers import customers_of
from domain.quality.facts import Fact, Resolve
from domain.quality.fcr import CaseOutcome, FcrConfig, FcrRate, outcomes, rates, repeats_by_case
from domain.quality.proactive import Due, ProactiveConfig, proactive
from domain.quality.staff import Segment, StaffRow, assess, segments
from domain.quality.touchpoints import HandoffSignal, TouchpointScore, rank
from projections.cases.rows import HandoffRow
from projections.cases.stats import dropped_at
from projections.protocol import ProjectionStore

NAME = "contacts"


class FactsReader(Protocol):
    """Facts to compute the measures from."""

    def facts(self, until: datetime | None = None) -> list[Fact]:
        """The facts that occurred at or before `until` (all when None), in log order."""


class ContactFactsReader(FactsReader, Protocol):
    """What every contacts store answers."""

    def facts_after(self, position: int, limit: int) -> list[Fact]:
        """Up to `limit` facts recorded after log position `position`, in log order."""


class ContactsStore(ContactFactsReader, ProjectionStore, Protocol):
    """A contacts store: a projection store that answers `facts`, with a checksum over its rows."""

    def checksum(self) -> str:
        """sha256 over the position and every fact row (projections.checksum), equal across stores."""


@dataclass(frozen=True, slots=True)
class QualitySettings:
    """The measures' parameters: FCR windows, the watched segments' rhythms, the segment rules (as the context
    card's), and the handoff acceptance target (as the cases board's) for dropped handoffs."""

    fcr: FcrConfig = field(default_factory=FcrConfig)
    proactive: ProactiveConfig = field(default_factory=ProactiveConfig)
    segments: tuple[SegmentRule, ...] = ()
    handoff_target: HandoffTarget = field(default_factory=lambda: fixed_target(DEFAULT_HANDOFF_TARGET))


@dataclass(frozen=True, slots=True)
class FcrReport:
    as_of: datetime
    cases: tuple[CaseOutcome, ...]
    by_department: tuple[FcrRate, ...]
    by_channel: tuple[FcrRate, ...]
    by_agent: tuple[FcrRate, ...]


@dataclass(frozen=True, slots=True)
class StaffReport:
    as_of: datetime
    agents: tuple[StaffRow, ...]
    departments: tuple[StaffRow, ...]


class QualityViews:
    """The measures as of `now` over one read of the facts."""

    def __init__(self, reader: FactsReader, resolve: Resolve, now: datetime,
                 settings: QualitySettings | None = None) -> None:
        self.now, self.settings = now, settings or QualitySettings()
        self._now_us = epoch_us(now)
        self._resolve = resolve
        self.facts = reader.facts(now)
        self.cases: dict[str, CaseFacts] = cases_of(self.facts, resolve)
        self.repeats = repeats_by_case(self.cases, self.facts, resolve, self._now_us, self.settings.fcr)
        self.outcomes = outcomes(self.cases, self.repeats, self._now_us, self.settings.fcr)

    def fcr(self) -> FcrReport:
        found = self.outcomes
        return FcrReport(self.now, tuple(found), tuple(rates(found, "department")), tuple(rates(found, "channel")),
                         tuple(rates(found, "agent")))

    def proactive(self) -> list[Due]:
        customers = customers_of(self.facts, self._resolve).values()
        return proactive(customers, self.settings.segments, self.now, self.settings.proactive)

    def segments(self) -> list[Segment]:
        return segments(customers_of(self.facts, self._resolve).values(), self.settings.segments, self.now)

    def staff(self) -> StaffReport:
        found = self.outcomes
        return StaffReport(self.now, tuple(assess(self.facts, self.cases, found, self._now_us, "agent")),
                           tuple(assess(self.facts, self.cases, found, self._now_us, "department")))

    def touchpoints(self, handoffs: Sequence[HandoffRow], calendar_for: CalendarFor,
                    examples: int = 3) -> list[TouchpointScore]:
        """Ranked touchpoints; `handoffs` are the cases projection's rows (dropped and ping-pong as it tells)."""
        return rank(self.cases, self.repeats, handoff_signals(handoffs, self.now, calendar_for,
                                                              self.settings.handoff_target), examples)


def handoff_signals(rows: Sequence[HandoffRow], now: datetime, calendar_for: CalendarFor,
                    target: HandoffTarget) -> list[HandoffSignal]:
    """The handoffs made by `now`, dropped as of `now` (projections.cases.stats) and returned (ping-pong)."""
    return [HandoffSignal(row.case_id, row.handed_us, row.from_department, row.to_department,
                          dropped_at(row, now, calendar_for, target) is not None, bool(row.returned))
            for row in rows if row.handed_at <= now]
