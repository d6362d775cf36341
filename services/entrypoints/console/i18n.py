"""Console languages (zh-CN, en): the label catalogues, choosing one per request, and local date/number formats."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from services.entrypoints.console.summaries import localised

LANGUAGES = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"
DEFAULT_ZONE = ZoneInfo("Asia/Shanghai")
CATALOGUES = Path(__file__).parent / "i18n"
DEPARTMENTS = ("frontdesk", "hotline", "web", "repair", "sales", "loan", "card_centre", "approval_office")
"""The shipped departments (config/departments.toml and the development tokens), offered as filters."""


@cache
def catalogue(language: str) -> dict[str, str]:
    """Every label of one language (i18n/<language>.json)."""
    data: dict[str, str] = json.loads((CATALOGUES / f"{language}.json").read_text(encoding="utf-8"))
    return data


def negotiate(cookie: str | None, accept_language: str | None) -> str:
    """The language switch's choice (cookie), else the browser's first supported language, else zh-CN."""
    if cookie in LANGUAGES:
        return cookie
    for language, _ in sorted(_weighted(accept_language or ""), key=lambda item: -item[1]):
        base = language.split("-")[0]
        if base == "zh":
            return "zh-CN"
        if base == "en":
            return "en"
    return DEFAULT_LANGUAGE


def _weighted(header: str) -> list[tuple[str, float]]:
    items = []
    for part in header.split(","):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag:
            items.append((tag.strip().lower(), quality))
    return items


@dataclass(frozen=True, slots=True)
class Locale:
    """Labels and formats of one language, times shown in `zone`."""

    language: str
    zone: ZoneInfo = DEFAULT_ZONE

    def t(self, key: str, **values: object) -> str:
        """The label `key` (falls back to English, then to the key itself), with `{name}` values filled in."""
        text = catalogue(self.language).get(key) or catalogue("en").get(key) or key
        return text.format(**values) if values else text

    def label(self, prefix: str, value: str | None) -> str:
        """A value's translated name (`channel.phone`), or the value itself when the catalogue has none."""
        if value is None:
            return "—"
        return catalogue(self.language).get(f"{prefix}.{value}") or catalogue("en").get(f"{prefix}.{value}") or value

    def summary(self, event_type: str, recorded: str) -> str:
        """An event's timeline summary in this language (summaries.py), else as recorded."""
        return localised(self, event_type, recorded)

    def when(self, value: datetime | None) -> str:
        if value is None:
            return "—"
        local = value.astimezone(self.zone)
        if self.language == "zh-CN":
            return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"
        return f"{local.day} {local:%b} {local.year}, {local:%H:%M}"

    def iso(self, value: datetime | None) -> str:
        return value.astimezone(self.zone).isoformat() if value is not None else ""

    def number(self, value: float | int | None, digits: int = 0) -> str:
        if value is None:
            return "—"
        return f"{value:,.{digits}f}"

    def percent(self, value: float | None) -> str:
        return "—" if value is None else f"{value:,.0f}%"

    def duration(self, seconds: float | None) -> str:
        """`2 d 3 h 5 min` / `2天3小时5分钟`: days, hours and minutes, the largest two that are not zero."""
        if seconds is None:
            return "—"
        minutes = int(abs(seconds) // 60)
        parts = [(minutes // 1440, "d"), (minutes % 1440 // 60, "h"), (minutes % 60, "min")]
        shown = [(n, unit) for n, unit in parts if n][:2] or [(0, "min")]
        sign = "-" if seconds < 0 else ""
        if self.language == "zh-CN":
            units = {"d": "天", "h": "小时", "min": "分钟"}
            return sign + "".join(f"{n}{units[u]}" for n, u in shown)
        return sign + " ".join(f"{n} {u}" for n, u in shown)
