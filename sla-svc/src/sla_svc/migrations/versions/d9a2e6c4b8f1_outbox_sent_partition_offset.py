"""outbox rows keep where the broker put them (partition, offset) and under which broker generation, so that after
an empty broker only the rows some consumer group had not committed past are published again

Revision ID: d9a2e6c4b8f1
Revises: e5f6a7b8c9d0
Create Date: 2026-12-05 17:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'd9a2e6c4b8f1'
down_revision: str | None = 'e5f6a7b8c9d0'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sent_partition', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('sent_offset', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('sent_generation', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('sent_generation')
        batch_op.drop_column('sent_offset')
        batch_op.drop_column('sent_partition')
