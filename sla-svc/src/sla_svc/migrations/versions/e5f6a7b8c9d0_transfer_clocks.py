"""a transfer to 信访 / 涉法涉诉 runs on its own clock: the receiving organ's round is marked with the route

Revision ID: e5f6a7b8c9d0
Revises: dde0bec45807
Create Date: 2026-12-05 12:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'e5f6a7b8c9d0'
down_revision: str | None = 'dde0bec45807'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('clocks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('transfer_route', sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('clocks', schema=None) as batch_op:
        batch_op.drop_column('transfer_route')
