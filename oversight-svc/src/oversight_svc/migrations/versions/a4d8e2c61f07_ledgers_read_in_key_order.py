"""ledgers read in key order

Revision ID: a4d8e2c61f07
Revises: a4f81c3e9d27
Create Date: 2026-12-05 11:40:00.000000

The work-order ledger reads rounds by (dispatch_day, ticket_no, round) and the return-visit ledger reads visits by
(visited_at, visit_id), a chunk at a time after the last key seen: these indexes let each chunk start where the
last one ended instead of scanning the period again.
"""
from collections.abc import Sequence

from alembic import op


revision: str = 'a4d8e2c61f07'
down_revision: str | None = 'a4f81c3e9d27'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_rounds_dispatch_day', 'rounds', ['dispatch_day', 'ticket_no', 'round'])
    op.create_index('ix_visits_visited_at', 'visits', ['visited_at', 'visit_id'])


def downgrade() -> None:
    op.drop_index('ix_visits_visited_at', table_name='visits')
    op.drop_index('ix_rounds_dispatch_day', table_name='rounds')
