"""The case endpoints in process: the real FastAPI app over a memory cases store and a clock the test sets."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from fastapi.testclient import TestClient

from domain.cases import CalendarFor, HandoffTarget, fixed_target
from projections.cases.memory import MemoryCasesStore
from projections.cases.queries import CasesStore
from services.adapters.config import load_calendars, load_departments
from services.adapters.settings import Settings
from services.application.cases import CaseViews, calendar_lookup
from services.entrypoints.app import build_app

TOKENS = "loan=loan-token-00000001,card_centre=card-token-00000002,approval_office=appr-token-00000003," \
         "ops=ops-token-000000004"
BEARER = {name: {"Authorization": f"Bearer {token}"} for name, token in
          (item.split("=") for item in TOKENS.split(","))}


def office_calendars() -> CalendarFor:
    """Each department's calendar as configured in config/ (the story's departments keep office hours)."""
    return calendar_lookup(load_calendars(), load_departments())


@dataclass
class CaseApiComponents:
    """The parts of services.entrypoints.bootstrap.Root that the case endpoints read."""

    settings: Settings
    cases: CaseViews
    now: datetime

    def clock(self) -> datetime:
        return self.now


@contextmanager
def case_api(now: datetime, store: CasesStore | None = None, target: HandoffTarget | None = None
             ) -> Iterator[tuple[TestClient, CaseApiComponents]]:
    """A client of the app over `store` (a fresh memory store by default); set `components.now` to move time."""
    views = CaseViews(store or MemoryCasesStore(), office_calendars(), target or fixed_target())
    components = CaseApiComponents(Settings(env="test", bootstrap_tokens=TOKENS), views, now)
    with TestClient(build_app(components)) as client:
        yield client, components
