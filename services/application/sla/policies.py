"""Policy use cases: record the embedded default version at start-up, publish a new version at run time."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from contracts import Envelope, SlaPolicyPublishedPayload
from domain.sla.alerts import policy_event_id, policy_publication
from domain.sla.calendar import CalendarError
from domain.sla.policy import Policy, PolicyBook, PolicyError
from services.adapters.config import SlaConfig, calendars_document
from services.adapters.store.eventstore import EventStore, StoreConflict

log = logging.getLogger(__name__)
CLOCK_SKEW = timedelta(minutes=1)  # an effective time this far in the past still counts as "now"


class PolicyVersionTaken(Exception):
    """Another publication recorded this version first."""


def ensure_default_policy(store: EventStore, config: SlaConfig, book: PolicyBook, now: datetime) -> Envelope | None:
    """Record the config file's policy version unless the log holds it; returns the event if recorded.

    A version already recorded is history: if the file now differs, the recorded one stays in force and a
    warning says to bump the version. Versions after the first never take effect before they are recorded.
    """
    payload = config.default_policy
    if store.recorded_ids([policy_event_id(payload.version)]):
        recorded = book.version(payload.version)
        if recorded is not None and _content(recorded.payload) != _content(payload):
            log.warning("config policy v%d differs from the recorded v%d; bump `version` to publish the change",
                        payload.version, payload.version)
        return None
    if payload.version > 1 and payload.effective_at < now:
        payload = payload.model_copy(update={"effective_at": now})
    event = policy_publication(payload.model_dump(mode="json"), now, None, "config")
    try:
        store.append([event])
    except StoreConflict:
        return None  # another process recorded it first
    return event


def publish_policy(store: EventStore, config: SlaConfig, book: PolicyBook, draft: dict[str, Any], now: datetime,
                   by: str) -> Envelope:
    """Record a new policy version from `draft` (rules and optional calendars, departments, effective time).

    Raises PolicyError for an unusable draft and PolicyVersionTaken when the version was recorded meanwhile.
    """
    latest = book.latest.version if book.latest else 0
    version = int(draft.get("version") or latest + 1)
    if version <= latest:
        raise PolicyError(f"version must be greater than {latest}, the latest recorded")
    effective_at = draft.get("effective_at") or now
    if effective_at < now - CLOCK_SKEW:
        raise PolicyError("effective_at must not be in the past: running clocks keep the version they started under")
    payload = _payload(config, draft, version, effective_at)
    event = policy_publication(payload.model_dump(mode="json"), now, by, "touchline-api")
    try:
        store.append([event])
    except StoreConflict as exc:
        raise PolicyVersionTaken(f"policy version {version} was recorded meanwhile; retry") from exc
    return event


def _payload(config: SlaConfig, draft: dict[str, Any], version: int, effective_at: datetime
             ) -> SlaPolicyPublishedPayload:
    """The draft completed from the configuration (calendars and departments in force) and checked."""
    document: dict[str, Any] = {
        "version": version,
        "effective_at": effective_at,
        "description": draft.get("description"),
        "rules": draft["rules"],
        **calendars_document(config.calendars, config.departments),
    }
    for key in ("warning_percentages", "calendars", "departments", "sites", "default_calendar"):
        if draft.get(key):
            document[key] = draft[key]
    try:
        payload = SlaPolicyPublishedPayload.model_validate({k: v for k, v in document.items() if v is not None})
        Policy(payload)
    except (ValidationError, CalendarError) as exc:
        raise PolicyError(str(exc)) from exc
    return payload


def _content(payload: SlaPolicyPublishedPayload) -> dict[str, Any]:
    return payload.model_dump(mode="json", exclude={"effective_at"})
