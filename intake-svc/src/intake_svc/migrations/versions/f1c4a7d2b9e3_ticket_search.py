"""ticket search: ticket_search (normalised text and address, trigram-indexed: pg_trgm GIN on PostgreSQL, an FTS5
trigram table kept by triggers on SQLite), tickets.name_hash (a keyed hash of the normalised name); existing
tickets' search rows are filled here, their name hashes by `python -m intake_svc reindex` (it needs the PII keys)

Revision ID: f1c4a7d2b9e3
Revises: e3b8d51a7c02
Create Date: 2026-12-05 12:10:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from intake_svc.domain.search import normalize_text, search_text

revision: str = 'f1c4a7d2b9e3'
down_revision: str | None = 'e3b8d51a7c02'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SQLITE_FTS = (
    "CREATE VIRTUAL TABLE ticket_fts USING fts5(body, place, content='ticket_search', content_rowid='id', "
    "tokenize='trigram')",
    "CREATE TRIGGER ticket_search_ai AFTER INSERT ON ticket_search BEGIN "
    "INSERT INTO ticket_fts(rowid, body, place) VALUES (new.id, new.body, new.place); END",
    "CREATE TRIGGER ticket_search_ad AFTER DELETE ON ticket_search BEGIN "
    "INSERT INTO ticket_fts(ticket_fts, rowid, body, place) VALUES ('delete', old.id, old.body, old.place); END",
    "CREATE TRIGGER ticket_search_au AFTER UPDATE ON ticket_search BEGIN "
    "INSERT INTO ticket_fts(ticket_fts, rowid, body, place) VALUES ('delete', old.id, old.body, old.place); "
    "INSERT INTO ticket_fts(rowid, body, place) VALUES (new.id, new.body, new.place); END",
)


def _backfill(bind: sa.engine.Connection) -> None:
    """A search row for every stored ticket, with the text of the repeats merged into it."""
    t = sa.table('tickets', sa.column('ticket_no'), sa.column('title'), sa.column('content'), sa.column('address'))
    r = sa.table('repeats', sa.column('ticket_no'), sa.column('seq'), sa.column('content'),
                 sa.column('unmerged_into'))
    s = sa.table('ticket_search', sa.column('ticket_no'), sa.column('body'), sa.column('place'))
    after = ''
    while True:
        rows = bind.execute(sa.select(t).where(t.c.ticket_no > after).order_by(t.c.ticket_no).limit(2000)).all()
        if not rows:
            return
        more: dict[str, list[str]] = {}
        for rep in bind.execute(sa.select(r.c.ticket_no, r.c.content).where(
                r.c.ticket_no.in_([x.ticket_no for x in rows]), r.c.unmerged_into.is_(None))
                .order_by(r.c.ticket_no, r.c.seq)).all():
            more.setdefault(rep.ticket_no, []).append(rep.content)
        bind.execute(sa.insert(s), [
            {'ticket_no': x.ticket_no, 'body': search_text(x.title, x.content, x.address, *more.get(x.ticket_no, [])),
             'place': normalize_text(x.address)} for x in rows])
        after = rows[-1].ticket_no


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == 'postgresql'
    op.add_column('tickets', sa.Column('name_hash', sa.String(length=64), nullable=True))
    op.create_index('ix_tickets_name_hash', 'tickets', ['name_hash', 'received_at'], unique=False)
    op.create_table(
        'ticket_search',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('ticket_no', sa.String(length=40), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('place', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('ticket_no'),
    )
    if postgres:
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
        op.execute('CREATE INDEX ix_ticket_search_body_trgm ON ticket_search USING gin (body gin_trgm_ops)')
        op.execute('CREATE INDEX ix_ticket_search_place_trgm ON ticket_search USING gin (place gin_trgm_ops)')
    else:
        for statement in _SQLITE_FTS:
            op.execute(statement)
    _backfill(bind)


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        for trigger in ('ticket_search_ai', 'ticket_search_ad', 'ticket_search_au'):
            op.execute(f'DROP TRIGGER IF EXISTS {trigger}')
        op.execute('DROP TABLE IF EXISTS ticket_fts')
    op.drop_table('ticket_search')
    op.drop_index('ix_tickets_name_hash', table_name='tickets')
    op.drop_column('tickets', 'name_hash')
