"""the outbox's unsent index holds only unsent rows (partial, on id), and old sent rows are found for the purge by
created_at (BRIN on PostgreSQL, an ordinary index on SQLite): on PostgreSQL the index of (sent_at, id) kept every
sent row's old NULL entry until a vacuum, and the relay's poll (a bitmap scan of them) visited each one's page

Revision ID: b8e2d4f6a1c4
Revises: f4a9c2e7b1d4
Create Date: 2026-12-06 23:50:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'b8e2d4f6a1c4'
down_revision: str | None = 'f4a9c2e7b1d4'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_unsent')
        batch_op.create_index('ix_outbox_unsent', ['id'], unique=False, postgresql_where=sa.text('sent_at IS NULL'),
                              sqlite_where=sa.text('sent_at IS NULL'))
        batch_op.create_index('ix_outbox_created_at', ['created_at'], unique=False, postgresql_using='brin')


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_created_at', postgresql_using='brin')
        batch_op.drop_index('ix_outbox_unsent')
        batch_op.create_index('ix_outbox_unsent', ['sent_at', 'id'], unique=False)
