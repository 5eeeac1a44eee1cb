"""columns sized by the shared field limits

Titles (tickets, cases, hotspots, disclosures) hold TITLE_MAX (500) characters, region codes REGION_CODE_MAX (64),
a person's name NAME_MAX (200): a ticket with a 400-character title or a 40-digit region code that intake accepts
is stored and counted, not dead-lettered on PostgreSQL. Widening a varchar is a catalogue change on PostgreSQL
(no table rewrite); SQLite copies the few tables altered (batch mode).

Revision ID: 5c2f7a9e1b34
Revises: d1e9e0a4e61a
Create Date: 2026-12-05 09:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '5c2f7a9e1b34'
down_revision: str | None = 'd1e9e0a4e61a'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> (column, length before, length now, nullable)
WIDENED: dict[str, list[tuple[str, int, int, bool]]] = {
    'accountability': [('person_name', 100, 200, True)],
    'cases': [('title', 300, 500, False)],
    'disclosures': [('title', 300, 500, False)],
    'hotspots': [('title', 300, 500, False)],
    'region_received': [('region_code', 32, 64, False)],
    'tickets': [('region_code', 32, 64, True), ('title', 300, 500, True)],
    'units': [('region_code', 32, 64, True)],
}


def _alter(*, widen: bool) -> None:
    for table, columns in WIDENED.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, before, now, nullable in columns:
                old, new = (before, now) if widen else (now, before)
                batch_op.alter_column(name, existing_type=sa.String(length=old), type_=sa.String(length=new),
                                      existing_nullable=nullable)


def upgrade() -> None:
    _alter(widen=True)


def downgrade() -> None:
    # narrowing fails on PostgreSQL when a longer value was stored since
    _alter(widen=False)
