"""triage-svc tables: the org directory, work orders and their log, catalogue versions, corrections.

Columns are sized by the shared field limits (`bancheng_shared.contracts.limits`) and triage's own (`domain.bounds`):
every value intake may send, and every value the HTTP edge accepts, fits.
"""

from sqlalchemy import JSON, Boolean, Column, Index, Integer, MetaData, String, Table, Text

from bancheng_shared.contracts.limits import NAME_MAX, REGION_CODE_MAX, TICKET_NO_MAX, UNIT_CODE_MAX
from bancheng_shared.plumbing import plumbing_tables
from bancheng_shared.types import UtcDateTime
from triage_svc.domain.bounds import ACTOR_MAX, KIND_MAX, KNOWLEDGE_ID_MAX

metadata = MetaData()
plumbing = plumbing_tables(metadata)

units = Table(
    "units",
    metadata,
    Column("code", String(UNIT_CODE_MAX), primary_key=True),
    Column("name", String(NAME_MAX), nullable=False),
    Column("level", Integer, nullable=False),
    Column("kind", String(KIND_MAX), nullable=False),
    Column("region_code", String(REGION_CODE_MAX), nullable=False),
    Column("parent_code", String(UNIT_CODE_MAX), nullable=True),
    Column("contacts", JSON, nullable=True),
    Column("active", Boolean, nullable=False, default=True),
    Index("ix_units_region_kind", "region_code", "kind"),
    Index("ix_units_kind_level", "kind", "level"),
    Index("ix_units_parent", "parent_code"),
)

work_orders = Table(
    "work_orders",
    metadata,
    Column("ticket_no", String(TICKET_NO_MAX), primary_key=True),
    Column("state", String(30), nullable=False),
    Column("content", Text, nullable=False),
    Column("address", Text, nullable=True),
    Column("channel", String(20), nullable=True),
    Column("category", String(20), nullable=False),
    Column("domain", String(40), nullable=False),
    Column("department_kinds", JSON, nullable=False),
    Column("tier", String(10), nullable=False),
    Column("response_level", Integer, nullable=False),
    Column("complex", Boolean, nullable=False, default=False),
    Column("route", String(20), nullable=False),
    Column("region_code", String(REGION_CODE_MAX), nullable=True),
    Column("place_source", String(20), nullable=True),
    Column("lead_unit", String(UNIT_CODE_MAX), nullable=True),
    Column("lead_unit_name", String(NAME_MAX), nullable=True),
    Column("co_units", JSON, nullable=True),
    # the receiving organ of a transfer to 信访 / 涉法涉诉 (it signs for it); none when no organ was found
    Column("transfer_unit", String(UNIT_CODE_MAX), nullable=True),
    Column("round", Integer, nullable=False, default=1),
    Column("returns_count", Integer, nullable=False, default=0),
    Column("repeat_count", Integer, nullable=False, default=0),
    Column("own_repeat_count", Integer, nullable=False, default=0, server_default="0"),
    Column("urgent", Boolean, nullable=False, default=False),
    Column("deemed_signed", Boolean, nullable=False, default=False),
    Column("dispatched_at", UtcDateTime(), nullable=True),
    Column("signed_at", UtcDateTime(), nullable=True),
    Column("return_request", JSON, nullable=True),
    Column("resolution", JSON, nullable=True),
    Column("suggested_answer", Text, nullable=True),
    Column("knowledge_id", String(KNOWLEDGE_ID_MAX), nullable=True),
    Column("answer", Text, nullable=True),
    Column("copies", JSON, nullable=True),
    Column("catalogue_version", Integer, nullable=True),
    Column("explanation", JSON, nullable=True),
    Column("closed_at", UtcDateTime(), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("ix_work_orders_lead_state", "lead_unit", "state"),
    Index("ix_work_orders_transfer_unit", "transfer_unit"),
    Index("ix_work_orders_state", "state"),
)

work_order_log = Table(
    "work_order_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ticket_no", String(TICKET_NO_MAX), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("action", String(30), nullable=False),
    Column("actor", String(ACTOR_MAX), nullable=False),
    Column("round", Integer, nullable=False),
    Column("from_state", String(30), nullable=True),
    Column("to_state", String(30), nullable=True),
    Column("detail", JSON, nullable=True),
    Index("ix_work_order_log_ticket", "ticket_no", "id"),
)

catalogue_versions = Table(
    "catalogue_versions",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("doc", JSON, nullable=False),
    Column("active", Boolean, nullable=False, default=False),
    Column("note", Text, nullable=True),
    Column("created_by", String(ACTOR_MAX), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

corrections = Table(
    "corrections",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ticket_no", String(TICKET_NO_MAX), nullable=False),
    Column("content", Text, nullable=False),
    Column("kind", String(KIND_MAX), nullable=True),
    Column("category", String(20), nullable=True),
    Column("route", String(20), nullable=True),
    Column("previous", JSON, nullable=True),
    Column("reason", Text, nullable=False),
    Column("created_by", String(ACTOR_MAX), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Index("ix_corrections_ticket", "ticket_no"),
)

# Small counters every replica reads to know when its caches are stale (e.g. directory generation).
meta = Table(
    "triage_meta",
    metadata,
    Column("key", String(40), primary_key=True),
    Column("value", Integer, nullable=False),
)
