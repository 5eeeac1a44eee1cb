"""sms_outbox.next_attempt_at: a failed text is tried again after a backoff

Revision ID: c7e2a91d4f30
Revises: a582ce9416d1
Create Date: 2026-12-05 08:35:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bancheng_shared.types


revision: str = 'c7e2a91d4f30'
down_revision: str | None = 'a582ce9416d1'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('sms_outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_attempt_at', bancheng_shared.types.UtcDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('sms_outbox', schema=None) as batch_op:
        batch_op.drop_column('next_attempt_at')
