"""assessment scheme versions

Revision ID: a4f81c2e9d07
Revises: a4d8f2c61e07
Create Date: 2026-12-05 11:40:00.000000

The yearly assessment's schemes (绩效考核方案): one row per version of a year (who, when, why). Version 0, the
default, is the packaged data file (data/assessment_scheme.json, or OVERSIGHT_ASSESSMENT_SCHEME_FILE), not a row.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bancheng_shared.types


revision: str = 'a4f81c2e9d07'
down_revision: str | None = 'a4d8f2c61e07'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('assessment_schemes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('weights', sa.JSON(), nullable=False),
    sa.Column('deductions', sa.JSON(), nullable=False),
    sa.Column('min_sample', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=2000), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_role', sa.String(length=32), nullable=False),
    sa.Column('created_at', bancheng_shared.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('year', 'version', name='uq_assessment_schemes_year_version')
    )


def downgrade() -> None:
    op.drop_table('assessment_schemes')
