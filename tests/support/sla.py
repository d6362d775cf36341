"""SLA test helpers: policy payloads and events built on the shipped configuration, clocks, recorded folds."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from contracts import Envelope, SlaBasis, SlaMetric, SlaPolicyPublishedPayload
from domain.log import RecordedEvent
from domain.sla.alerts import policy_publication
from domain.sla.calendar import BusinessCalendar
from domain.sla.clock import Clock
from domain.sla.policy import Policy, PolicyBook
from services.adapters.config import load_sla_config
from services.adapters.settings import Settings
from services.application.sla.views import SlaViews

TOKENS = ("card_centre=card-centre-token-01,card_centre-manager=card-manager-token-1,"
          "loan=loan-token-000000001,ops=ops-token-0000000001")
BEARER = {name: {"Authorization": f"Bearer {token}"} for name, token in
          (item.split("=") for item in TOKENS.split(","))}
SHANGHAI = ZoneInfo("Asia/Shanghai")
CONFIG = load_sla_config()
OFFICE: BusinessCalendar = CONFIG.calendars["default"]
HOUR = 3600


def at(day: str, hhmm: str) -> datetime:
    """A Shanghai wall-clock instant: at("2026-11-24", "09:30")."""
    return datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=SHANGHAI)


def policy_payload(version: int = 1, effective_at: datetime | None = None,
                   rules: Sequence[dict[str, Any]] | None = None, **extra: Any) -> SlaPolicyPublishedPayload:
    """The shipped default policy, or the given rules, with the shipped calendars and departments."""
    data = CONFIG.default_policy.model_dump(mode="json")
    data["version"] = version
    if effective_at is not None:
        data["effective_at"] = effective_at.isoformat()
    if rules is not None:
        data["rules"] = list(rules)
    return SlaPolicyPublishedPayload.model_validate(data | extra)


def policy_event(payload: SlaPolicyPublishedPayload | None = None, at_: datetime | None = None) -> Envelope:
    payload = payload or CONFIG.default_policy
    return policy_publication(payload.model_dump(mode="json"), at_ or payload.effective_at, "test", "config")


def book(*payloads: SlaPolicyPublishedPayload) -> PolicyBook:
    result = PolicyBook()
    for payload in payloads or (CONFIG.default_policy,):
        result = result.adding(Policy(payload))
    return result


def rule(name: str, *, match: dict[str, Any] | None = None, **targets: int | tuple[int, str]) -> dict[str, Any]:
    """A rule dict: rule("fast", resolution=4 * HOUR, first_response=(60, "calendar"))."""
    def target(value: int | tuple[int, str]) -> dict[str, Any]:
        seconds, basis = value if isinstance(value, tuple) else (value, "business")
        return {"seconds": seconds, "basis": basis}

    return {"name": name, "match": match or {}, "targets": {k: target(v) for k, v in targets.items()}}


def clock(started_at: datetime, target_seconds: float = 8 * HOUR, **overrides: Any) -> Clock:
    """A resolution clock on the office calendar with the default warnings (50%, 75%)."""
    values: dict[str, Any] = dict(
        clock_id="clock-1", metric=SlaMetric.RESOLUTION, case_id="CASE-1", department="card_centre",
        policy_version=1, rule="default", calendar=OFFICE, basis=SlaBasis.BUSINESS, target_seconds=target_seconds,
        warnings=(50, 75), escalate_to="card_centre-manager", started_at=started_at, start_event_id="e-1",
    )
    return Clock(**(values | overrides))


def recorded_from(events: Iterable[Envelope], start: int = 1) -> list[RecordedEvent]:
    return [RecordedEvent(position, event) for position, event in enumerate(events, start=start)]


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


@dataclass
class SlaComponents:
    """What the SLA endpoints read from the root (services.entrypoints.api.deps); `clock_at[0]` is the API's `now`."""

    sla: SlaViews
    clock_at: list[datetime]
    settings: Settings = field(default_factory=lambda: Settings(env="test", bootstrap_tokens=TOKENS))

    def clock(self) -> datetime:
        return self.clock_at[0]
