"""Typed dependencies on the composition root (services.entrypoints.bootstrap.Root), which `build_app` hands the
app once: a route names what it reads (`views: CaseViewsDep`), never the untyped `app.state`.

A component a process was started without (a test's partial root) answers 503 where the route first uses it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Request
from sqlalchemy import Engine

from domain.identity.identifiers import IdentifierProtector
from projections.timeline.queries import TimelineStore
from services.adapters.clock import utc_now
from services.adapters.settings import Settings
from services.adapters.store.eventstore import EventStore
from services.application.asof import PositionAt
from services.application.audit.export import CustomerExporter
from services.application.audit.service import AuditService
from services.application.cases import CaseViews
from services.application.customers import CustomerViews
from services.application.erasure import ErasureService
from services.application.quality import QualityStores
from services.application.replays import ReplayJobs
from services.application.sla.views import SlaViews
from services.entrypoints.api.problems import Problem
from services.entrypoints.bootstrap import Root

T = TypeVar("T")


def root(request: Request) -> Root:
    """The root `build_app` was given (the one place that reads it from the app's state)."""
    found: Root = request.app.state.components
    return found


class Component(Generic[T]):
    """The root's component `name` (a dependency: `Component[SlaViews]("sla")(request)`)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, request: Request) -> T:
        found: T = getattr(root(request), self.name)
        return found


class MaybeComponent(Component[T | None]):
    """A component the route does without when the process has none (None)."""

    def __call__(self, request: Request) -> T | None:
        found: T | None = getattr(root(request), self.name, None)
        return found


class NeededComponent(Component[T]):
    """A component the route needs: without it, the route's first use of it answers 503 (so the request's own
    errors, 401, 403 and 422, are still reported first)."""

    def __init__(self, name: str, title: str, without: str) -> None:
        super().__init__(name)
        self.title, self.without = title, without

    def __call__(self, request: Request) -> T:
        found: T | None = getattr(root(request), self.name, None)
        if found is None:
            unavailable: Any = _Unavailable(self.title, f"This process was started without {self.without}.")
            return unavailable
        return found


class _Unavailable:
    """Stands in for a missing component: any use raises the 503."""

    def __init__(self, title: str, detail: str) -> None:
        self._title, self._detail = title, detail

    def __getattr__(self, name: str) -> Any:
        raise Problem(503, self._title, self._detail)


def now(request: Request) -> datetime:
    """The instant the views are computed for: the root's clock, read once per request."""
    return getattr(root(request), "clock", utc_now)()


settings = Component[Settings]("settings")
protector = Component[IdentifierProtector]("protector")
timeline = Component[TimelineStore]("timeline")
case_views = Component[CaseViews]("cases")
customer_views = Component[CustomerViews]("customers")
event_store = Component[EventStore]("event_store")
read_models = Component[Engine]("views")
identity_views = MaybeComponent[CustomerViews]("customers")  # customer filters then match the resolved anchors
position_at = MaybeComponent[PositionAt]("position_at")
quality_stores = MaybeComponent[QualityStores]("quality")  # the service-quality read models
sla_views = NeededComponent[SlaViews]("sla", "SLA unavailable", "the SLA views")
audit_service = NeededComponent[AuditService]("audit", "Audit unavailable", "the audit service")
exporter = NeededComponent[CustomerExporter]("exporter", "Export unavailable", "the customer exporter")
erasure = NeededComponent[ErasureService]("erasure", "Erasure unavailable", "the erasure service")
replays = NeededComponent[ReplayJobs]("replays", "Replay unavailable", "replays")

RootDep = Annotated[Root, Depends(root)]
SettingsDep = Annotated[Settings, Depends(settings)]
NowDep = Annotated[datetime, Depends(now)]
ProtectorDep = Annotated[IdentifierProtector, Depends(protector)]
TimelineDep = Annotated[TimelineStore, Depends(timeline)]
CaseViewsDep = Annotated[CaseViews, Depends(case_views)]
CustomerViewsDep = Annotated[CustomerViews, Depends(customer_views)]
IdentityViewsDep = Annotated[CustomerViews | None, Depends(identity_views)]
EventStoreDep = Annotated[EventStore, Depends(event_store)]
ReadModelsDep = Annotated[Engine, Depends(read_models)]
SlaViewsDep = Annotated[SlaViews, Depends(sla_views)]
AuditDep = Annotated[AuditService, Depends(audit_service)]
ExporterDep = Annotated[CustomerExporter, Depends(exporter)]
ErasureDep = Annotated[ErasureService, Depends(erasure)]
ReplaysDep = Annotated[ReplayJobs, Depends(replays)]
QualityStoresDep = Annotated[QualityStores | None, Depends(quality_stores)]
PositionAtDep = Annotated[PositionAt | None, Depends(position_at)]
