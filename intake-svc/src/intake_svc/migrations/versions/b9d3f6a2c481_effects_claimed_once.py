"""Effects claimed once across replicas: leases on SMS and callback deliveries, a place index for merging

Revision ID: b9d3f6a2c481
Revises: b7e1c9a4d2f6
Create Date: 2026-12-05 16:40:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bancheng_shared.types


revision: str = 'b9d3f6a2c481'
down_revision: str | None = 'b7e1c9a4d2f6'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ('sms_outbox', 'deliveries'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('claimed_by', sa.String(length=120), nullable=True))
            batch_op.add_column(sa.Column('lease_until', bancheng_shared.types.UtcDateTime(timezone=True),
                                          nullable=True))
    op.create_index('ix_tickets_place_key', 'tickets', ['place_key', 'received_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_tickets_place_key', table_name='tickets')
    for table in ('deliveries', 'sms_outbox'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('lease_until')
            batch_op.drop_column('claimed_by')
