"""The timeline no longer keeps `timeline_identifiers` (identifier → anchor tallies): nothing read it, the identity
read model (`customer_nodes`) answers every lookup by identifier.

Dropping it loses nothing that a rebuild could not derive; a downgrade creates it empty (`touchline rebuild
timeline` with the earlier code fills it again).

Revision ID: views_0003
Revises: views_0002
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "views_0003"
down_revision: str | None = "views_0002"
branch_labels: tuple[str, ...] | None = None
depends_on: str | None = None

TABLE = "timeline_identifiers"


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table(TABLE):
        op.drop_table(TABLE)


def downgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=320), nullable=False),
        sa.Column("customer_id", sa.String(length=100), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("first_position", sa.BigInteger(), nullable=False),
        sa.Column("last_position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "value", "customer_id"),
    )
