"""The webhook delivery queue and its log (SQL in the views database): what to send, and every attempt."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    select,
    update,
)

from domain.instants import epoch_us
from projections.sqlstore import (
    dialect_insert,
    ensure_position,
    projection_positions,
    read_position,
    write_position,
    write_transaction,
)

DISPATCH_NAME = "sla-dispatch"  # its position row in projection_positions (not a projection: never rebuilt)
_NAMESPACE = uuid.UUID("0d9b6c1e-2f4a-5e3b-8c7d-6a5f4e3d2c1b")

metadata = MetaData()
deliveries_table = Table(
    "sla_webhook_deliveries", metadata,
    Column("delivery_id", String(36), primary_key=True),
    Column("alert_id", String(36), nullable=False, index=True),
    Column("event_type", String(100), nullable=False),
    Column("department", String(63), nullable=False),
    Column("url", Text, nullable=False),
    Column("secret_env", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(16), nullable=False),  # pending | delivered | failed
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_us", BigInteger, index=True),
    Column("last_error", Text),
)
attempts_table = Table(
    "sla_webhook_attempts", metadata,
    Column("delivery_id", String(36), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("at", String(40), nullable=False),
    Column("status_code", Integer),
    Column("error", Text),
    Column("duration_ms", Integer, nullable=False),
    PrimaryKeyConstraint("delivery_id", "attempt"),
)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One alert to POST to one webhook."""

    delivery_id: str
    alert_id: str
    event_type: str
    department: str
    url: str
    secret_env: str
    body: str
    status: str = "pending"
    attempts: int = 0
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class Attempt:
    """A delivery attempt as logged: when, the HTTP status (if any), the error (if any), how long it took."""

    delivery_id: str
    attempt: int
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


def delivery_id_for(alert_id: str, url: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{alert_id}|{url}"))


class DeliveryStore:
    """Queue rows enqueued together with the dispatcher's log position; attempts appended to the log."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(self) -> None:
        with write_transaction(self._engine) as conn:
            metadata.create_all(conn)
            projection_positions.create(conn, checkfirst=True)
            ensure_position(conn, DISPATCH_NAME)

    def position(self) -> int:
        with self._engine.connect() as conn:
            return read_position(conn, DISPATCH_NAME, lock=False)

    def enqueue(self, deliveries: Sequence[Delivery], position: int, now: datetime) -> None:
        """Queue deliveries (a redelivered one is ignored) and move the dispatcher's position, atomically."""
        with write_transaction(self._engine) as conn:
            if read_position(conn, DISPATCH_NAME) >= position:
                return
            if deliveries:
                rows = [_row(d, now) for d in deliveries]
                conn.execute(dialect_insert(conn, deliveries_table).on_conflict_do_nothing(), rows)
            write_position(conn, DISPATCH_NAME, position)

    def due(self, now: datetime, limit: int = 100) -> list[Delivery]:
        t = deliveries_table.c
        statement = (select(deliveries_table).where(t.status == "pending", t.next_attempt_us <= epoch_us(now))
                     .order_by(t.next_attempt_us).limit(limit))
        with self._engine.connect() as conn:
            return [_delivery(row._mapping) for row in conn.execute(statement)]

    def record(self, delivery: Delivery, attempt: Attempt, status: str, next_at: datetime | None) -> None:
        """Log an attempt and move the delivery to `status` (pending again with `next_at`, or final)."""
        with write_transaction(self._engine) as conn:
            conn.execute(attempts_table.insert(), [_attempt_row(attempt)])
            conn.execute(update(deliveries_table).where(deliveries_table.c.delivery_id == delivery.delivery_id)
                         .values(status=status, attempts=attempt.attempt, last_error=attempt.error,
                                 next_attempt_us=epoch_us(next_at) if next_at else None))

    def for_alert(self, alert_id: str) -> list[tuple[Delivery, list[Attempt]]]:
        """The deliveries of an alert with their attempts (the delivery log)."""
        with self._engine.connect() as conn:
            rows = conn.execute(select(deliveries_table).where(deliveries_table.c.alert_id == alert_id)
                                .order_by(deliveries_table.c.url))
            deliveries = [_delivery(row._mapping) for row in rows]
            return [(d, self._attempts(conn, d.delivery_id)) for d in deliveries]

    @staticmethod
    def _attempts(conn: Any, delivery_id: str) -> list[Attempt]:
        rows = conn.execute(select(attempts_table).where(attempts_table.c.delivery_id == delivery_id)
                            .order_by(attempts_table.c.attempt))
        return [Attempt(r.delivery_id, r.attempt, datetime.fromisoformat(r.at), r.status_code, r.error, r.duration_ms)
                for r in rows]


def _row(delivery: Delivery, now: datetime) -> dict[str, Any]:
    return {"delivery_id": delivery.delivery_id, "alert_id": delivery.alert_id, "event_type": delivery.event_type,
            "department": delivery.department, "url": delivery.url, "secret_env": delivery.secret_env,
            "body": delivery.body, "status": "pending", "attempts": 0, "next_attempt_us": epoch_us(now),
            "last_error": None}


def _delivery(row: Any) -> Delivery:
    return Delivery(row["delivery_id"], row["alert_id"], row["event_type"], row["department"], row["url"],
                    row["secret_env"], row["body"], row["status"], row["attempts"], row["last_error"])


def _attempt_row(attempt: Attempt) -> dict[str, Any]:
    return {"delivery_id": attempt.delivery_id, "attempt": attempt.attempt, "at": attempt.at.isoformat(),
            "status_code": attempt.status_code, "error": attempt.error, "duration_ms": attempt.duration_ms}
