"""sla-svc tables: calendars (versioned), clocks per ticket and round, due timers, alerts, extensions,
pauses, the simulated time, and the plumbing tables."""

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from bancheng_shared.contracts.limits import NAME_MAX, REGION_CODE_MAX, TICKET_NO_MAX, UNIT_CODE_MAX
from bancheng_shared.plumbing import BigId, plumbing_tables
from bancheng_shared.types import UtcDateTime

metadata = MetaData()
plumbing = plumbing_tables(metadata)

# One row per (year, version); the highest version of a year is in force. Rows are never updated.
calendar_years = Table(
    "calendar_years",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("year", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("data", JSON, nullable=False),
    Column("source", String(40), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("created_by", String(NAME_MAX), nullable=False),
    UniqueConstraint("year", "version", name="uq_calendar_year_version"),
)

clocks = Table(
    "clocks",
    metadata,
    Column("ticket_no", String(TICKET_NO_MAX), primary_key=True),
    Column("round", Integer, primary_key=True),
    Column("gen", Integer, nullable=False, default=1),  # bumped whenever the timers are re-planned
    Column("unit", String(UNIT_CODE_MAX), nullable=False),
    Column("region_code", String(REGION_CODE_MAX), nullable=True),
    Column("complex", Boolean, nullable=False, default=False),
    Column("response_level", Integer, nullable=False, default=2),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("working_days", Integer, nullable=False),
    Column("extension_days", Integer, nullable=False, default=0),
    Column("paused_days", Integer, nullable=False, default=0),
    Column("paused_at", UtcDateTime(), nullable=True),
    Column("resume_at", UtcDateTime(), nullable=True),  # a paused clock resumes by itself then
    Column("state", String(20), nullable=False),
    Column("signed", Boolean, nullable=False, default=False),
    Column("deemed_signed", Boolean, nullable=False, default=False),
    Column("return_requested", Boolean, nullable=False, default=False),
    Column("accept_due", UtcDateTime(), nullable=True),
    Column("resolve_due", UtcDateTime(), nullable=True),
    Column("resolve_due_date", Date, nullable=True),
    Column("urgent_from", UtcDateTime(), nullable=True),
    Column("calendar_version", String(80), nullable=False),
    Column("unknown_year", Boolean, nullable=False, default=False),  # flagged: a needed year is unknown
    Column("flagged_years", JSON, nullable=True),
    Column("alert_level", String(20), nullable=True),
    Column("urged_at", UtcDateTime(), nullable=True),
    Column("escalated_at", UtcDateTime(), nullable=True),
    Column("resolved_at", UtcDateTime(), nullable=True),
    Column("return_visit_due", UtcDateTime(), nullable=True),
    Column("stopped_at", UtcDateTime(), nullable=True),
    Column("stop_reason", String(40), nullable=True),
    Column("explanation", Text, nullable=False, default=""),
    Column("accept_explanation", Text, nullable=False, default=""),
    Column("updated_at", UtcDateTime(), nullable=True),
    Column("detail", JSON, nullable=True),
    # set on a transfer's clock (petition / legal): the receiving organ (`unit`) is due to sign for it
    Column("transfer_route", String(20), nullable=True),
    Index("ix_clocks_flagged", "unknown_year", "state"),
    Index("ix_clocks_unit", "unit", "state"),
)

# Pending due transitions. A fired timer is deleted with its effect, in one transaction.
timers = Table(
    "timers",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("ticket_no", String(TICKET_NO_MAX), nullable=False),
    Column("round", Integer, nullable=False),
    Column("gen", Integer, nullable=False),
    Column("kind", String(20), nullable=False),  # accept, urgent, alarm, escalate, resume
    Column("due_at", UtcDateTime(), nullable=False),
    Column("status", String(12), nullable=False, default="pending"),  # pending, failed
    Column("error", Text, nullable=True),
    Index("ix_timers_due", "status", "due_at"),
    Index("ix_timers_clock", "ticket_no", "round"),
)

alerts = Table(
    "alerts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("ticket_no", String(TICKET_NO_MAX), nullable=False),
    Column("round", Integer, nullable=False),
    Column("level", String(20), nullable=False),
    Column("unit", String(UNIT_CODE_MAX), nullable=False),
    Column("region_code", String(REGION_CODE_MAX), nullable=True),
    Column("deadline", UtcDateTime(), nullable=True),
    Column("raised_at", UtcDateTime(), nullable=False),
    Column("is_open", Boolean, nullable=False, default=True),
    Column("closed_at", UtcDateTime(), nullable=True),
    Index("ix_alerts_open_level", "is_open", "level", "id"),
    Index("ix_alerts_unit", "unit", "id"),
    Index("ix_alerts_region", "region_code"),
    Index("ix_alerts_ticket", "ticket_no", "round"),
)

extension_requests = Table(
    "extension_requests",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("ticket_no", String(TICKET_NO_MAX), nullable=False),
    Column("round", Integer, nullable=False),
    Column("unit", String(UNIT_CODE_MAX), nullable=False),
    Column("days", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("state", String(12), nullable=False),  # pending, approved, rejected
    Column("requested_at", UtcDateTime(), nullable=False),
    Column("requested_by", String(NAME_MAX), nullable=False),
    Column("deadline_at_request", UtcDateTime(), nullable=True),
    Column("decided_at", UtcDateTime(), nullable=True),
    Column("decided_by", String(NAME_MAX), nullable=True),
    Column("decision_reason", Text, nullable=True),
    # once per ticket, round and unit (a unit that receives the ticket after an approved return may ask once)
    UniqueConstraint("ticket_no", "round", "unit", name="uq_extension_once"),
)

pauses = Table(
    "pauses",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("ticket_no", String(TICKET_NO_MAX), nullable=False),
    Column("round", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("paused_at", UtcDateTime(), nullable=False),
    Column("paused_by", String(NAME_MAX), nullable=False),
    Column("resumed_at", UtcDateTime(), nullable=True),
    Column("resumed_by", String(NAME_MAX), nullable=True),
    Column("resume_reason", Text, nullable=True),
    Column("working_days", Integer, nullable=True),  # not counted, known on resuming
    Column("days", Integer, nullable=True),  # the approved length in working days
    Column("resume_at", UtcDateTime(), nullable=True),  # when it resumes by itself
    Column("request_id", String(32), nullable=True),  # the unit's request it was approved on
    Index("ix_pauses_ticket", "ticket_no", "round"),
)

# A unit asks for a pause (reason, working days); the work team approves (possibly fewer days) or rejects.
pause_requests = Table(
    "pause_requests",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("ticket_no", String(TICKET_NO_MAX), nullable=False),
    Column("round", Integer, nullable=False),
    Column("unit", String(UNIT_CODE_MAX), nullable=False),
    Column("days", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("state", String(12), nullable=False),  # pending, approved, rejected
    Column("requested_at", UtcDateTime(), nullable=False),
    Column("requested_by", String(NAME_MAX), nullable=False),
    Column("decided_at", UtcDateTime(), nullable=True),
    Column("decided_by", String(NAME_MAX), nullable=True),
    Column("decision_reason", Text, nullable=True),
    Column("approved_days", Integer, nullable=True),
    Index("ix_pause_requests_ticket", "ticket_no", "round"),
    Index("ix_pause_requests_state", "state", "requested_at"),
)

# The service's simulated time (one row, shared by replicas); absent = real time.
sim_time = Table(
    "sim_time",
    metadata,
    Column("name", String(20), primary_key=True),
    Column("now", UtcDateTime(), nullable=False),
    Column("running", Boolean, nullable=False),
    Column("set_at", UtcDateTime(), nullable=False),
)
