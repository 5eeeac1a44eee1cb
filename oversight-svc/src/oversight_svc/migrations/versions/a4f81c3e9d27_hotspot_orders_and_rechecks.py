"""hotspot orders and rechecks (回头看)

Revision ID: a4f81c3e9d27
Revises: a4f81c2e9d07
Create Date: 2026-12-05 11:50:00.000000

A hotspot handed down as a work order (hotspot_orders), closed rounds sampled for a re-check visit (rechecks), and
the re-check counters of the rollups (recheck_due, rechecked, recheck_relapsed).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bancheng_shared.types

revision: str = 'a4f81c3e9d27'
down_revision: str | None = 'a4f81c2e9d07'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COUNTERS = ('recheck_due', 'rechecked', 'recheck_relapsed')


def upgrade() -> None:
    op.create_table(
        'hotspot_orders',
        sa.Column('hotspot_id', sa.String(length=40), nullable=False),
        sa.Column('department_kind', sa.String(length=64), nullable=False),
        sa.Column('unit_level', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=500), nullable=False),
        sa.Column('summary', sa.Text(), nullable=False),
        sa.Column('ticket_no', sa.String(length=64), nullable=True),
        sa.Column('by_name', sa.String(length=200), nullable=False),
        sa.Column('handed_down_at', bancheng_shared.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('hotspot_id'),
        sa.UniqueConstraint('ticket_no'),
    )
    op.create_table(
        'rechecks',
        sa.Column('ticket_no', sa.String(length=64), nullable=False),
        sa.Column('round', sa.Integer(), nullable=False),
        sa.Column('unit', sa.String(length=64), nullable=True),
        sa.Column('dispatch_day', sa.Date(), nullable=True),
        sa.Column('closed_at', bancheng_shared.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column('due_at', bancheng_shared.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column('done_at', bancheng_shared.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column('resolved', sa.String(length=16), nullable=True),
        sa.Column('satisfaction', sa.String(length=32), nullable=True),
        sa.Column('relapsed', sa.Boolean(), nullable=True),
        sa.Column('redo', sa.Boolean(), nullable=True),
        sa.Column('notes', sa.Text(), nullable=True),
        sa.Column('by_name', sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint('ticket_no', 'round'),
    )
    op.create_index('ix_rechecks_due', 'rechecks', ['done_at', 'due_at'])
    with op.batch_alter_table('rollups') as batch_op:
        for name in _COUNTERS:
            batch_op.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('rollups') as batch_op:
        for name in reversed(_COUNTERS):
            batch_op.drop_column(name)
    op.drop_index('ix_rechecks_due', table_name='rechecks')
    op.drop_table('rechecks')
    op.drop_table('hotspot_orders')
