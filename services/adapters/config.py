"""Configuration files: business calendars, department settings and the embedded default SLA policy (TOML)."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from contracts import SlaPolicyPublishedPayload
from domain.identity.graph import DEFAULT_SHARED_THRESHOLD
from domain.identity.segments import parse_rules
from domain.quality.fcr import FcrConfig
from domain.quality.proactive import ProactiveConfig, Rhythm
from domain.sla.calendar import BusinessCalendar, CalendarError, calendar_from_mapping
from domain.sla.policy import Policy, PolicyError, calendar_contract, parse_duration
from projections.customers.card import CardSettings
from services.adapters.holidays import UnknownCountry, public_holidays

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"
"""The repository's config directory (calendars/, departments.toml, sla/); images set TOUCHLINE_CONFIG_DIR."""

CONFIG_DIR_ENV = "TOUCHLINE_CONFIG_DIR"
HOLIDAYS_SUBDIR = "holidays"
DEFAULT_WEBHOOK_SECRET_ENV = "TOUCHLINE_WEBHOOK_SECRET"


def config_dir(override: Path | None = None) -> Path:
    """`override`, else $TOUCHLINE_CONFIG_DIR, else the repository's config/ (read when called, not imported)."""
    return override or Path(os.environ.get(CONFIG_DIR_ENV) or CONFIG_DIR)


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True, slots=True)
class Webhook:
    """Where a department's alerts are POSTed, and the environment variable holding the HMAC key."""

    department: str
    url: str
    secret_env: str = DEFAULT_WEBHOOK_SECRET_ENV


@dataclass(frozen=True, slots=True)
class DepartmentConfig:
    """Department and site settings from config/departments.toml."""

    default_calendar: str = "default"
    calendars: Mapping[str, str] = field(default_factory=dict)  # department -> calendar name
    manager_roles: Mapping[str, str] = field(default_factory=dict)  # department -> role
    sites: Mapping[str, str] = field(default_factory=dict)  # site -> calendar name
    webhooks: tuple[Webhook, ...] = ()

    def calendar_name(self, department: str, site: str | None = None) -> str:
        """The calendar of a site if listed, else of the department, else the default."""
        return self.sites.get(site or "") or self.calendars.get(department) or self.default_calendar

    def manager_role(self, department: str) -> str:
        return self.manager_roles.get(department, f"{department}-manager")


