"""outbox rows keep where the broker put them (partition, offset) and under which broker generation, so that after
an empty broker only the rows some consumer group had not committed past are published again

Revision ID: b7e1c9a4d2f6
Revises: f1c4a7d2b9e3
Create Date: 2026-12-05 17:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'b7e1c9a4d2f6'
down_revision: str | None = 'f1c4a7d2b9e3'
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
