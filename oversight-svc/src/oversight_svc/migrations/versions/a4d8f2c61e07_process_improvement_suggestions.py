"""process-improvement suggestions

Revision ID: a4d8f2c61e07
Revises: 7e3c1a9d5b20
Create Date: 2026-12-05 11:40:00.000000

Adds `suggestions` (改进建议): a step or a certificate that can go, raised from a ticket, a window visit or a case
to a department, answered adopted (with the change) or not adopted (with the reason).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bancheng_shared.types


revision: str = 'a4d8f2c61e07'
down_revision: str | None = '7e3c1a9d5b20'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('suggestions',
    sa.Column('suggestion_id', sa.String(length=40), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('source_ref', sa.String(length=200), nullable=False),
    sa.Column('target', sa.String(length=16), nullable=False),
    sa.Column('item', sa.String(length=500), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.Column('department', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('raised_by', sa.String(length=200), nullable=False),
    sa.Column('raised_role', sa.String(length=40), nullable=False),
    sa.Column('raised_at', bancheng_shared.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('due_at', bancheng_shared.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('answered_at', bancheng_shared.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('answered_by', sa.String(length=200), nullable=True),
    sa.Column('change', sa.Text(), nullable=True),
    sa.Column('effective_date', sa.Date(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('late', sa.Boolean(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('suggestion_id')
    )
    op.create_index('ix_suggestions_department_raised', 'suggestions', ['department', 'raised_at'], unique=False)
    op.create_index('ix_suggestions_raised', 'suggestions', ['raised_at'], unique=False)
    op.create_index('ix_suggestions_status_due', 'suggestions', ['status', 'due_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_suggestions_status_due', table_name='suggestions')
    op.drop_index('ix_suggestions_raised', table_name='suggestions')
    op.drop_index('ix_suggestions_department_raised', table_name='suggestions')
    op.drop_table('suggestions')
