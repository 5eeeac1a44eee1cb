"""the same person's repeats counted apart from all repeats (only they raise the tier)

Revision ID: c7d1e2f3a4b5
Revises: b4395b8c63f4
Create Date: 2026-12-05 02:50:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'c7d1e2f3a4b5'
down_revision: str | None = 'b4395b8c63f4'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('work_orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('own_repeat_count', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('work_orders', schema=None) as batch_op:
        batch_op.drop_column('own_repeat_count')