def read_toml(path: Path) -> dict[str, Any]:
    """A TOML file as a dict; CalendarError naming the file when it does not parse."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise CalendarError(f"{path}: {exc}") from exc


def load_holiday_sets(directory: Path) -> dict[str, dict[str, list[Any]]]:
    """`<directory>/*.toml` by file stem: each with `holidays` and `makeup_workdays` lists."""
    sets: dict[str, dict[str, list[Any]]] = {}
    for path in sorted(directory.glob("*.toml")):
        data = read_toml(path)
        sets[path.stem] = {key: list(data.get(key, [])) for key in ("holidays", "makeup_workdays")}
    return sets


def load_calendars(directory: Path | None = None) -> dict[str, BusinessCalendar]:
    """Every `<directory>/<name>.toml` calendar by name (default: `<config dir>/calendars`), with its
    `public_holidays` taken from the holidays library and its `holiday_sets` merged in from `holidays/`."""
    directory = directory or config_dir() / "calendars"
    holiday_sets = load_holiday_sets(directory / HOLIDAYS_SUBDIR)
    return {
        path.stem: calendar_from_mapping(path.stem, _with_holidays(path.stem, read_toml(path), holiday_sets))
        for path in sorted(directory.glob("*.toml"))
    }


def _with_holidays(name: str, data: Mapping[str, Any], sets: Mapping[str, Mapping[str, list[Any]]]) -> dict[str, Any]:
    """The calendar data with its named holiday sets appended to its own holidays and make-up days."""
    merged = {key: value for key, value in data.items() if key not in ("holiday_sets", "public_holidays")}
    if "public_holidays" in data:
        merged = _with_public_holidays(name, str(data["public_holidays"]), merged)
    for set_name in data.get("holiday_sets", []):
        if set_name not in sets:
            raise CalendarError(f"calendar {name!r}: unknown holiday set {set_name!r} (no holidays/{set_name}.toml)")
        for key in ("holidays", "makeup_workdays"):
            merged[key] = [*merged.get(key, []), *sets[set_name][key]]
    return merged


def _with_public_holidays(name: str, country: str, data: dict[str, Any]) -> dict[str, Any]:
    """The calendar's own days plus the country's from the library, covering the years the library covers
    (the calendar's own `holiday_years` may narrow them, never widen them)."""
    try:
        found = public_holidays(country).as_calendar_data()
    except UnknownCountry as exc:
        raise CalendarError(f"calendar {name!r}: {exc}") from None
    first, last = found["holiday_years"]
    if "holiday_years" in data:
        own = data["holiday_years"]
        first, last = max(first, int(own[0])), min(last, int(own[1]))
    merged = dict(data)
    for key in ("holidays", "makeup_workdays"):
        merged[key] = [*data.get(key, []), *found[key]]
    merged["holiday_years"] = [first, last]
    return merged


def load_departments(path: Path | None = None) -> DepartmentConfig:
    """Department calendars, manager roles, site calendars and webhooks (default: `<config dir>/departments.toml`)."""
    data = read_toml(path or config_dir() / "departments.toml")
    departments: dict[str, dict[str, Any]] = data.get("departments", {})
    webhooks = tuple(
        Webhook(name, str(hook["url"]), str(hook.get("secret_env", DEFAULT_WEBHOOK_SECRET_ENV)))
        for name, settings in departments.items()
        for hook in settings.get("webhooks", [])
    )
    return DepartmentConfig(
        default_calendar=str(data.get("default_calendar", "default")),
        calendars={name: str(s["calendar"]) for name, s in departments.items() if "calendar" in s},
        manager_roles={name: str(s["manager_role"]) for name, s in departments.items() if "manager_role" in s},
        sites={str(site): str(calendar) for site, calendar in data.get("sites", {}).items()},
        webhooks=webhooks,
    )


def load_policy(
    path: Path | None = None, calendars_dir: Path | None = None, departments_path: Path | None = None
) -> SlaPolicyPublishedPayload:
    """The embedded default policy: the rules of `path` (default: `<config dir>/sla/policy.toml`) with the
    configured calendars and departments."""
    path = path or config_dir() / "sla" / "policy.toml"
    data = read_toml(path)
    departments = load_departments(departments_path)
    payload = policy_payload(data, load_calendars(calendars_dir), departments)
    try:
        Policy(payload)
    except (PolicyError, CalendarError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    return payload


def policy_payload(data: Mapping[str, Any], calendars: Mapping[str, BusinessCalendar],
                   departments: DepartmentConfig) -> SlaPolicyPublishedPayload:
    """A policy payload from a TOML-like mapping of rules, snapshotting calendars and departments."""
    effective = data.get("effective_at")
    document = {
        "version": data.get("version"),
        "effective_at": effective.isoformat() if isinstance(effective, datetime) else effective,
        "description": data.get("description"),
        "warning_percentages": data.get("warning_percentages", [50, 75]),
        "rules": [_rule(rule) for rule in data.get("rules", [])],
        **calendars_document(calendars, departments),
    }
    try:
        return SlaPolicyPublishedPayload.model_validate({k: v for k, v in document.items() if v is not None})
    except ValidationError as exc:
        raise ConfigError(f"policy: {exc}") from exc


def calendars_document(calendars: Mapping[str, BusinessCalendar], departments: DepartmentConfig) -> dict[str, Any]:
    """The calendars, departments and sites of a policy payload, as configured (the snapshot a version keeps)."""
    names = sorted(set(departments.calendars) | set(departments.manager_roles))
    return {
        "calendars": [calendar_contract(c) for c in calendars.values()],
        "default_calendar": departments.default_calendar,
        "departments": [{"department": name, "calendar": departments.calendar_name(name),
                         "manager_role": departments.manager_role(name)} for name in names],
        "sites": [{"site": site, "calendar": calendar} for site, calendar in sorted(departments.sites.items())],
    }


def _rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    """A rule with `{within = "4h", basis = ...}` targets turned into seconds."""
    targets = {
        metric: {"seconds": parse_duration(target.get("within", target.get("seconds"))),
                 "basis": target.get("basis", "business")}
        for metric, target in rule.get("targets", {}).items()
    }
    return {**rule, "targets": targets}


@dataclass(frozen=True, slots=True)
class SlaConfig:
    """Everything SLA read from the config directory: calendars, departments and the default policy."""

    calendars: Mapping[str, BusinessCalendar]
    departments: DepartmentConfig
    default_policy: SlaPolicyPublishedPayload


def load_sla_config(directory: Path | None = None) -> SlaConfig:
    """Calendars (`calendars/`), departments (`departments.toml`) and policy (`sla/policy.toml`)."""
    root = config_dir(directory)
    calendars_dir, departments_path = root / "calendars", root / "departments.toml"
    return SlaConfig(
        calendars=load_calendars(calendars_dir),
        departments=load_departments(departments_path),
        default_policy=load_policy(root / "sla" / "policy.toml", calendars_dir, departments_path),
    )


@dataclass(frozen=True, slots=True)
class IdentityConfig:
    """Identity resolution and context-card settings (`<config dir>/identity.toml`)."""

    shared_threshold: int
    card: CardSettings


def load_identity_config(directory: Path | None = None) -> IdentityConfig:
    """The identity settings; a missing file means the defaults (threshold 1, no segments)."""
    path = (directory or config_dir()) / "identity.toml"
    data = read_toml(path) if path.exists() else {}
    resolution, card = data.get("resolution", {}), data.get("card", {})
    try:
        rules = parse_rules(data.get("segments", []))
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    threshold = resolution.get("shared_threshold", DEFAULT_SHARED_THRESHOLD)
    if not isinstance(threshold, int) or threshold < 1:
        raise ConfigError(f"{path}: resolution.shared_threshold must be an integer of at least 1")
    return IdentityConfig(threshold, CardSettings(
        recent_interactions=int(card.get("recent_interactions", 10)),
        contact_window_days=int(card.get("contact_window_days", 90)),
        segments=rules,
    ))


def load_quality_config(directory: Path | None = None) -> tuple[FcrConfig, ProactiveConfig]:
    """The FCR windows and the proactive-contact rhythms from quality.toml; a missing file means the defaults."""
    path = (directory or config_dir()) / "quality.toml"
    data = read_toml(path) if path.exists() else {}
    fcr, proactive = data.get("fcr", {}), data.get("proactive", {})
    try:
        fcr_config = FcrConfig(**_known(fcr, {"window_days", "resolve_within_hours"}, "fcr"))
        options = _known(proactive, {"last_contacts", "segments"}, "proactive")
        defaults = ProactiveConfig()
        rhythms = tuple(_rhythm(entry) for entry in options["segments"]) if "segments" in options \
            else defaults.rhythms
        proactive_config = ProactiveConfig(rhythms, int(options.get("last_contacts", defaults.last_contacts)))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    return fcr_config, proactive_config


def _known(table: Any, names: set[str], where: str) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise ValueError(f"[{where}] must be a table")
    unknown = sorted(set(table) - names)
    if unknown:
        raise ValueError(f"[{where}] has unknown settings: {', '.join(unknown)}")
    for name, value in table.items():
        if name == "segments":
            if not isinstance(value, list):
                raise ValueError(f"{where}.segments must be an array of tables ([[{where}.segments]])")
        elif name == "multiple":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{where}.{name} must be a number")
        elif isinstance(value, bool) or not isinstance(value, int) or value < (1 if name == "last_contacts" else 0):
            raise ValueError(f"{where}.{name} must be a whole number of at least {1 if name == 'last_contacts' else 0}")
    return dict(table)


def _rhythm(entry: Any) -> tuple[str, Rhythm]:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"]:
        raise ValueError("every [[proactive.segments]] needs a name")
    settings = _known({k: v for k, v in entry.items() if k != "name"}, {"multiple", "min_days", "min_gaps"},
                      f"proactive.segments.{entry['name']}")
    return entry["name"], Rhythm(**settings)
