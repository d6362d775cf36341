"""What readiness says of the projections: parked events (degraded, still ready) or a projection stuck behind the
log head (not ready), read from the read-model database so any process can tell (the API runs apart)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, select

from projections.failures import unresolved_counts
from projections.sqlstore import projection_positions
from services.adapters.metrics import PROJECTION_FAILURES

DEGRADED = "degraded"  # a readiness check in this state is reported but does not make the process unready


@dataclass(slots=True)
class _Seen:
    position: int
    behind_since: float | None  # monotonic time the projection was first seen behind the head at `position`


class ProjectionWatch:
    """`check()`: "ok"; "degraded: N parked failure(s) (names)"; or "stuck: NAME at P of HEAD for S s" when a
    projection's position has not moved for `stuck_after_s` while the log head is past it (a projector down,
    or failing every batch for a reason other than its events). Positions are sampled at each check."""

    def __init__(self, views: Engine, head: Callable[[], int], names: Sequence[str], stuck_after_s: float = 120.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._views, self._head, self._names = views, head, list(names)
        self._stuck_after_s, self._monotonic = stuck_after_s, monotonic
        self._seen: dict[str, _Seen] = {}

    def check(self) -> str:
        stuck = self._stuck(self._positions(), self._head(), self._monotonic())
        if stuck:
            return "stuck: " + "; ".join(stuck)
        counts = unresolved_counts(self._views)
        for name in self._names:
            PROJECTION_FAILURES.labels(name).set(counts.get(name, 0))
        parked = sum(counts.get(name, 0) for name in self._names)
        if parked:
            names = ", ".join(name for name in self._names if counts.get(name))
            return f"{DEGRADED}: {parked} parked failure{'s' if parked > 1 else ''} ({names})"
        return "ok"

    def _positions(self) -> dict[str, int]:
        statement = select(projection_positions.c.name, projection_positions.c.position).where(
            projection_positions.c.name.in_(self._names))
        with self._views.connect() as conn:
            return {name: int(position) for name, position in conn.execute(statement).tuples()}

    def _stuck(self, positions: dict[str, int], head: int, now: float) -> list[str]:
        stuck = []
        for name in self._names:
            position = positions.get(name, 0)
            seen = self._seen.get(name)
            if position >= head:
                self._seen[name] = _Seen(position, None)
            elif seen is None or seen.position != position or seen.behind_since is None:
                self._seen[name] = _Seen(position, now)
            elif now - seen.behind_since >= self._stuck_after_s:
                stuck.append(f"{name} at {position} of {head} for {now - seen.behind_since:.0f} s")
        return stuck
