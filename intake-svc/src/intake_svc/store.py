"""intake-svc tables: tickets (submissions), the timeline read model, and the plumbing tables."""

from sqlalchemy import JSON, Column, Index, Integer, MetaData, String, Table, Text, UniqueConstraint

from bancheng_shared.plumbing import BigId, plumbing_tables
from bancheng_shared.types import UtcDateTime

metadata = MetaData()
plumbing = plumbing_tables(metadata)

tickets = Table(
    "tickets",
    metadata,
    Column("ticket_no", String(40), primary_key=True),
    Column("channel", String(20), nullable=False),
    Column("external_id", String(200), nullable=True),
    Column("idempotency_key", String(200), nullable=True, unique=True),
    Column("request_hash", String(64), nullable=False),
    Column("title", String(500), nullable=True),
    Column("content", Text, nullable=False),
    Column("region_code", String(64), nullable=True),
    Column("address", String(500), nullable=True),
    Column("received_at", UtcDateTime(), nullable=False),
    # read model, kept from every topic
    Column("status", String(40), nullable=False),
    Column("status_label", String(80), nullable=False),
    Column("tier", String(10), nullable=True),
    Column("category", String(20), nullable=True),
    Column("unit", String(64), nullable=True),
    Column("unit_name", String(200), nullable=True),
    Column("deadline", UtcDateTime(), nullable=True),
    Column("alert_level", String(20), nullable=True),
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint("channel", "external_id", name="uq_tickets_channel_external_id"),
    Index("ix_tickets_received_at", "received_at"),
)

timeline = Table(
    "timeline",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("ticket_no", String(40), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("event_type", String(80), nullable=False),
    Column("label", String(200), nullable=False),
    Column("public", Integer, nullable=False, default=1),
    Column("detail", JSON, nullable=True),
    Index("ix_timeline_ticket", "ticket_no", "at"),
)
