"""Case events for rule and reducer tests: one case, minutes after T0, recorded by a department."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from contracts import Envelope
from tests.support.builders import make_event

TZ = timezone(timedelta(hours=8))
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=TZ)
CASE = "CASE-R-1"
WHO = {"customer_number": "C-1", "phone": "13800138000"}


def ev(event_type: str, minutes: float, dept: str = "loan", case: str | None = CASE, **payload: Any) -> Envelope:
    """An event of the case at T0 + minutes, recorded by `dept`, with these payload fields."""
    channel = "internal" if event_type.startswith(("case.", "callback.")) else "phone"
    channel = "web" if event_type.startswith("web.") else channel
    return make_event(event_type, occurred_at=T0 + timedelta(minutes=minutes), department=dept,
                      channel=channel, customer=WHO, case_id=case, payload=payload)


def opened(minutes: float = 0, department: str = "loan") -> Envelope:
    return ev("case.opened", minutes, department, case_type="inquiry", subject="card never arrived",
              priority="normal", description="applied two months ago")


def handed(minutes: float, source: str, to: str, department: str | None = None) -> Envelope:
    return ev("case.handed_off", minutes, department or source, from_department=source, to_department=to,
              reason=f"{to} owns this", context_summary="identity verified; do not ask again")


def accepted(minutes: float, department: str, handoff: Envelope | None = None) -> Envelope:
    return ev("case.handoff_accepted", minutes, department, department=department,
              handoff_event_id=str(handoff.event_id) if handoff is not None else None)
