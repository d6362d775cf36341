"""What `touchline rebuild --into`, `touchline audit compare` and `touchline audit as-of` do, apart from the CLI."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from services.adapters.databases import open_views, projection_stores
from services.adapters.opening import open_event_store
from services.adapters.settings import Settings
from services.adapters.store.eventstore import EventStore
from services.application.replay import (
    REBUILD_BATCH,
    Checksummed,
    Comparison,
    Opened,
    Progress,
    Rebuilt,
    ReplayError,
    ReplayPlace,
    compare,
    costs_of,
    default_jobs,
    rebuild_target,
    replay_jobs,
)


def stores_on(views: Engine, name: str = "all") -> dict[str, Checksummed]:
    """The projection stores on `views` (tables created), all or the one named; ReplayError for an unknown name."""
    stores = cast(dict[str, Checksummed], projection_stores(views))
    if name == "all":
        return stores
    if name not in stores:
        raise ReplayError(f"unknown projection {name!r}; known: {', '.join(stores)}, all")
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


@dataclass(frozen=True, slots=True)
class RebuildPlace:
    """The event store of `settings` and a fresh place for rebuilt read models, as each replay process opens
    them (picklable: processes are spawned, never forked with open connections)."""

    settings: Settings
    into: str
    schema: str | None = None

    def open(self, names: Sequence[str]) -> Opened:
        return _opened(self.settings, rebuild_target(self.into, self.schema), names)


@dataclass(frozen=True, slots=True)
class LivePlace:
    """The event store and the live read models of `settings`, for an in-place rebuild."""

    settings: Settings

    def open(self, names: Sequence[str]) -> Opened:
        return _opened(self.settings, open_views(self.settings), names)


def _opened(settings: Settings, views: Engine, names: Sequence[str]) -> Opened:
    """The event store of `settings` and the stores `names` on `views`; closing closes both."""
    store, every = open_event_store(settings), stores_on(views)

    def close() -> None:
        views.dispose()
        store.close()

    return Opened(store, {name: every[name] for name in names}, close)


def rebuild_in_place(settings: Settings, store: EventStore, name: str, progress: Progress | None = None,
                     jobs: int | None = None) -> dict[str, Rebuilt]:
    """Reset `name` (or all) in the live read models and rebuild from zero up to the log head as it is now, in
    `jobs` processes; queries see partial results until it ends (stop the projector first)."""
    return _rebuild_to_head(settings, store, name, LivePlace(settings), open_views(settings), progress, jobs)


def rebuild_into(settings: Settings, store: EventStore, name: str, into: str, schema: str | None,
                 progress: Progress | None = None, jobs: int | None = None) -> dict[str, Rebuilt]:
    """Rebuild `name` (or all) from zero into a fresh place, up to the log head as it is now, in `jobs` processes
    (default: one per projection and CPU for long logs); the live read models are not touched."""
    refuse_live_target(settings, into, schema)
    return _rebuild_to_head(settings, store, name, RebuildPlace(settings, into, schema), rebuild_target(into, schema),
                            progress, jobs)


def _rebuild_to_head(settings: Settings, store: EventStore, name: str, place: ReplayPlace, views: Engine,
                     progress: Progress | None, jobs: int | None) -> dict[str, Rebuilt]:
    """Rebuild `name` (or all) in `place` from zero up to the log head as it is now; `views` (the place's
    database, disposed here) names the stores and their costs."""
    try:
        costs = costs_of(stores_on(views, name))
    finally:
        views.dispose()
    head, names = store.head(), list(costs)
    return replay_jobs(place, names, dict.fromkeys(names, head), jobs=jobs or default_jobs(names, head), costs=costs,
                       batch_size=_batch(settings), progress=progress)


def compare_live(settings: Settings, store: EventStore, into: str | None, schema: str | None = None,
                 progress: Progress | None = None, jobs: int | None = None) -> Comparison:
    """Rebuild every projection into `into` (default: a temporary SQLite file) and compare with the live ones."""
    live_views = open_views(settings)
    try:
        live = stores_on(live_views)
        with tempfile.TemporaryDirectory(prefix="touchline-compare-") as tmp:
            url = into or f"sqlite:///{Path(tmp) / 'rebuilt.db'}"
            if into is not None:
                refuse_live_target(settings, url, schema)
            rebuild_target(url, schema).dispose()  # creates the schema once, before processes race to
            return compare(store, live, RebuildPlace(settings, url, schema), jobs=jobs,
                           batch_size=_batch(settings), progress=progress)
    finally:
        live_views.dispose()


def replay_runner(settings: Settings, store: EventStore) -> Callable[[Progress], Comparison]:
    """What a replay asked for over HTTP runs (services.application.replays): `touchline audit compare`, into a
    temporary SQLite file."""
    return lambda progress: compare_live(settings, store, None, None, progress)


def _batch(settings: Settings) -> int:
    return max(settings.projector_batch_size, REBUILD_BATCH)


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
