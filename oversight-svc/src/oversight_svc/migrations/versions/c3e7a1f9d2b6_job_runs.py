"""job_runs: the periods of periodic jobs claimed by a replica (once per period across replicas)

Revision ID: c3e7a1f9d2b6
Revises: e2b7d5a9c3f4
Create Date: 2026-12-05 16:50:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bancheng_shared.types


revision: str = 'c3e7a1f9d2b6'
down_revision: str | None = 'e2b7d5a9c3f4'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'job_runs',
        sa.Column('job', sa.String(length=80), nullable=False),
        sa.Column('period', sa.String(length=40), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('claimed_by', sa.String(length=120), nullable=True),
        sa.Column('lease_until', bancheng_shared.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column('claimed_at', bancheng_shared.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column('done_at', bancheng_shared.types.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('job', 'period'),
    )


def downgrade() -> None:
    op.drop_table('job_runs')
