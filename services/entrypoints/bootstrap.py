"""The composition root: one typed object per process holding every component, each opened from Settings on first
use and closed together. The API opens what it serves once, at start (`open_api`); a CLI command opens one root
and uses only what it needs."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TypeVar

from sqlalchemy import Engine, text

from domain.identity.identifiers import IdentifierProtector
from projections.cases.sql import SqlCasesStore
from projections.customers.sql import SqlCustomerStore
from projections.protocol import ProjectionStore
from projections.sla.sql import SqlSlaStore
from projections.timeline.sql import SqlTimelineStore
from services.adapters.audit.tables import open_audit_engine
from services.adapters.clock import Clock, utc_now
from services.adapters.config import IdentityConfig, load_identity_config, load_quality_config
from services.adapters.databases import open_views, projection_stores
from services.adapters.kafka import backend
from services.adapters.kafka.producer import KafkaEventPublisher
from services.adapters.kafka.records import EventPublisher, RecordSender
from services.adapters.opening import open_event_store
from services.adapters.privacy.keys import protector_for
from services.adapters.settings import Settings
from services.adapters.store.eventstore import EventStore
from services.adapters.supervision import Liveness
from services.application.asof import PositionAt, chain_index
from services.application.audit.export import CustomerExporter, customer_exporter
from services.application.audit.service import AuditService, build_audit_service
from services.application.cases import CaseViews, build_case_views
from services.application.customers import CustomerViews
from services.application.erasure import ErasureService, erasure_service
from services.application.projector.watch import ProjectionWatch
from services.application.quality import QualityStores, quality_stores
from services.application.rebuild import replay_runner
from services.application.replays import ReplayJobs
from services.application.sla.views import SlaViews, build_sla_views

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ProjectionStores:
    """The SQL stores of every registered projection (projections.registry), the ones the API reads typed."""

    timeline: SqlTimelineStore
    cases: SqlCasesStore
    sla: SqlSlaStore
    customers: SqlCustomerStore
    every: dict[str, ProjectionStore]

    @classmethod
    def on(cls, views: Engine, identity: IdentityConfig | None = None) -> ProjectionStores:
        """The stores on `views`, tables created."""
        every = projection_stores(views, identity)
        timeline, cases, sla, customers = every["timeline"], every["cases"], every["sla"], every["customers"]
        assert isinstance(timeline, SqlTimelineStore) and isinstance(cases, SqlCasesStore)
        assert isinstance(sla, SqlSlaStore) and isinstance(customers, SqlCustomerStore)
        return cls(timeline, cases, sla, customers, every)


@dataclass(eq=False)
class Root:
    """Every component of one process (typed, opened lazily, once); `close()` closes what was opened, last first.

    Opening is not thread-safe: a server opens what it serves before it serves (`open_api`)."""

    settings: Settings
    clock: Clock = utc_now  # "now" of the time-dependent views; the only wall clock the API reads
    liveness: Liveness | None = None  # the loops running in this process (`touchline run`), each a check
    closers: list[Callable[[], object]] = field(default_factory=list)
    _ready_cache: tuple[float, dict[str, str]] = (0.0, {})

    # adapters
    @cached_property
    def event_store(self) -> EventStore:
        return self._closing(open_event_store(self.settings), "close")

    @cached_property
    def views(self) -> Engine:
        """The read models' database."""
        return self._closing(open_views(self.settings), "dispose")

    @cached_property
    def audit_engine(self) -> Engine:
        """The event store's database, with the audit tables."""
        return self._closing(open_audit_engine(self.settings), "dispose")

    @cached_property
    def sender(self) -> RecordSender:
        """A producer onto the events topic (kafka-python or confluent-kafka: TOUCHLINE_KAFKA_CLIENT)."""
        settings = self.settings
        return self._closing(backend.sender(settings.kafka_client, settings.kafka_bootstrap_servers,
                                            settings.events_topic, settings.publish_timeout_s), "close")

    @cached_property
    def publisher(self) -> EventPublisher:
        return KafkaEventPublisher(self.sender)

    @cached_property
    def protector(self) -> IdentifierProtector:
        return protector_for(self.settings)

    @cached_property
    def identity(self) -> IdentityConfig:
        return load_identity_config(self.settings.config_dir)

    @cached_property
    def stores(self) -> ProjectionStores:
        return ProjectionStores.on(self.views, self.identity)

    @property
    def timeline(self) -> SqlTimelineStore:
        return self.stores.timeline

    # use cases and views
    @cached_property
    def cases(self) -> CaseViews:
        return build_case_views(self.stores.cases, self.settings.handoff_target_hours, self.settings.config_dir,
                                policies=self.stores.sla.policies)

    @cached_property
    def customers(self) -> CustomerViews:
        stores = self.stores
        return CustomerViews(stores.customers, stores.timeline, stores.cases, stores.sla, self.identity.card)

    @cached_property
    def sla(self) -> SlaViews:
        return build_sla_views(self.settings, self.stores.sla, self.event_store, self.views)

    @cached_property
    def audit(self) -> AuditService:
        return self._closing(build_audit_service(self.settings, self.event_store, self.audit_engine), "close")

    @cached_property
    def exporter(self) -> CustomerExporter:
        """A customer's history with proofs (`GET /v1/audit/customers/{id}/export`, `touchline audit export`)."""
        return customer_exporter(self.audit, self.event_store, self.stores.timeline, self.clock,
                                 self.stores.customers)

    @cached_property
    def position_at(self) -> PositionAt:
        """Instant → last log position recorded by then (as-of by instant)."""
        return chain_index(self.audit_engine)

    @cached_property
    def erasure(self) -> ErasureService:
        return self._closing(erasure_service(self.settings, self.event_store, self.stores.customers), "close")

    @cached_property
    def replays(self) -> ReplayJobs:
        """Rebuild-and-compare runs asked for by auditors (a running one is stopped when the API closes)."""
        return self._closing(ReplayJobs(replay_runner(self.settings, self.event_store)), "close")

    @cached_property
    def quality(self) -> QualityStores | None:
        """The service-quality read models and their settings (services.entrypoints.api.quality); None when the
        registry has no quality projections."""
        every = self.stores.every
        if not {"servqual", "scorecard", "contacts"} <= every.keys():
            return None
        fcr, proactive = load_quality_config(self.settings.config_dir)
        return quality_stores(every, self.identity.card.segments, fcr, proactive)

    @cached_property
    def projections(self) -> ProjectionWatch:
        """Parked events and stuck projections."""
        return ProjectionWatch(self.views, self.event_store.head, list(self.stores.every),
                               self.settings.projector_stuck_seconds)

    def open_api(self) -> Root:
        """Open everything the HTTP API serves, in this order (the events producer first), and return self."""
        for name in ("sender", "event_store", "views", "stores", "audit", "erasure", "cases", "customers", "sla",
                     "exporter", "position_at", "replays", "projections", "quality", "publisher", "protector"):
            getattr(self, name)
        quality = self.quality
        if quality is not None and quality.live is not None and self.settings.quality_warm:
            # the first quality answers would otherwise read every fact and every scorecard row
            scorecard, calendar_for, clock = quality.live_scorecard, self.cases.calendar_for, self.clock
            then = None if scorecard is None else lambda: scorecard.warm(calendar_for, clock)
            quality.live.start_warming(clock, then)
            self.closers.append(quality.live.stop)
        return self

    def readiness(self) -> dict[str, str]:
        """The API's own dependencies (broker, event store, read models; cached for a second) and, in the
        embedded run, every loop of the process (the recorder: "waiting" until it has its partitions)."""
        at, cached = self._ready_cache
        if time.monotonic() - at >= 1.0:
            settings = self.settings
            reachable = backend.broker_reachable(settings.kafka_client, settings.kafka_bootstrap_servers, 2.0)
            cached = {
                "broker": "ok" if reachable else "unreachable",
                "event_store": _check(self.event_store.ping),
                "read_models": _check(lambda: _ping_engine(self.views)),
                "projections": _watch(self.projections),
            }
            self._ready_cache = (time.monotonic(), cached)
        loops = self.liveness.checks() if self.liveness is not None else {}
        return cached | loops

    def close(self) -> None:
        while self.closers:
            self.closers.pop()()

    def _closing(self, opened: T, method: str) -> T:
        self.closers.append(getattr(opened, method))
        return opened


ApiComponents = Root
"""What the HTTP API reads (services.entrypoints.api.deps): the root, opened by `open_api`."""


def build_api_components(settings: Settings) -> Root:
    """The root of an API process, everything the API serves opened."""
    return Root(settings).open_api()


def _check(probe: Callable[[], object]) -> str:
    try:
        probe()
        return "ok"
    except Exception as exc:  # noqa: BLE001 - readiness reports any failure
        return f"error: {type(exc).__name__}"


def _watch(watch: ProjectionWatch) -> str:
    try:
        return watch.check()
    except Exception as exc:  # noqa: BLE001 - readiness reports any failure
        return f"error: {type(exc).__name__}"


def _ping_engine(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("select 1"))
