"""sla-svc tables: clocks per ticket and round, and the plumbing tables."""

from sqlalchemy import JSON, Boolean, Column, Date, Index, Integer, MetaData, String, Table, Text

from bancheng_shared.plumbing import plumbing_tables
from bancheng_shared.types import UtcDateTime

metadata = MetaData()
plumbing = plumbing_tables(metadata)

clocks = Table(
    "clocks",
    metadata,
    Column("ticket_no", String(40), primary_key=True),
    Column("round", Integer, primary_key=True),
    Column("unit", String(64), nullable=False),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("working_days", Integer, nullable=False),
    Column("accept_due", UtcDateTime(), nullable=True),
    Column("resolve_due", UtcDateTime(), nullable=True),
    Column("resolve_due_date", Date, nullable=True),
    Column("calendar_version", String(80), nullable=False),
    Column("unknown_year", Boolean, nullable=False, default=False),
    Column("alert_level", String(20), nullable=True),
    Column("state", String(20), nullable=False),
    Column("explanation", Text, nullable=False, default=""),
    Column("detail", JSON, nullable=True),
    Index("ix_clocks_resolve_due", "state", "resolve_due"),
)
