"""The initial tables: touchline's own, next to the event store's (audit chain and checkpoints, privacy key
vault), as they were when migrations were adopted.

Revision ID: store_0001
Revises:
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "store_0001"
down_revision: str | None = None
branch_labels: tuple[str, ...] | None = None
depends_on: str | None = None


def _missing(table: str) -> bool:
    """Whether `table` is still to be created: a database whose tables were created before migrations (by the
    stores' `create()`) is adopted by this revision, which creates only what it lacks."""
    return not sa.inspect(op.get_bind()).has_table(table)


def upgrade() -> None:
    if _missing('audit_chain'):
        op.create_table('audit_chain',
        sa.Column('position', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('event_id', sa.String(length=36), nullable=False),
        sa.Column('leaf_index', sa.BigInteger(), nullable=False),
        sa.Column('event_hash', sa.LargeBinary(length=32), nullable=False),
        sa.Column('chain_hash', sa.LargeBinary(length=32), nullable=False),
        sa.Column('recorded_us', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('position'),
        sa.UniqueConstraint('leaf_index')
        )
        op.create_index(op.f('ix_audit_chain_recorded_us'), 'audit_chain', ['recorded_us'], unique=False)
    if _missing('audit_checkpoints'):
        op.create_table('audit_checkpoints',
        sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('tree_size', sa.BigInteger(), nullable=False),
        sa.Column('last_position', sa.BigInteger(), nullable=False),
        sa.Column('root_hash', sa.LargeBinary(length=32), nullable=False),
        sa.Column('chain_head', sa.LargeBinary(length=32), nullable=False),
        sa.Column('issued_us', sa.BigInteger(), nullable=False),
        sa.Column('signature', sa.LargeBinary(length=64), nullable=False),
        sa.Column('key_id', sa.String(length=32), nullable=False),
        sa.Column('published', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('seq')
        )
    if _missing('privacy_erased_keys'):
        op.create_table('privacy_erased_keys',
        sa.Column('key_id', sa.String(length=36), nullable=False),
        sa.Column('erasure_id', sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint('key_id')
        )
        op.create_index(op.f('ix_privacy_erased_keys_erasure_id'), 'privacy_erased_keys', ['erasure_id'], unique=False)
    if _missing('privacy_erasures'):
        op.create_table('privacy_erasures',
        sa.Column('erasure_id', sa.String(length=36), nullable=False),
        sa.Column('erased_us', sa.BigInteger(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('keys', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.String(length=36), nullable=False),
        sa.Column('position', sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint('erasure_id')
        )
    if _missing('privacy_keys'):
        op.create_table('privacy_keys',
        sa.Column('key_id', sa.String(length=36), nullable=False),
        sa.Column('anchor_id', sa.String(length=36), nullable=False),
        sa.Column('wrapped_key', sa.LargeBinary(), nullable=False),
        sa.Column('kek_id', sa.String(length=16), nullable=False),
        sa.Column('created_us', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('key_id'),
        sa.UniqueConstraint('anchor_id')
        )
        # ### end Alembic commands ###


def downgrade() -> None:
    op.drop_table('privacy_keys')
    op.drop_table('privacy_erasures')
    op.drop_index(op.f('ix_privacy_erased_keys_erasure_id'), table_name='privacy_erased_keys')
    op.drop_table('privacy_erased_keys')
    op.drop_table('audit_checkpoints')
    op.drop_index(op.f('ix_audit_chain_recorded_us'), table_name='audit_chain')
    op.drop_table('audit_chain')
    # ### end Alembic commands ###
