"""The events projections parked (`projection_failures`): listing, counting, retry requests and resolution."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, Engine, Row, and_, func, or_, select, update

from domain.instants import epoch_us, from_epoch_us
from projections.cursor import InvalidCursor, pack, unpack
from projections.protocol import Failure
from projections.sqlstore import in_chunks, projection_failures, write_transaction

_CURSOR = re.compile(r"([a-z0-9_.-]{1,100}):(\d{1,19})")
_T = projection_failures.c


def failures(engine: Engine, *, projection: str | None = None, resolved: bool = False, cursor: str | None = None,
             limit: int = 50) -> tuple[list[Failure], str | None]:
    """Parked events ordered by (projection, position), unresolved ones only unless `resolved`; a page of at most
    `limit` and the cursor of the next page (None when none follows). InvalidCursor for a cursor not ours."""
    conditions = [*([_T.projection == projection] if projection else []),
                  *([] if resolved else [_T.resolved_us.is_(None)])]
    if cursor is not None:
        match = unpack(cursor, _CURSOR, "failure")
        after, at = match[1], int(match[2])
        if at >= 2**63:
            raise InvalidCursor("malformed failure cursor")
        conditions.append(or_(_T.projection > after, and_(_T.projection == after, _T.position > at)))
    statement = (select(projection_failures).where(*conditions).order_by(_T.projection, _T.position)
                 .limit(limit + 1))
    with engine.connect() as conn:
        found = [failure_of(row) for row in conn.execute(statement)]
    more = len(found) > limit
    page = found[:limit]
    return page, (pack(f"{page[-1].projection}:{page[-1].position}") if more else None)


def unresolved_counts(engine: Engine) -> dict[str, int]:
    """Unresolved parked events per projection (projections with none are absent)."""
    statement = (select(_T.projection, func.count()).where(_T.resolved_us.is_(None)).group_by(_T.projection))
    with engine.connect() as conn:
        return {name: int(count) for name, count in conn.execute(statement).tuples()}


def request_retry(engine: Engine, at: datetime, projection: str | None = None, position: int | None = None) -> int:
    """Ask the projector to retry the unresolved parked events chosen (all, a projection's, or one); how many."""
    conditions = [_T.resolved_us.is_(None), *([_T.projection == projection] if projection else []),
                  *([_T.position == position] if position is not None else [])]
    with write_transaction(engine) as conn:
        done = conn.execute(update(projection_failures).where(*conditions).values(retry_requested_us=epoch_us(at)))
        return int(done.rowcount or 0)


def retry_requests(engine: Engine) -> list[str]:
    """The projections with a retry asked for and not yet done."""
    statement = select(_T.projection).where(_T.retry_requested_us.is_not(None)).distinct().order_by(_T.projection)
    with engine.connect() as conn:
        return list(conn.execute(statement).scalars())


def unresolved_positions(engine: Engine, projection: str) -> set[int]:
    statement = select(_T.position).where(_T.projection == projection, _T.resolved_us.is_(None))
    with engine.connect() as conn:
        return set(conn.execute(statement).scalars())


def settle(engine: Engine, projection: str, resolved: Iterable[int], at: datetime) -> None:
    """After a rebuild from zero of `projection`: the parked events it applied are resolved at `at`, and every
    retry asked for it is done (those it parked again stay unresolved, with one more attempt)."""
    with write_transaction(engine) as conn:
        _resolve(conn, projection, sorted(resolved), epoch_us(at))
        conn.execute(update(projection_failures).where(_T.projection == projection)
                     .values(retry_requested_us=None))


def _resolve(conn: Connection, projection: str, positions: list[int], at_us: int) -> None:
    for chunk in in_chunks(positions):
        conn.execute(update(projection_failures).where(_T.projection == projection, _T.position.in_(chunk))
                     .values(resolved_us=at_us))


def failure_of(row: Row) -> Failure:
    return Failure(row.projection, row.position, row.event_id, row.event_type, row.error_type, row.error_message,
                   from_epoch_us(row.last_failed_us), from_epoch_us(row.first_failed_us), row.attempts,
                   from_epoch_us(row.resolved_us) if row.resolved_us is not None else None)
