"""triage-svc tables: the org directory, work orders, and the plumbing tables."""

from sqlalchemy import JSON, Boolean, Column, Index, Integer, MetaData, String, Table, Text

from bancheng_shared.plumbing import plumbing_tables
from bancheng_shared.types import UtcDateTime

metadata = MetaData()
plumbing = plumbing_tables(metadata)

units = Table(
    "units",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("level", Integer, nullable=False),
    Column("kind", String(40), nullable=False),
    Column("region_code", String(64), nullable=False),
    Column("parent_code", String(64), nullable=True),
    Column("contacts", JSON, nullable=True),
    Column("active", Boolean, nullable=False, default=True),
    Index("ix_units_region_kind", "region_code", "kind"),
    Index("ix_units_kind_level", "kind", "level"),
)

work_orders = Table(
    "work_orders",
    metadata,
    Column("ticket_no", String(40), primary_key=True),
    Column("state", String(30), nullable=False),
    Column("content", Text, nullable=False),
    Column("category", String(20), nullable=False),
    Column("domain", String(40), nullable=False),
    Column("department_kinds", JSON, nullable=False),
    Column("tier", String(10), nullable=False),
    Column("response_level", Integer, nullable=False),
    Column("route", String(20), nullable=False),
    Column("region_code", String(64), nullable=True),
    Column("lead_unit", String(64), nullable=True),
    Column("co_units", JSON, nullable=True),
    Column("round", Integer, nullable=False, default=1),
    Column("explanation", JSON, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("ix_work_orders_lead_state", "lead_unit", "state"),
)
