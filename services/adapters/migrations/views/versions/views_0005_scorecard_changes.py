"""The scorecard's tables say which batch last wrote each row (`changed_at`, indexed), so the API's live scorecard
follows what changed instead of reading every row (docs/quality.md). Rows written before are `changed_at` 0, which a
reader starting from before any position (-1) reads once.

Revision ID: views_0005
Revises: views_0004
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "views_0005"
down_revision: str | None = "views_0004"
branch_labels: tuple[str, ...] | None = None
depends_on: str | None = None

TABLES = (
    "scorecard_feedback",
    "scorecard_sales",
    "scorecard_cases",
    "scorecard_reopens",
    "scorecard_visits",
    "scorecard_promises",
)


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    for table in TABLES:
        if "changed_at" not in {c["name"] for c in inspector.get_columns(table)}:  # a store's `create()` may have
            op.add_column(table, sa.Column("changed_at", sa.BigInteger(), nullable=False, server_default="0"))
        if f"ix_{table}_changed_at" not in {i["name"] for i in inspector.get_indexes(table)}:
            op.create_index(f"ix_{table}_changed_at", table, ["changed_at"])


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(f"ix_{table}_changed_at", table_name=table)
        op.drop_column(table, "changed_at")
