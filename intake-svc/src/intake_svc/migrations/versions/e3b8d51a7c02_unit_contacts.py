"""unit_contacts: the SMS number of each unit a ticket was dispatched to (the 报到 SMS's recipient)

Revision ID: e3b8d51a7c02
Revises: c7e2a91d4f30
Create Date: 2026-12-05 11:40:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bancheng_shared.types


revision: str = 'e3b8d51a7c02'
down_revision: str | None = 'c7e2a91d4f30'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'unit_contacts',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('ticket_no', sa.String(length=40), nullable=False),
        sa.Column('unit_code', sa.String(length=64), nullable=False),
        sa.Column('phone_enc', sa.Text(), nullable=True),
        sa.Column('phone_masked', sa.String(length=40), nullable=True),
        sa.Column('updated_at', bancheng_shared.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('ticket_no', 'unit_code', name='uq_unit_contacts_ticket_unit'),
    )


def downgrade() -> None:
    op.drop_table('unit_contacts')
