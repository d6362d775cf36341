"""Composition root: builds each process's components from Settings (the only place that wires I/O)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from domain.identity.identifiers import IdentifierProtector
from projections.cases.sql import SqlCasesStore
from projections.customers.queries import anchors_of as covered_anchors
from projections.customers.sql import SqlCustomerStore
from projections.protocol import ProjectionStore
from projections.registry import StoreOptions, sql_stores
from projections.sla.sql import SqlSlaStore
from projections.sqlstore import make_engine, url_with_search_path
from projections.timeline.sql import SqlTimelineStore
from services.audit.asof import PositionAt, chain_index
from services.audit.export import CustomerExporter, PositionResolver
from services.audit.replays import ReplayJobs
from services.audit.service import AuditService
from services.audit.tables import open_audit_engine
from services.audit.wiring import build_audit_service
from services.cases import CaseViews, build_case_views
from services.clock import Clock, utc_now
from services.config import IdentityConfig, load_identity_config
from services.customers import CustomerViews
from services.kafka.admin import broker_reachable, ensure_topics, existing_topics
from services.kafka.consumer import KafkaRecordSource
from services.kafka.producer import KafkaDeadLetterSink, KafkaEventPublisher, KafkaSender, make_producer
from services.kafka.records import EventPublisher
from services.migrations import prepare_schema
from services.privacy.erasure import ErasureService, single_anchor
from services.privacy.wiring import build_erasure_service, sealer_for
from services.projector.engine import ProjectionEngine
from services.projector.watch import ProjectionWatch
from services.quality import QualityStores, quality_stores
from services.recorder.recorder import AfterCommit, Recorder, RecorderClients, RecorderLoop
from services.settings import Settings
from services.sla.wiring import SlaViews, build_sla_views
from services.store.eventstore import EventStore
from services.supervision import Liveness


def protector_for(settings: Settings) -> IdentifierProtector:
    return IdentifierProtector(settings.id_hash_key.get_secret_value().encode())


def open_event_store(settings: Settings) -> EventStore:
    """The event store, sealing personal values per customer key (docs/audit.md, "Erasure"); the schema migrated
    (outside production) or checked at head, once per process (services.migrations)."""
    if settings.store_url.startswith("sqlite:///"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    prepare_schema(settings)
    return EventStore(settings.store_url, schema=settings.db_schema or None, sealer=sealer_for(settings))


def erasure_service(settings: Settings, event_store: EventStore,
                    directory: SqlCustomerStore | None = None) -> ErasureService:
    """What `POST /v1/privacy/erasures` and `touchline privacy erase` use: a customer id names the anchors of every
    identifier resolved to it (the identity read model), whose keys an erasure destroys; without that read model,
    the id is its own single anchor."""
    if directory is None:
        return build_erasure_service(settings, event_store, single_anchor)
    known = directory
    return build_erasure_service(settings, event_store, lambda customer_id: covered_anchors(known, customer_id))


def open_views(settings: Settings) -> Engine:
    url = settings.views_url
    if settings.db_schema and not url.startswith("sqlite"):
        url = url_with_search_path(url, settings.db_schema)
    if url.startswith("sqlite:///"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return make_engine(url)


def projection_stores(views: Engine, identity: IdentityConfig | None = None) -> dict[str, ProjectionStore]:
    """Every registered projection (projections.registry) by name, tables created (retrying: processes starting
    together race to create them)."""
    options = StoreOptions(shared_threshold=(identity or load_identity_config()).shared_threshold)
    stores: dict[str, ProjectionStore] = dict(sql_stores(views, options))
    for store in stores.values():
        for attempt in range(1, 6):
            try:
                store.create()
                break
            except DBAPIError:
                if attempt == 5:
                    raise
                time.sleep(0.2 * attempt)
    return stores


def timeline_positions(timeline: SqlTimelineStore, directory: SqlCustomerStore | None = None) -> PositionResolver:
    """A customer's events: the timeline entries of every anchor the resolved customer covers (an id merged into
    another customer is followed to it); without the identity read model, those stored under the id itself."""

    def positions(customer_id: str) -> list[int]:
        anchors = covered_anchors(directory, customer_id) if directory is not None else [customer_id]
        return timeline.positions_of(anchors)

    return positions


def customer_exporter(audit: AuditService, event_store: EventStore, timeline: SqlTimelineStore,
                      clock: Clock = utc_now, directory: SqlCustomerStore | None = None) -> CustomerExporter:
    """What `GET /v1/audit/customers/{id}/export` and `touchline audit export` write."""
    return CustomerExporter(audit, event_store, timeline_positions(timeline, directory), clock)


def ensure_kafka_topics(settings: Settings) -> None:
    """Create missing topics outside production; in production they must have been created by operations
    (replication, retention), so a missing topic is an error rather than a silently under-replicated topic."""
    wanted = {settings.events_topic: settings.events_topic_partitions, settings.dlq_topic: 1,
              settings.alerts_topic: 1, settings.audit_topic: 1}
    if settings.env != "production":
        ensure_topics(settings.kafka_bootstrap_servers, wanted)
        return
    missing = sorted(set(wanted) - existing_topics(settings.kafka_bootstrap_servers))
    if missing:
        raise RuntimeError(f"topics missing: {', '.join(missing)} (create them first, see docs/operations.md)")


@dataclass
class ApiComponents:
    """What the HTTP API needs."""

    settings: Settings
    protector: IdentifierProtector
    publisher: EventPublisher
    timeline: SqlTimelineStore
    event_store: EventStore
    views: Engine
    cases: CaseViews
    customers: CustomerViews
    closers: list[Any] = field(default_factory=list)
    clock: Clock = utc_now  # "now" of the time-dependent views; the only wall clock the API reads
    sla: SlaViews | None = None  # SLA clocks, alerts, promises and policies (services.api.sla)
    audit: AuditService | None = None  # checkpoints, proofs, verification (services.api.audit)
    exporter: CustomerExporter | None = None  # a customer's history with proofs (services.api.audit)
    position_at: PositionAt | None = None  # instant → last log position recorded by then (as-of by instant)
    erasure: ErasureService | None = None  # erasing a customer's personal data (services.api.privacy)
    replays: ReplayJobs | None = None  # rebuild-and-compare runs asked for by auditors (services.api.audit_replay)
    projections: ProjectionWatch | None = None  # parked events and stuck projections (services.api.projections)
    quality: QualityStores | None = None  # service-quality read models (services.api.quality)
    liveness: Liveness | None = None  # the loops running in this process (`touchline run`), each a check
    _ready_cache: tuple[float, dict[str, str]] = (0.0, {})

    def readiness(self) -> dict[str, str]:
        """The API's own dependencies (broker, event store, read models; cached for a second) and, in the
        embedded run, every loop of the process (the recorder: "waiting" until it has its partitions)."""
        at, cached = self._ready_cache
        if time.monotonic() - at >= 1.0:
            cached = {
                "broker": "ok" if broker_reachable(self.settings.kafka_bootstrap_servers, 2.0) else "unreachable",
                "event_store": _check(self.event_store.ping),
                "read_models": _check(lambda: _ping_engine(self.views)),
                **({"projections": _watch(self.projections)} if self.projections is not None else {}),
            }
            self._ready_cache = (time.monotonic(), cached)
        loops = self.liveness.checks() if self.liveness is not None else {}
        return cached | loops

    def close(self) -> None:
        for closer in reversed(self.closers):
            closer()


def build_api_components(settings: Settings) -> ApiComponents:
    from services.audit.commands import replay_runner  # (it opens stores through this module)

    sender = KafkaSender.connecting(settings.kafka_bootstrap_servers, settings.events_topic,
                                    settings.publish_timeout_s)
    event_store = open_event_store(settings)
    views = open_views(settings)
    identity = load_identity_config(settings.config_dir)
    stores = projection_stores(views, identity)
    timeline, cases, sla, directory = stores["timeline"], stores["cases"], _sla_store(stores), stores["customers"]
    assert isinstance(timeline, SqlTimelineStore) and isinstance(cases, SqlCasesStore)
    assert isinstance(directory, SqlCustomerStore)
    audit_engine = open_audit_engine(settings)
    audit = build_audit_service(settings, event_store, audit_engine)
    erasure = erasure_service(settings, event_store, directory)
    return ApiComponents(
        settings=settings,
        protector=protector_for(settings),
        publisher=KafkaEventPublisher(sender),
        timeline=timeline,
        event_store=event_store,
        views=views,
        cases=build_case_views(cases, settings.handoff_target_hours, settings.config_dir, policies=sla.policies),
        customers=CustomerViews(directory, timeline, cases, sla, identity.card),
        sla=build_sla_views(settings, sla, event_store, views),
        audit=audit,
        exporter=customer_exporter(audit, event_store, timeline, directory=directory),
        position_at=chain_index(audit_engine),
        erasure=erasure,
        replays=ReplayJobs(replay_runner(settings, event_store)),
        projections=ProjectionWatch(views, event_store.head, list(stores), settings.projector_stuck_seconds),
        quality=quality_stores(stores, identity.card.segments),
        closers=[event_store.close, views.dispose, sender.close, audit.close, erasure.close],
    )


def build_recorder_loop(
    settings: Settings, event_store: EventStore, *, after_db_commit: AfterCommit | None = None
) -> RecorderLoop:
    """The recorder over a new consumer and dead-letter producer, recreated by `reset` after a failure."""
    protector = protector_for(settings)

    def connect() -> RecorderClients:
        dlq = KafkaSender(make_producer(settings.kafka_bootstrap_servers), settings.dlq_topic,
                          settings.publish_timeout_s)
        try:
            source = KafkaRecordSource(
                settings.kafka_bootstrap_servers,
                settings.events_topic,
                settings.recorder_group,
                event_store.tracked,
                session_timeout_ms=settings.kafka_session_timeout_ms,
                max_poll_records=settings.recorder_max_poll_records,
            )
        except BaseException:
            dlq.close()
            raise
        return RecorderClients(source, Recorder(event_store, KafkaDeadLetterSink(dlq), protector), dlq.close)

    return RecorderLoop(connect, after_db_commit=after_db_commit)


def build_projection_engine(settings: Settings, event_store: EventStore, views: Engine) -> ProjectionEngine:
    stores = projection_stores(views, load_identity_config(settings.config_dir))
    return ProjectionEngine(event_store, list(stores.values()), settings.projector_batch_size, views=views)


def start_pipeline(
    settings: Settings, event_store: EventStore, views: Engine, stop: threading.Event,
    liveness: Liveness | None = None, *, drain: bool = False,
) -> tuple[RecorderLoop, list[threading.Thread]]:
    """Recorder and projector threads over one event store and read-model database, until `stop` is set (or a
    loop dies: see services.supervision); with `drain`, the recorder records what is left on the topic first."""
    liveness = liveness or Liveness()
    recorder = build_recorder_loop(settings, event_store)
    liveness.register("recorder", ready=lambda: recorder.assigned)
    engine = build_projection_engine(settings, event_store, views)
    threads = [
        run_in_thread("recorder", lambda stop, live: recorder.run(stop, live, drain=drain), stop, liveness),
        run_in_thread("projector", lambda stop, live: engine.run(stop, settings.projector_idle_seconds, live),
                      stop, liveness),
    ]
    return recorder, threads


def run_in_thread(name: str, target: Any, stop: threading.Event, liveness: Liveness | None = None) -> threading.Thread:
    """Start `target(stop)` (or `target(stop, liveness)`) in a daemon thread named `name`."""
    args = (stop,) if liveness is None else (stop, liveness)
    thread = threading.Thread(target=target, args=args, name=name, daemon=True)
    thread.start()
    return thread


def _check(probe: Any) -> str:
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


def _sla_store(stores: dict[str, ProjectionStore]) -> SqlSlaStore:
    sla = stores["sla"]
    assert isinstance(sla, SqlSlaStore)
    return sla
