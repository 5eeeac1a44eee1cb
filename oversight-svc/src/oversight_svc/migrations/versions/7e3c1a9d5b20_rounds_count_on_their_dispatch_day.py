"""rounds count on their dispatch day

Revision ID: 7e3c1a9d5b20
Revises: 5c2f7a9e1b34
Create Date: 2026-12-05 08:50:00.000000

Adds rounds.dispatch_day (the period a round's facts count in) and rounds.sign_deemed. Rounds stored before this
have neither: `python -m oversight_svc rebuild-rollups` estimates them and recomputes the cohort counts of old
periods (see oversight-svc/README.md).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '7e3c1a9d5b20'
down_revision: str | None = '5c2f7a9e1b34'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('rounds') as batch_op:
        batch_op.add_column(sa.Column('dispatch_day', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('sign_deemed', sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('rounds') as batch_op:
        batch_op.drop_column('sign_deemed')
        batch_op.drop_column('dispatch_day')
