"""The service-quality read models: SERVQUAL (`servqual_*`), the scorecard (`scorecard_*`) and the contact facts
behind first-contact resolution, proactive contact, failure-prone touchpoints and staff assessment
(`quality_contact_facts`); docs/quality.md.

New tables only: `touchline rebuild servqual scorecard contacts` (or the projector, from position 0) fills them.

Revision ID: views_0004
Revises: views_0003
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "views_0004"
down_revision: str | None = "views_0003"
branch_labels: tuple[str, ...] | None = None
depends_on: str | None = None

TABLES = (
    'servqual_surveys',
    'servqual_cases',
    'servqual_customers',
    'scorecard_feedback',
    'scorecard_sales',
    'scorecard_cases',
    'scorecard_reopens',
    'scorecard_visits',
    'scorecard_promises',
    'quality_contact_facts',
)


def upgrade() -> None:
    present = set(sa.inspect(op.get_bind()).get_table_names())  # a store's `create()` may have made some
    if "servqual_surveys" not in present:
        op.create_table(
            "servqual_surveys",
            sa.Column("survey_id", sa.Text(), nullable=False),
            sa.Column("position", sa.BigInteger(), nullable=False),
            sa.Column("event_id", sa.Text(), nullable=False),
            sa.Column("customer_id", sa.Text(), nullable=False),
            sa.Column("occurred_us", sa.BigInteger(), nullable=False),
            sa.Column("department", sa.Text(), nullable=False),
            sa.Column("channel", sa.Text(), nullable=False),
            sa.Column("segment", sa.Text(), nullable=False),
            sa.Column("reliability_sum", sa.BigInteger(), nullable=False),
            sa.Column("reliability_items", sa.BigInteger(), nullable=False),
            sa.Column("responsiveness_sum", sa.BigInteger(), nullable=False),
            sa.Column("responsiveness_items", sa.BigInteger(), nullable=False),
            sa.Column("assurance_sum", sa.BigInteger(), nullable=False),
            sa.Column("assurance_items", sa.BigInteger(), nullable=False),
            sa.Column("empathy_sum", sa.BigInteger(), nullable=False),
            sa.Column("empathy_items", sa.BigInteger(), nullable=False),
            sa.Column("tangibles_sum", sa.BigInteger(), nullable=False),
            sa.Column("tangibles_items", sa.BigInteger(), nullable=False),
            sa.Column("reliability_points", sa.BigInteger(), nullable=True),
            sa.Column("responsiveness_points", sa.BigInteger(), nullable=True),
            sa.Column("assurance_points", sa.BigInteger(), nullable=True),
            sa.Column("empathy_points", sa.BigInteger(), nullable=True),
            sa.Column("tangibles_points", sa.BigInteger(), nullable=True),
            sa.PrimaryKeyConstraint("survey_id"),
        )
    if "servqual_cases" not in present:
        op.create_table(
            "servqual_cases",
            sa.Column("case_id", sa.Text(), nullable=False),
            sa.Column("department", sa.Text(), nullable=False),
            sa.Column("channel", sa.Text(), nullable=False),
            sa.Column("segment", sa.Text(), nullable=True),
            sa.PrimaryKeyConstraint("case_id"),
        )
    if "servqual_customers" not in present:
        op.create_table(
            "servqual_customers",
            sa.Column("customer_id", sa.Text(), nullable=False),
            sa.Column("department", sa.Text(), nullable=True),
            sa.Column("channel", sa.Text(), nullable=True),
            sa.Column("segment", sa.Text(), nullable=True),
            sa.PrimaryKeyConstraint("customer_id"),
        )
    if "scorecard_feedback" not in present:
        op.create_table(
            "scorecard_feedback",
            sa.Column("event_id", sa.Text(), nullable=False),
            sa.Column("kind", sa.Text(), nullable=False),
            sa.Column("department", sa.Text(), nullable=False),
            sa.Column("at_us", sa.BigInteger(), nullable=False),
            sa.PrimaryKeyConstraint("event_id"),
        )
    if "scorecard_sales" not in present:
        op.create_table(
            "scorecard_sales",
            sa.Column("order_id", sa.Text(), nullable=False),
            sa.Column("position", sa.BigInteger(), nullable=False),
            sa.Column("customer_id", sa.Text(), nullable=True),
            sa.Column("department", sa.Text(), nullable=False),
            sa.Column("at_us", sa.BigInteger(), nullable=False),
            sa.PrimaryKeyConstraint("order_id"),
        )
    if "scorecard_cases" not in present:
        op.create_table(
            "scorecard_cases",
            sa.Column("case_id", sa.Text(), nullable=False),
            sa.Column("department", sa.Text(), nullable=True),
            sa.Column("holder", sa.Text(), nullable=True),
            sa.Column("opened_us", sa.BigInteger(), nullable=True),
            sa.Column("first_response_us", sa.BigInteger(), nullable=True),
            sa.Column("resolved_us", sa.BigInteger(), nullable=True),
            sa.PrimaryKeyConstraint("case_id"),
        )
    if "scorecard_reopens" not in present:
        op.create_table(
            "scorecard_reopens",
            sa.Column("event_id", sa.Text(), nullable=False),
            sa.Column("case_id", sa.Text(), nullable=False),
            sa.Column("at_us", sa.BigInteger(), nullable=False),
            sa.PrimaryKeyConstraint("event_id"),
        )
    if "scorecard_visits" not in present:
        op.create_table(
            "scorecard_visits",
            sa.Column("event_id", sa.Text(), nullable=False),
            sa.Column("order_id", sa.Text(), nullable=False),
            sa.Column("department", sa.Text(), nullable=False),
            sa.Column("at_us", sa.BigInteger(), nullable=False),
            sa.Column("position", sa.BigInteger(), nullable=False),
            sa.PrimaryKeyConstraint("event_id"),
        )
    if "scorecard_promises" not in present:
        op.create_table(
            "scorecard_promises",
            sa.Column("promise_id", sa.Text(), nullable=False),
            sa.Column("department", sa.Text(), nullable=True),
            sa.Column("due_us", sa.BigInteger(), nullable=True),
            sa.Column("made_us", sa.BigInteger(), nullable=True),
            sa.PrimaryKeyConstraint("promise_id"),
        )
    if "quality_contact_facts" not in present:
        op.create_table(
            "quality_contact_facts",
            sa.Column("position", sa.BigInteger(), nullable=False),
            sa.Column("event_id", sa.String(length=36), nullable=False),
            sa.Column("kind", sa.String(length=100), nullable=False),
            sa.Column("occurred_us", sa.BigInteger(), nullable=False),
            sa.Column("anchor", sa.String(length=36), nullable=True),
            sa.Column("case_id", sa.String(), nullable=True),
            sa.Column("channel", sa.String(), nullable=False),
            sa.Column("department", sa.String(), nullable=False),
            sa.Column("agent", sa.String(), nullable=True),
            sa.Column("contact", sa.Integer(), nullable=False),
            sa.Column("detail", sa.String(), nullable=True),
            sa.Column("due_us", sa.BigInteger(), nullable=True),
            sa.Column("gap", sa.BigInteger(), nullable=True),
            sa.PrimaryKeyConstraint("position"),
        )
        op.create_index("ix_quality_contact_facts_occurred", "quality_contact_facts", ['occurred_us'])


def downgrade() -> None:
    for name in reversed(TABLES):
        op.drop_table(name)
