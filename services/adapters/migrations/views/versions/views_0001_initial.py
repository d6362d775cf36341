"""The initial tables of the read models (projections, their positions and parked events, SLA webhook deliveries), as
they were when migrations were adopted.

Revision ID: views_0001
Revises:
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "views_0001"
down_revision: str | None = None
branch_labels: tuple[str, ...] | None = None
depends_on: str | None = None


def _ordered(length: int) -> sa.types.TypeEngine[str]:
    """Text compared byte-wise on Postgres (collation C), as the stores declare it."""
    return sa.String(length=length).with_variant(sa.String(length=length, collation="C"), "postgresql")


def _missing(table: str) -> bool:
    """Whether `table` is still to be created: a database whose tables were created before migrations (by the
    stores' `create()`) is adopted by this revision, which creates only what it lacks."""
    return not sa.inspect(op.get_bind()).has_table(table)


def upgrade() -> None:
    if _missing('case_anomalies'):
        op.create_table('case_anomalies',
        sa.Column('case_id', _ordered(200), nullable=False),
        sa.Column('position', sa.BigInteger(), nullable=False),
        sa.Column('kind', sa.String(length=64), nullable=False),
        sa.Column('event_id', sa.String(length=36), nullable=False),
        sa.Column('event_type', sa.String(length=100), nullable=False),
        sa.Column('detail', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('case_id', 'position', 'kind')
        )
        op.create_index('ix_case_anomalies_kind', 'case_anomalies', ['kind'], unique=False)
    if _missing('case_contacts'):
        op.create_table('case_contacts',
        sa.Column('case_id', _ordered(200), nullable=False),
        sa.Column('position', sa.BigInteger(), nullable=False),
        sa.Column('event_id', sa.String(length=36), nullable=False),
        sa.Column('event_type', sa.String(length=100), nullable=False),
        sa.Column('occurred_at', sa.String(length=40), nullable=False),
        sa.Column('occurred_us', sa.BigInteger(), nullable=False),
        sa.Column('channel', sa.String(length=32), nullable=False),
        sa.Column('department', _ordered(63), nullable=False),
        sa.Column('holder', _ordered(63), nullable=False),
        sa.Column('via', sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint('case_id', 'position')
        )
        op.create_index('ix_case_contacts_time', 'case_contacts', ['occurred_us'], unique=False)
    if _missing('case_handoffs'):
        op.create_table('case_handoffs',
        sa.Column('case_id', _ordered(200), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('position', sa.BigInteger(), nullable=False),
        sa.Column('event_id', sa.String(length=36), nullable=False),
        sa.Column('from_department', _ordered(63), nullable=False),
        sa.Column('to_department', _ordered(63), nullable=False),
        sa.Column('handed_at', sa.String(length=40), nullable=False),
        sa.Column('handed_us', sa.BigInteger(), nullable=False),
        sa.Column('ended_at', sa.String(length=40), nullable=True),
        sa.Column('accepted_at', sa.String(length=40), nullable=True),
        sa.Column('outcome', sa.String(length=16), nullable=False),
        sa.Column('returned', sa.Integer(), nullable=False),
        sa.Column('bounced', sa.Integer(), nullable=False),
        sa.Column('case_type', sa.String(length=32), nullable=False),
        sa.Column('priority', sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint('case_id', 'seq')
        )
        op.create_index('ix_case_handoffs_pair', 'case_handoffs',
                        ['from_department', 'to_department', 'handed_us'], unique=False)
        op.create_index('ix_case_handoffs_to', 'case_handoffs', ['to_department', 'outcome'], unique=False)
    if _missing('case_states'):
        op.create_table('case_states',
        sa.Column('case_id', _ordered(200), nullable=False),
        sa.Column('customer_id', sa.String(length=100), nullable=True),
        sa.Column('status', sa.String(length=32), nullable=False),
        sa.Column('holder', _ordered(63), nullable=False),
        sa.Column('pending_to', _ordered(63), nullable=True),
        sa.Column('opened_at', sa.String(length=40), nullable=False),
        sa.Column('opened_us', sa.BigInteger(), nullable=False),
        sa.Column('last_position', sa.BigInteger(), nullable=False),
        sa.Column('case_type', sa.String(length=32), nullable=False),
        sa.Column('priority', sa.String(length=16), nullable=False),
        sa.Column('subject', sa.String(length=200), nullable=False),
        sa.Column('handoffs', sa.Integer(), nullable=False),
        sa.Column('returns', sa.Integer(), nullable=False),
        sa.Column('repeat_contacts', sa.Integer(), nullable=False),
        sa.Column('anomalies', sa.Integer(), nullable=False),
        sa.Column('state', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('case_id')
        )
        op.create_index('ix_case_states_customer', 'case_states', ['customer_id', 'status'], unique=False)
        op.create_index('ix_case_states_holder', 'case_states', ['holder', 'status', 'opened_us'], unique=False)
        op.create_index('ix_case_states_opened', 'case_states', ['opened_us', 'case_id'], unique=False)
        op.create_index('ix_case_states_pending_to', 'case_states', ['pending_to', 'opened_us'], unique=False)
    if _missing('customer_blocks'):
        op.create_table('customer_blocks',
        sa.Column('a', sa.String(length=36), nullable=False),
        sa.Column('b', sa.String(length=36), nullable=False),
        sa.Column('position', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('a', 'b')
        )
    if _missing('customer_decisions'):
        op.create_table('customer_decisions',
        sa.Column('position', sa.BigInteger(), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.String(length=36), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('customer_id', sa.String(length=36), nullable=False),
        sa.Column('others', sa.Text(), nullable=False),
        sa.Column('node_id', sa.String(length=36), nullable=True),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('position', 'seq')
        )
        op.create_index('ix_customer_decisions_customer', 'customer_decisions', ['customer_id'], unique=False)
    if _missing('customer_edges'):
        op.create_table('customer_edges',
        sa.Column('a', sa.String(length=36), nullable=False),
        sa.Column('b', sa.String(length=36), nullable=False),
        sa.Column('position', sa.BigInteger(), nullable=False),
        sa.Column('reason', sa.String(length=16), nullable=False),
        sa.Column('cut_position', sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint('a', 'b', 'position')
        )
    if _missing('customer_facts'):
        op.create_table('customer_facts',
        sa.Column('anchor', sa.String(length=36), nullable=False),
        sa.Column('first_us', sa.BigInteger(), nullable=False),
        sa.Column('last_us', sa.BigInteger(), nullable=False),
        sa.Column('events', sa.Integer(), nullable=False),
        sa.Column('contacts', sa.Integer(), nullable=False),
        sa.Column('declared_segment', sa.String(length=200), nullable=True),
        sa.Column('segment_position', sa.BigInteger(), nullable=False),
        sa.Column('survey_score', sa.Float(), nullable=True),
        sa.Column('survey_us', sa.BigInteger(), nullable=True),
        sa.Column('survey_position', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('anchor')
        )
    if _missing('customer_nodes'):
        op.create_table('customer_nodes',
        sa.Column('node_id', sa.String(length=36), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('display', sa.String(length=200), nullable=False),
        sa.Column('first_position', sa.BigInteger(), nullable=False),
        sa.Column('customer_id', sa.String(length=36), nullable=False),
        sa.Column('verified', sa.Integer(), nullable=False),
        sa.Column('shared', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('node_id')
        )
        op.create_index('ix_customer_nodes_customer', 'customer_nodes', ['customer_id', 'first_position'], unique=False)
    if _missing('customer_seen'):
        op.create_table('customer_seen',
        sa.Column('node_id', sa.String(length=36), nullable=False),
        sa.Column('witness', sa.String(length=36), nullable=False),
        sa.Column('position', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('node_id', 'witness')
        )
    if _missing('projection_failures'):
        op.create_table('projection_failures',
        sa.Column('projection', sa.String(length=100), nullable=False),
        sa.Column('position', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('event_id', sa.String(length=36), nullable=False),
        sa.Column('event_type', sa.String(length=100), nullable=False),
        sa.Column('error_type', sa.String(length=200), nullable=False),
        sa.Column('error_message', sa.Text(), nullable=False),
        sa.Column('first_failed_us', sa.BigInteger(), nullable=False),
        sa.Column('last_failed_us', sa.BigInteger(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('resolved_us', sa.BigInteger(), nullable=True),
        sa.Column('retry_requested_us', sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint('projection', 'position')
        )
    if _missing('projection_positions'):
        op.create_table('projection_positions',
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('position', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('name')
        )
    if _missing('sla_alerts'):
        op.create_table('sla_alerts',
        sa.Column('alert_id', sa.String(length=36), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('severity', sa.String(length=16), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('clock_id', sa.String(length=36), nullable=False),
        sa.Column('metric', sa.String(length=32), nullable=False),
        sa.Column('threshold', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.String(length=200), nullable=True),
        sa.Column('department', sa.String(length=63), nullable=False),
        sa.Column('agent', sa.String(length=200), nullable=True),
        sa.Column('policy_version', sa.Integer(), nullable=False),
        sa.Column('rule', sa.String(length=200), nullable=False),
        sa.Column('occurred_at', sa.String(length=40), nullable=False),
        sa.Column('occurred_us', sa.BigInteger(), nullable=False),
        sa.Column('deadline_at', sa.String(length=40), nullable=False),
        sa.Column('escalated_to', sa.String(length=200), nullable=True),
        sa.Column('promise_id', sa.String(length=200), nullable=True),
        sa.Column('position', sa.BigInteger(), nullable=False),
        sa.Column('acknowledged_by', sa.String(length=200), nullable=True),
        sa.Column('acknowledged_at', sa.String(length=40), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('alert_id')
        )
        op.create_index(op.f('ix_sla_alerts_case_id'), 'sla_alerts', ['case_id'], unique=False)
        op.create_index('ix_sla_alerts_department_time', 'sla_alerts', ['department', 'occurred_us'], unique=False)
    if _missing('sla_cases'):
        op.create_table('sla_cases',
        sa.Column('key', sa.String(length=220), nullable=False),
        sa.Column('case_id', sa.String(length=200), nullable=True),
        sa.Column('data', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('key')
        )
    if _missing('sla_clocks'):
        op.create_table('sla_clocks',
        sa.Column('clock_id', sa.String(length=36), nullable=False),
        sa.Column('case_key', sa.String(length=220), nullable=False),
        sa.Column('metric', sa.String(length=32), nullable=False),
        sa.Column('department', sa.String(length=63), nullable=False),
        sa.Column('next_alert_us', sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint('clock_id')
        )
        op.create_index(op.f('ix_sla_clocks_case_key'), 'sla_clocks', ['case_key'], unique=False)
        op.create_index(op.f('ix_sla_clocks_next_alert_us'), 'sla_clocks', ['next_alert_us'], unique=False)
    if _missing('sla_policies'):
        op.create_table('sla_policies',
        sa.Column('version', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('effective_us', sa.BigInteger(), nullable=False),
        sa.Column('payload', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('version')
        )
    if _missing('sla_promises'):
        op.create_table('sla_promises',
        sa.Column('case_key', sa.String(length=220), nullable=False),
        sa.Column('promise_id', sa.String(length=200), nullable=False),
        sa.Column('case_id', sa.String(length=200), nullable=True),
        sa.Column('department', sa.String(length=63), nullable=False),
        sa.Column('agent', sa.String(length=200), nullable=True),
        sa.Column('customer_id', sa.String(length=100), nullable=True),
        sa.Column('due_us', sa.BigInteger(), nullable=False),
        sa.Column('made_us', sa.BigInteger(), nullable=True),
        sa.Column('released_us', sa.BigInteger(), nullable=True),
        sa.Column('data', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('case_key', 'promise_id')
        )
        op.create_index(op.f('ix_sla_promises_agent'), 'sla_promises', ['agent'], unique=False)
        op.create_index(op.f('ix_sla_promises_customer_id'), 'sla_promises', ['customer_id'], unique=False)
        op.create_index(op.f('ix_sla_promises_department'), 'sla_promises', ['department'], unique=False)
    if _missing('sla_webhook_attempts'):
        op.create_table('sla_webhook_attempts',
        sa.Column('delivery_id', sa.String(length=36), nullable=False),
        sa.Column('attempt', sa.Integer(), nullable=False),
        sa.Column('at', sa.String(length=40), nullable=False),
        sa.Column('status_code', sa.Integer(), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('duration_ms', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('delivery_id', 'attempt')
        )
    if _missing('sla_webhook_deliveries'):
        op.create_table('sla_webhook_deliveries',
        sa.Column('delivery_id', sa.String(length=36), nullable=False),
        sa.Column('alert_id', sa.String(length=36), nullable=False),
        sa.Column('event_type', sa.String(length=100), nullable=False),
        sa.Column('department', sa.String(length=63), nullable=False),
        sa.Column('url', sa.Text(), nullable=False),
        sa.Column('secret_env', sa.String(length=200), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_us', sa.BigInteger(), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('delivery_id')
        )
        op.create_index(op.f('ix_sla_webhook_deliveries_alert_id'), 'sla_webhook_deliveries', ['alert_id'],
                        unique=False)
        op.create_index(op.f('ix_sla_webhook_deliveries_next_attempt_us'), 'sla_webhook_deliveries',
                        ['next_attempt_us'], unique=False)
    if _missing('timeline_cases'):
        op.create_table('timeline_cases',
        sa.Column('case_id', sa.String(length=200), nullable=False),
        sa.Column('customer_id', sa.String(length=100), nullable=False),
        sa.Column('position', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('case_id')
        )
    if _missing('timeline_entries'):
        op.create_table('timeline_entries',
        sa.Column('customer_id', sa.String(length=100), nullable=False),
        sa.Column('position', sa.BigInteger(), nullable=False),
        sa.Column('event_id', sa.String(length=36), nullable=False),
        sa.Column('occurred_at', sa.String(length=40), nullable=False),
        sa.Column('occurred_us', sa.BigInteger(), nullable=False),
        sa.Column('event_type', sa.String(length=100), nullable=False),
        sa.Column('channel', sa.String(length=32), nullable=False),
        sa.Column('department', sa.String(length=63), nullable=False),
        sa.Column('site', sa.String(length=200), nullable=True),
        sa.Column('agent', sa.String(length=200), nullable=True),
        sa.Column('summary', sa.Text(), nullable=False),
        sa.Column('case_id', sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint('customer_id', 'position'),
        sa.UniqueConstraint('customer_id', 'event_id', name='uq_timeline_entries_customer_event')
        )
        op.create_index('ix_timeline_entries_customer_time', 'timeline_entries',
                        ['customer_id', 'occurred_us', 'position'], unique=False)
    if _missing('timeline_identifiers'):
        op.create_table('timeline_identifiers',
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('value', sa.String(length=320), nullable=False),
        sa.Column('customer_id', sa.String(length=100), nullable=False),
        sa.Column('events', sa.Integer(), nullable=False),
        sa.Column('first_position', sa.BigInteger(), nullable=False),
        sa.Column('last_position', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('kind', 'value', 'customer_id')
        )
    if _missing('timeline_unattributed'):
        op.create_table('timeline_unattributed',
        sa.Column('position', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('event_id', sa.String(length=36), nullable=False),
        sa.Column('event_type', sa.String(length=100), nullable=False),
        sa.Column('case_id', sa.String(length=200), nullable=True),
        sa.Column('reason', sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint('position')
        )
        # ### end Alembic commands ###


def downgrade() -> None:
    op.drop_table('timeline_unattributed')
    op.drop_table('timeline_identifiers')
    op.drop_index('ix_timeline_entries_customer_time', table_name='timeline_entries')
    op.drop_table('timeline_entries')
    op.drop_table('timeline_cases')
    op.drop_index(op.f('ix_sla_webhook_deliveries_next_attempt_us'), table_name='sla_webhook_deliveries')
    op.drop_index(op.f('ix_sla_webhook_deliveries_alert_id'), table_name='sla_webhook_deliveries')
    op.drop_table('sla_webhook_deliveries')
    op.drop_table('sla_webhook_attempts')
    op.drop_index(op.f('ix_sla_promises_department'), table_name='sla_promises')
    op.drop_index(op.f('ix_sla_promises_customer_id'), table_name='sla_promises')
    op.drop_index(op.f('ix_sla_promises_agent'), table_name='sla_promises')
    op.drop_table('sla_promises')
    op.drop_table('sla_policies')
    op.drop_index(op.f('ix_sla_clocks_next_alert_us'), table_name='sla_clocks')
    op.drop_index(op.f('ix_sla_clocks_case_key'), table_name='sla_clocks')
    op.drop_table('sla_clocks')
    op.drop_table('sla_cases')
    op.drop_index('ix_sla_alerts_department_time', table_name='sla_alerts')
    op.drop_index(op.f('ix_sla_alerts_case_id'), table_name='sla_alerts')
    op.drop_table('sla_alerts')
    op.drop_table('projection_positions')
    op.drop_table('projection_failures')
    op.drop_table('customer_seen')
    op.drop_index('ix_customer_nodes_customer', table_name='customer_nodes')
    op.drop_table('customer_nodes')
    op.drop_table('customer_facts')
    op.drop_table('customer_edges')
    op.drop_index('ix_customer_decisions_customer', table_name='customer_decisions')
    op.drop_table('customer_decisions')
    op.drop_table('customer_blocks')
    op.drop_index('ix_case_states_pending_to', table_name='case_states')
    op.drop_index('ix_case_states_opened', table_name='case_states')
    op.drop_index('ix_case_states_holder', table_name='case_states')
    op.drop_index('ix_case_states_customer', table_name='case_states')
    op.drop_table('case_states')
    op.drop_index('ix_case_handoffs_to', table_name='case_handoffs')
    op.drop_index('ix_case_handoffs_pair', table_name='case_handoffs')
    op.drop_table('case_handoffs')
    op.drop_index('ix_case_contacts_time', table_name='case_contacts')
    op.drop_table('case_contacts')
    op.drop_index('ix_case_anomalies_kind', table_name='case_anomalies')
    op.drop_table('case_anomalies')
    # ### end Alembic commands ###
