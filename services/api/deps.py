"""Typed dependencies on the composition root (services.entrypoints.bootstrap.Root), which `build_app` hands the
app once: a route names what it reads (`views: CaseViewsDep`), never the untyped `app.state`.

A component a process was started without (a test's partial root) answers 503 where the route first uses it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Engine

from domain.identity.identifiers import IdentifierProtector
from projections.timeline.queries import TimelineStore
from services.api.problems import Problem
from services.audit.asof import PositionAt
from services.audit.export import CustomerExporter
from services.audit.replays import ReplayJobs
from services.audit.service import AuditService
from services.cases import CaseViews
from services.clock import utc_now
from services.customers import CustomerViews
from services.entrypoints.bootstrap import Root
from services.privacy.erasure import ErasureService
from services.settings import Settings
from services.sla.views import SlaViews
from services.store.eventstore import EventStore


def root(request: Request) -> Root:
    """The root `build_app` was given (the one place that reads it from the app's state)."""
    found: Root = request.app.state.components
    return found


def _optional(request: Request, name: str) -> Any:
    return getattr(root(request), name, None)


def _required(request: Request, name: str, title: str, without: str) -> Any:
    found = _optional(request, name)
    return _Unavailable(title, f"This process was started without {without}.") if found is None else found


class _Unavailable:
    """Stands in for a component this process was started without: its first use in the route answers 503, so
    the request's own errors (401, 403, 422) are still reported first."""

    def __init__(self, title: str, detail: str) -> None:
        self._title, self._detail = title, detail

    def __getattr__(self, name: str) -> Any:
        raise Problem(503, self._title, self._detail)


def settings(request: Request) -> Settings:
    return root(request).settings


def now(request: Request) -> datetime:
    """The instant the views are computed for: the root's clock, read once per request."""
    return getattr(root(request), "clock", utc_now)()


def protector(request: Request) -> IdentifierProtector:
    return root(request).protector


def timeline(request: Request) -> TimelineStore:
    return root(request).timeline


def case_views(request: Request) -> CaseViews:
    return root(request).cases


def customer_views(request: Request) -> CustomerViews:
    return root(request).customers


def identity_views(request: Request) -> CustomerViews | None:
    """The identity views, when this process has them (customer filters then match the resolved anchors)."""
    found: CustomerViews | None = _optional(request, "customers")
    return found


def event_store(request: Request) -> EventStore:
    return root(request).event_store


def read_models(request: Request) -> Engine:
    return root(request).views


def sla_views(request: Request) -> SlaViews:
    found: SlaViews = _required(request, "sla", "SLA unavailable", "the SLA views")
    return found


def audit_service(request: Request) -> AuditService:
    found: AuditService = _required(request, "audit", "Audit unavailable", "the audit service")
    return found


def exporter(request: Request) -> CustomerExporter:
    found: CustomerExporter = _required(request, "exporter", "Export unavailable", "the customer exporter")
    return found


def erasure(request: Request) -> ErasureService:
    found: ErasureService = _required(request, "erasure", "Erasure unavailable", "the erasure service")
    return found


def replays(request: Request) -> ReplayJobs:
    found: ReplayJobs = _required(request, "replays", "Replay unavailable", "replays")
    return found


def position_at(request: Request) -> PositionAt | None:
    found: PositionAt | None = _optional(request, "position_at")
    return found


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
PositionAtDep = Annotated[PositionAt | None, Depends(position_at)]
