"""What `touchline rebuild --into`, `touchline audit compare` and `touchline audit as-of` do, apart from the CLI."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import cast

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from services.audit.replay import (
    Checksummed,
    Comparison,
    Progress,
    Rebuilt,
    ReplayError,
    compare,
    rebuild_target,
    replay,
)
from services.bootstrap import open_views, projection_stores
from services.settings import Settings
from services.store.eventstore import EventStore


def stores_on(views: Engine, name: str = "all") -> dict[str, Checksummed]:
    """The projection stores on `views` (tables created), all or the one named; KeyError for an unknown name."""
    stores = cast(dict[str, Checksummed], projection_stores(views))
    if name == "all":
        return stores
    return {name: stores[name]}


def refuse_live_target(settings: Settings, into: str, schema: str | None) -> None:
    """A rebuild into the live read models would be an in-place rebuild: refuse it (use no --into for that)."""
    live, target = make_url(settings.views_url), make_url(into)
    same_db = live.set(query={}) == target.set(query={})
    if live.get_backend_name() == "sqlite":
        same_db = Path(live.database or "").resolve() == Path(target.database or "").resolve()
    same_schema = (schema or target.query.get("schema") or "") == (settings.db_schema or "")
    if same_db and (same_schema or live.get_backend_name() == "sqlite"):
        raise ReplayError(f"{into} holds the live read models; rebuild into a fresh database or schema")


def rebuild_into(settings: Settings, store: EventStore, name: str, into: str, schema: str | None,
                 progress: Progress | None = None) -> dict[str, Rebuilt]:
    """Rebuild `name` (or all) from zero into a fresh place; the live read models are not touched."""
    refuse_live_target(settings, into, schema)
    views = rebuild_target(into, schema)
    try:
        return replay(store, stores_on(views, name), batch_size=max(settings.projector_batch_size, 10_000),
                      progress=progress)
    finally:
        views.dispose()


def compare_live(settings: Settings, store: EventStore, into: str | None, schema: str | None = None,
                 progress: Progress | None = None) -> Comparison:
    """Rebuild every projection into `into` (default: a temporary SQLite file) and compare with the live ones."""
    live_views = open_views(settings)
    try:
        live = stores_on(live_views)
        with tempfile.TemporaryDirectory(prefix="touchline-compare-") as tmp:
            url = into or f"sqlite:///{Path(tmp) / 'rebuilt.db'}"
            if into is not None:
                refuse_live_target(settings, url, schema)
            views = rebuild_target(url, schema)
            try:
                return compare(store, live, stores_on(views),
                               batch_size=max(settings.projector_batch_size, 10_000), progress=progress)
            finally:
                views.dispose()
    finally:
        live_views.dispose()


def differing_lines(comparison: Comparison) -> Mapping[str, str]:
    """One line per projection: equal, or both positions and checksums."""
    lines: dict[str, str] = {}
    for name, (position, digest) in sorted(comparison.live.items()):
        rebuilt = comparison.rebuilt[name]
        same = (rebuilt.position, rebuilt.checksum) == (position, digest)
        lines[name] = (f"equal at position {position}: {digest}" if same else
                       f"DIFFERENT: live {digest} at {position}, rebuilt {rebuilt.checksum} at {rebuilt.position}")
    return lines


__all__ = ["compare_live", "differing_lines", "rebuild_into", "stores_on"]
