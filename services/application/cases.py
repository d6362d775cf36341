"""Wiring of the case views: the cases store, each department's business calendar and the acceptance target."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from domain.cases import Calendar, CalendarFor, HandoffTarget, fixed_target
from domain.sla.calendar import TWENTY_FOUR_SEVEN
from domain.sla.handoffs import policy_handoff_target
from domain.sla.policy import PolicyBook
from projections.cases import CaseQuery
from projections.cases.queries import CasesStore
from projections.cases.views import Inbox, inbox
from services.adapters.config import DepartmentConfig, config_dir, load_calendars, load_departments

OPEN_STATUSES = ("open", "waiting_on_customer")


@dataclass(frozen=True)
class CaseViews:
    """What the case, inbox and handoff endpoints need besides the clock."""

    store: CasesStore
    calendar_for: CalendarFor
    default_target: HandoffTarget
    policies: Callable[[], PolicyBook] | None = None  # recorded SLA policies, read once per request

    @property
    def handoff_target(self) -> HandoffTarget:
        """The SLA policies' handoff-acceptance target (the default where none applies)."""
        if self.policies is None:
            return self.default_target
        return policy_handoff_target(self.policies(), self.default_target)


def calendar_lookup(calendars: Mapping[str, Calendar], departments: DepartmentConfig) -> CalendarFor:
    """`calendar_for(department)`: the department's configured calendar, else the default one, else 24x7."""
    fallback = calendars.get(departments.default_calendar, TWENTY_FOUR_SEVEN)

    def calendar_for(department: str) -> Calendar:
        return calendars.get(departments.calendar_name(department), fallback)

    return calendar_for


def build_case_views(
    store: CasesStore,
    handoff_target_hours: float,
    directory: Path | None = None,
    policies: Callable[[], PolicyBook] | None = None,
) -> CaseViews:
    """Case views over `store` with the calendars and departments of the config directory; the acceptance
    target comes from the recorded SLA policies, else `handoff_target_hours` of the receiver's business time."""
    root = config_dir(directory)
    calendar_for = calendar_lookup(load_calendars(root / "calendars"), load_departments(root / "departments.toml"))
    return CaseViews(store, calendar_for, fixed_target(timedelta(hours=handoff_target_hours)), policies)


def department_inbox(views: CaseViews, department: str, now: datetime, limit: int) -> Inbox:
    """The department's inbox as of `now`: up to `limit` cases per section, with the sections' totals."""
    store = views.store
    awaiting = CaseQuery(pending_to=department, limit=limit)
    held = CaseQuery(holder=department, statuses=OPEN_STATUSES, limit=limit)
    return inbox(department, store.cases(awaiting).cases, store.cases(held).cases, now, views.calendar_for,
                 views.handoff_target, (store.count(awaiting), store.count(held)))
