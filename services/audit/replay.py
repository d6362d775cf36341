"""Replay: rebuild projections from zero into a fresh place and compare their checksums with the live ones.

A replay writes only to the projection stores it is given: it never runs the SLA ticker, the alert dispatcher or
the webhook sender, and never appends to the event store, so nothing is re-sent and the log is untouched.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Engine, event, text
from sqlalchemy.engine import make_url

from projections.protocol import ProjectionStore
from projections.sqlstore import make_engine, url_with_search_path
from services.projector.engine import REBUILD_FLUSH, ProjectionEngine, fewer_collections, rebuilding
from services.store.eventstore import EventStore

Progress = Callable[[int, int], None]  # (position reached, last position to reach)
REBUILD_BATCH = 10_000


class Checksummed(ProjectionStore, Protocol):
    """A projection store with a deterministic checksum (every store in `projection_stores` has one)."""

    def checksum(self) -> str: ...


class ReplayError(Exception):
    """A replay target that cannot be used (the live read models themselves, a bad schema name)."""


@dataclass(frozen=True, slots=True)
class Rebuilt:
    """One projection rebuilt: how many events it applied, the position reached and its checksum."""

    name: str
    events: int
    position: int
    checksum: str


@dataclass(frozen=True, slots=True)
class Comparison:
    """Live and rebuilt checksums per projection, each pair at the same log position."""

    live: dict[str, tuple[int, str]]
    rebuilt: dict[str, Rebuilt]

    @property
    def differing(self) -> list[str]:
        return sorted(n for n, (pos, digest) in self.live.items()
                      if (self.rebuilt[n].position, self.rebuilt[n].checksum) != (pos, digest))


def rebuild_target(url: str, schema: str | None = None) -> Engine:
    """An engine on a fresh place for rebuilt read models: a SQLite file (written without fsync: a failed rebuild
    is simply run again) or a Postgres database with `schema` (or `?schema=` in the URL), created if missing."""
    parsed = make_url(url)
    schema = schema or parsed.query.get("schema")  # type: ignore[assignment]
    if parsed.get_backend_name() == "sqlite":
        engine = make_engine(url)
        event.listen(engine, "connect", _unsynchronised)
        return engine
    plain = parsed.difference_update_query(["schema"]).render_as_string(hide_password=False)
    if not schema:
        return make_engine(plain)
    try:
        with_path = url_with_search_path(plain, schema)
    except ValueError as exc:
        raise ReplayError(str(exc)) from exc
    with make_engine(plain).begin() as conn:
        conn.execute(text(f'create schema if not exists "{schema}"'))
    return make_engine(with_path)


def _unsynchronised(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=OFF")
    cursor.close()


def replay(
    store: EventStore,
    targets: Mapping[str, Checksummed],
    *,
    stops: Mapping[str, int] | None = None,
    batch_size: int = REBUILD_BATCH,
    flush_every: int = REBUILD_FLUSH,
    progress: Progress | None = None,
) -> dict[str, Rebuilt]:
    """Rebuild `targets` from zero together (each batch read and decoded once for all of them), each up to its
    position in `stops` (default: the log head when called); return their positions and checksums.

    Stores that can hold their state in memory (`rebuilding()`) fold batch after batch and write what changed
    every `flush_every` events and at the end, each flush one transaction with the position reached."""
    head = store.head()
    limits = {name: stops.get(name, head) if stops is not None else head for name in targets}
    for target in targets.values():
        target.create()
        target.reset()
    rebuilds = {name: rebuilding(target) for name, target in targets.items()}
    counts = dict.fromkeys(targets, 0)
    after, last, unflushed = 0, max(limits.values(), default=0), 0
    with fewer_collections():
        while after < last and (events := store.read(after, batch_size, stop=last)):
            for name, rebuild in rebuilds.items():
                mine = [e for e in events if e.position <= limits[name]]
                if mine:
                    rebuild.apply(mine)
                    counts[name] += len(mine)
            after, unflushed = events[-1].position, unflushed + len(events)
            if unflushed >= flush_every:
                for rebuild in rebuilds.values():
                    rebuild.flush()
                unflushed = 0
            if progress is not None:
                progress(after, last)
        for rebuild in rebuilds.values():
            rebuild.flush()
        return {name: _rebuilt(name, counts[name], t) for name, t in targets.items()}


def _rebuilt(name: str, events: int, target: Checksummed) -> Rebuilt:
    return Rebuilt(name, events, target.position(), target.checksum())


def compare(
    store: EventStore,
    live: Mapping[str, Checksummed],
    targets: Mapping[str, Checksummed],
    *,
    batch_size: int = REBUILD_BATCH,
    progress: Progress | None = None,
) -> Comparison:
    """Catch the live projections up to the log head, note each one's (position, checksum), rebuild `targets`
    from zero to exactly those positions, and pair the checksums."""
    ProjectionEngine(store, list(live.values()), batch_size).catch_up()
    noted = {name: _steady_checksum(projection) for name, projection in live.items()}
    rebuilt = replay(store, targets, stops={n: pos for n, (pos, _) in noted.items()}, batch_size=batch_size,
                     progress=progress)
    return Comparison(noted, rebuilt)


def _steady_checksum(projection: Checksummed, attempts: int = 5) -> tuple[int, str]:
    """(position, checksum) of a live projection that a running projector may be advancing: retried until the
    position is the same before and after (the checksum hashes the position it read with the rows)."""
    for _ in range(attempts):
        before = projection.position()
        digest = projection.checksum()
        if projection.position() == before:
            return before, digest
        time.sleep(0.05)
    raise ReplayError(f"{projection.name} kept moving; stop the projector and compare again")
