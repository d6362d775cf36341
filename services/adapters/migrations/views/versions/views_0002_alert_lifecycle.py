"""SLA alerts get their whole lifecycle (open, acknowledged, resolved, retracted): when a stopped clock resolved an
alert, and when and why a later fact retracted it (docs/sla.md, "Late facts").

Existing rows keep the states they had; `touchline rebuild sla` re-derives resolutions and retractions for them.

Revision ID: views_0002
Revises: views_0001
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "views_0002"
down_revision: str | None = "views_0001"
branch_labels: tuple[str, ...] | None = None
depends_on: str | None = None

COLUMNS = (("resolved_at", sa.String(length=40)), ("retracted_at", sa.String(length=40)),
           ("retraction_reason", sa.Text()))


def _present() -> set[str]:
    """Columns sla_alerts already has (a table created by a store's `create()` may have them all)."""
    return {column["name"] for column in sa.inspect(op.get_bind()).get_columns("sla_alerts")}


def upgrade() -> None:
    present = _present()
    with op.batch_alter_table("sla_alerts") as batch:
        for name, kind in COLUMNS:
            if name not in present:
                batch.add_column(sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sla_alerts") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
