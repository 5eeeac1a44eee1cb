"""the inbox's handled ids are purged after INBOX_RETENTION_HOURS: an index of handled_at to find the old ones
(BRIN on PostgreSQL: rows arrive in handled order; an ordinary index on SQLite)

Revision ID: f4a9c2e7b1d4
Revises: c3f8a1e5d7b2
Create Date: 2026-12-06 20:00:00.000000
"""
from collections.abc import Sequence

from alembic import op

revision: str = 'f4a9c2e7b1d4'
down_revision: str | None = 'c3f8a1e5d7b2'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.create_index('ix_inbox_handled_at', ['handled_at'], unique=False, postgresql_using='brin')


def downgrade() -> None:
    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.drop_index('ix_inbox_handled_at', postgresql_using='brin')
