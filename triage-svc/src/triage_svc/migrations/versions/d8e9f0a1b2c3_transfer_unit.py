"""the receiving organ of a transfer to 信访 / 涉法涉诉 is recorded on the work order (it signs for it)

Revision ID: d8e9f0a1b2c3
Revises: c7d1e2f3a4b5
Create Date: 2026-12-05 12:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'd8e9f0a1b2c3'
down_revision: str | None = 'c7d1e2f3a4b5'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('work_orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('transfer_unit', sa.String(length=64), nullable=True))
    op.create_index('ix_work_orders_transfer_unit', 'work_orders', ['transfer_unit'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_work_orders_transfer_unit', table_name='work_orders')
    with op.batch_alter_table('work_orders', schema=None) as batch_op:
        batch_op.drop_column('transfer_unit')
