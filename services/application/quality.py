"""Wiring of the service-quality views for the API: the SERVQUAL, scorecard and contacts stores, the segment rules,
and each view's department scope (docs/quality.md)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from domain.identity.segments import SegmentRule
from domain.instants import epoch_us
from domain.quality.facts import Fact
from domain.quality.fcr import FcrConfig, rates
from domain.quality.live import BY, LiveQuality
from domain.quality.periods import PeriodKind
from domain.quality.proactive import Due, ProactiveConfig
from domain.quality.scorecard import ScorecardRow
from domain.quality.servqual import Grouping, ServqualCell
from domain.quality.staff import Segment, StaffRow
from domain.quality.touchpoints import TouchpointScore
from projections.cases.queries import HandoffQuery
from projections.cases.rows import HandoffRow
from projections.contacts.queries import (
    ContactFactsReader,
    FcrReport,
    QualitySettings,
    QualityViews,
    StaffReport,
    handoff_signals,
)
from projections.customers.queries import CustomerStore
from projections.scorecard.queries import ScorecardQuery, ScorecardReader
from projections.servqual.queries import ServqualQuery, ServqualReader
from services.application.cases import CaseViews
from services.application.quality_live import LiveQualityIndex, LiveScorecardIndex


@dataclass(frozen=True)
class QualityStores:
    """The quality read models and their settings (the segment rules are the context card's)."""

    servqual: ServqualReader
    scorecard: ScorecardReader
    contacts: ContactFactsReader
    segments: tuple[SegmentRule, ...] = ()
    fcr: FcrConfig = field(default_factory=FcrConfig)
    proactive: ProactiveConfig = field(default_factory=ProactiveConfig)
    live: LiveQualityIndex | None = None  # FCR, proactive, segments, touchpoints, staff kept up to date
    live_scorecard: LiveScorecardIndex | None = None  # the scorecard kept up to date (quality_live)


def quality_stores(stores: dict[str, Any], segments: Sequence[SegmentRule], fcr: FcrConfig | None = None,
                   proactive: ProactiveConfig | None = None) -> QualityStores:
    """The quality stores among the registered projections' `stores` (services.adapters.databases.projection_stores)
    with the settings of config/quality.toml (the defaults when not given), and the process's live index over
    the contacts and customers stores."""
    fcr, proactive = fcr or FcrConfig(), proactive or ProactiveConfig()
    live = LiveQualityIndex(stores["contacts"], stores["customers"], fcr, proactive, tuple(segments)) \
        if "customers" in stores else None
    return QualityStores(stores["servqual"], stores["scorecard"], stores["contacts"], tuple(segments), fcr,
                         proactive, live, LiveScorecardIndex(stores["scorecard"]))


@dataclass(frozen=True)
class Quality:
    """One request's quality views: the stores, the case views (calendars, handoffs, acceptance target) and the
    customers projection resolving anchors. `scope` is a department token's department (None: not limited)."""

    stores: QualityStores
    cases: CaseViews
    customers: CustomerStore
    scope: str | None = None
    _known: dict[str, str] = field(default_factory=dict, repr=False)

    def resolve(self, anchor: str) -> str:
        """anchor -> customer now, each anchor asked of the customers store once per request."""
        if anchor not in self._known:
            self._known[anchor] = self.customers.resolve(anchor) or anchor
        return self._known[anchor]

    def servqual(self, by: Grouping, period: PeriodKind, since: datetime | None, until: datetime | None,
                 zone: ZoneInfo) -> list[ServqualCell]:
        query = ServqualQuery(by, period, since, until, zone.key, self.scope)
        return self.stores.servqual.cells(query)

    def scorecard(self, period: PeriodKind, since: datetime | None, until: datetime | None, zone: str,
                  now: datetime, department: str | None) -> list[ScorecardRow]:
        if self.scope is not None and department not in (None, self.scope):
            return []
        wanted = department or self.scope
        if self.stores.live_scorecard is not None:
            with self.stores.live_scorecard.caught_up(self.cases.calendar_for) as board:
                rows = board.scorecard(period, ZoneInfo(zone), now, since, until)
            return [r for r in rows if wanted is None or r.department == wanted]
        query = ScorecardQuery(now, self.cases.calendar_for, period, since, until, department or self.scope, zone)
        return self.stores.scorecard.scorecard(query)

    def views(self, now: datetime) -> QualityViews:
        """The views as of `now` over one read of the facts, every anchor among them resolved in one read."""
        settings = QualitySettings(self.stores.fcr, self.stores.proactive, self.stores.segments,
                                   self.cases.handoff_target)
        facts = self.stores.contacts.facts(now)
        anchors = sorted({f.anchor for f in facts if f.anchor is not None} - self._known.keys())
        self._known.update({a: a for a in anchors} | self.customers.resolve_many(anchors))
        return QualityViews(_Read(facts), self.resolve, now, settings)

    @contextmanager
    def _live(self, now: datetime) -> Iterator[LiveQuality | None]:
        """The live index when it can answer as of `now` (no fact occurred after it), else None."""
        if self.stores.live is None:
            yield None
            return
        with self.stores.live.caught_up() as index:
            yield index if epoch_us(now) >= index.latest_us else None

    def fcr(self, now: datetime, with_cases: bool = True) -> FcrReport:
        now_us = epoch_us(now)
        with self._live(now) as index:
            if index is not None:
                cases = tuple(index.outcomes(now_us, self.scope)) if with_cases else ()
                return FcrReport(now, cases, *(tuple(index.rates(now_us, by, self.scope)) for by in BY))
        report = self.views(now).fcr()
        if self.scope is None:
            return report
        mine = tuple(c for c in report.cases if c.department == self.scope)
        return FcrReport(report.as_of, mine, tuple(rates(mine, "department")), tuple(rates(mine, "channel")),
                         tuple(rates(mine, "agent")))

    def proactive(self, now: datetime) -> list[Due]:
        with self._live(now) as index:
            if index is not None:
                found = index.proactive(now)
                return found if self.scope is None else _mine(found, index.touched_by(self.scope))
        views = self.views(now)
        found = views.proactive()
        return found if self.scope is None else _mine(found, self._touched(views))

    def segments(self, now: datetime) -> list[Segment]:
        with self._live(now) as index:
            if index is not None:
                found = index.segments(now)
                return found if self.scope is None else _within(found, index.touched_by(self.scope))
        views = self.views(now)
        found = views.segments()
        return found if self.scope is None else _within(found, self._touched(views))

    def staff(self, now: datetime) -> StaffReport:
        now_us = epoch_us(now)
        with self._live(now) as index:
            if index is not None:
                agents = None if self.scope is None else index.agents_of(self.scope)
                departments = None if self.scope is None else {self.scope}
                return StaffReport(now, tuple(index.staff(now_us, "agent", agents)),
                                   tuple(index.staff(now_us, "department", departments)))
        views = self.views(now)
        report = views.staff()
        if self.scope is None:
            return report
        agents = {f.agent for f in views.facts if f.department == self.scope and f.agent}
        return StaffReport(report.as_of, _rows_of(report.agents, agents), _rows_of(report.departments, {self.scope}))

    def touchpoints(self, now: datetime, examples: int) -> list[TouchpointScore]:
        handoffs = self.cases.store.handoffs(HandoffQuery())
        found = self._live_touchpoints(now, handoffs, examples)
        if found is None:
            found = self.views(now).touchpoints(handoffs, self.cases.calendar_for, examples)
        return found if self.scope is None else [t for t in found if t.touchpoint.department == self.scope]

    def _live_touchpoints(self, now: datetime, handoffs: Sequence[HandoffRow],
                          examples: int) -> list[TouchpointScore] | None:
        with self._live(now) as index:
            if index is None:
                return None
            signals = handoff_signals(handoffs, now, self.cases.calendar_for, self.cases.handoff_target)
            return index.touchpoints(signals, examples)

    def _touched(self, views: QualityViews) -> set[str]:
        """Customers with a contact-quality fact recorded by the scope's department."""
        return {self.resolve(f.anchor) for f in views.facts if f.department == self.scope and f.anchor is not None}


@dataclass(frozen=True)
class _Read:
    """Facts already read (and cut at `now`), as a reader."""

    found: list[Fact]

    def facts(self, until: datetime | None = None) -> list[Fact]:
        return self.found


def _rows_of(rows: Sequence[StaffRow], keys: set[str]) -> tuple[StaffRow, ...]:
    return tuple(r for r in rows if r.key in keys)


def _mine(found: list[Due], customers: set[str]) -> list[Due]:
    return [d for d in found if d.customer_id in customers]


def _within(found: list[Segment], customers: set[str]) -> list[Segment]:
    kept = [Segment(s.name, tuple(c for c in s.customers if c in customers)) for s in found]
    return [s for s in kept if s.customers]

