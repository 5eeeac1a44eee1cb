"""Tables every service has in its own database: outbox, inbox of handled events, API keys, state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    delete,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bancheng_shared.db import transaction
from bancheng_shared.types import UtcDateTime

# BigInteger autoincrement is INTEGER PRIMARY KEY (rowid) on SQLite, BIGSERIAL on PostgreSQL.
BigId = BigInteger().with_variant(Integer(), "sqlite")


@dataclass(frozen=True)
class Plumbing:
    """The plumbing tables bound to one service's metadata."""

    outbox: Table
    inbox: Table
    api_keys: Table
    state: Table


def plumbing_tables(metadata: MetaData) -> Plumbing:
    """Declare the plumbing tables on a service's metadata (call once, from its store module)."""
    outbox = Table(
        "outbox",
        metadata,
        Column("id", BigId, primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=True),
        Column("event_type", String(80), nullable=True),
        Column("topic", String(200), nullable=False),
        Column("key", String(120), nullable=False),
        Column("value", LargeBinary, nullable=False),
        Column("headers", JSON, nullable=True),
        Column("created_at", UtcDateTime(), nullable=False),
        Column("sent_at", UtcDateTime(), nullable=True),
        # where the broker put the row when it was last sent, and under which broker generation (see
        # OutboxRelay): after an empty broker, rows the consumer groups had confirmed are not sent again
        Column("sent_partition", Integer, nullable=True),
        Column("sent_offset", BigInteger, nullable=True),
        Column("sent_generation", Integer, nullable=True),
        # the relay's next rows, in id order: only unsent rows are in it. (An index of sent_at kept, on PostgreSQL,
        # every sent row's old NULL entry until a vacuum, and the relay's poll visited each one's page: 15 ms a
        # poll after 6,000 tickets. An ordinary index scan of this one marks such entries dead once and skips them.)
        Index("ix_outbox_unsent", "id", postgresql_where=text("sent_at IS NULL"), sqlite_where=text("sent_at IS NULL")),
        # what `purge` finds old sent rows by (sent_at is never before created_at): BRIN on PostgreSQL, as the inbox
        Index("ix_outbox_created_at", "created_at", postgresql_using="brin"),
    )
    inbox = Table(
        "inbox",
        metadata,
        Column("event_id", String(36), primary_key=True),
        Column("event_type", String(80), nullable=False),
        Column("topic", String(200), nullable=False),
        Column("handled_at", UtcDateTime(), nullable=False),
        Column("dead_lettered", Boolean, nullable=False, default=False),
        # what `purge` deletes by: rows come in handled order, so on PostgreSQL a BRIN index (a few pages, next to
        # nothing per insert) finds the old ones; SQLite makes it an ordinary index
        Index("ix_inbox_handled_at", "handled_at", postgresql_using="brin"),
    )
    api_keys = Table(
        "api_keys",
        metadata,
        Column("key_id", String(32), primary_key=True),
        Column("key_hash", String(64), nullable=False, unique=True),
        Column("name", String(200), nullable=False),
        Column("role", String(40), nullable=False),
        Column("unit_code", String(64), nullable=True),
        Column("active", Boolean, nullable=False, default=True),
        Column("created_at", UtcDateTime(), nullable=False),
    )
    state = Table(
        "plumbing_state",
        metadata,
        Column("name", String(100), primary_key=True),
        Column("value", Text, nullable=False),
    )
    return Plumbing(outbox=outbox, inbox=inbox, api_keys=api_keys, state=state)


async def purge(sm: async_sessionmaker[AsyncSession], p: Plumbing, *, sent_before: datetime,
                handled_before: datetime | None, chunk: int = 5000) -> tuple[int, int]:
    """Delete outbox rows sent before `sent_before` and inbox rows handled before `handled_before` (None: keep the
    inbox); returns how many of each. The inbox goes in chunks of `chunk`, one transaction each, so that the first
    purge of a large inbox holds no lock for long."""
    async with transaction(sm) as session:
        res = await session.execute(delete(p.outbox).where(p.outbox.c.created_at < sent_before,
                                                           p.outbox.c.sent_at.is_not(None),
                                                           p.outbox.c.sent_at < sent_before))
        outbox_gone = int(getattr(res, "rowcount", 0) or 0)
    inbox_gone = 0
    while handled_before is not None:
        old = select(p.inbox.c.event_id).where(p.inbox.c.handled_at < handled_before).limit(chunk)
        async with transaction(sm) as session:
            res = await session.execute(delete(p.inbox).where(p.inbox.c.event_id.in_(old.scalar_subquery())))
            n = int(getattr(res, "rowcount", 0) or 0)
        inbox_gone += n
        if n < chunk:
            break
    return outbox_gone, inbox_gone
