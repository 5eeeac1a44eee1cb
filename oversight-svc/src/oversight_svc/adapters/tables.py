"""oversight's tables: rollups (day / month / quarter / year), ticket facts and rounds, cases and their
documents, letters, return visits, accountability, hotspots, tier copies, disclosures, the calendar years
received from sla, and the plumbing tables.

Text columns are sized by the shared field limits (bancheng_shared.contracts.limits), so that whatever intake,
triage and sla may publish, and whatever oversight's HTTP edge takes, is stored on PostgreSQL as on SQLite (a
value longer than its column would dead-letter the event or fail the request there). Ticket numbers (at most
TICKET_NO_MAX) and oversight's own ids keep their wider key columns.
"""

from __future__ import annotations

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

from bancheng_shared.contracts.limits import NAME_MAX, REASON_MAX, REGION_CODE_MAX, TITLE_MAX, UNIT_CODE_MAX
from bancheng_shared.leases import job_runs_table
from bancheng_shared.plumbing import BigId, plumbing_tables
from bancheng_shared.types import UtcDateTime
from oversight_svc.domain.metrics import METRICS

metadata = MetaData()
plumbing = plumbing_tables(metadata)
# the periods of periodic jobs (the letter check) a replica claimed and ran: once per period across replicas
job_runs = job_runs_table(metadata)

# One row per (grain, period start, unit): 'd' day, 'm' month, 'q' quarter, 'y' year. A period query reads whole
# years and months where it can and days only at its ragged edges, so it never scans per ticket.
rollups = Table(
    "rollups",
    metadata,
    Column("grain", String(1), primary_key=True),
    Column("period", Date, primary_key=True),
    Column("unit", String(UNIT_CODE_MAX), primary_key=True),
    *(Column(m, Integer, nullable=False, server_default="0") for m in METRICS),
    # SQLite: clustered on the key, so one period's rows of all units are adjacent pages (a month's
    # 20,000 rows are read sequentially instead of 20,000 random row lookups through a separate index)
    sqlite_with_rowid=False,
)

# Tickets received, by the region of the place (before any unit is known).
region_received = Table(
    "region_received",
    metadata,
    Column("grain", String(1), primary_key=True),
    Column("period", Date, primary_key=True),
    Column("region_code", String(REGION_CODE_MAX), primary_key=True),
    Column("n", Integer, nullable=False),
)

units = Table(
    "units",
    metadata,
    Column("unit", String(UNIT_CODE_MAX), primary_key=True),
    Column("name", String(NAME_MAX), nullable=True),
    Column("region_code", String(REGION_CODE_MAX), nullable=True, index=True),
    Column("level", Integer, nullable=True),
)

tickets = Table(
    "tickets",
    metadata,
    Column("ticket_no", String(64), primary_key=True),
    Column("region_code", String(REGION_CODE_MAX), nullable=True),
    Column("title", String(TITLE_MAX), nullable=True),
    Column("content", Text, nullable=True),
    Column("category", String(32), nullable=True),
    Column("kinds", JSON, nullable=True),
    Column("tier", String(16), nullable=True),
    Column("received_at", UtcDateTime(), nullable=True),
    Column("lead_unit", String(UNIT_CODE_MAX), nullable=True),
    Column("round", Integer, nullable=False, server_default="1"),
    Column("status", String(32), nullable=False, server_default="open"),
    Column("closed_at", UtcDateTime(), nullable=True),
    Column("updated_at", UtcDateTime(), nullable=True),
    Index("ix_tickets_received", "received_at"),
)

# One row per ticket round: the clock from sla, the unit's actions from triage, what was counted.
rounds = Table(
    "rounds",
    metadata,
    Column("ticket_no", String(64), primary_key=True),
    Column("round", Integer, primary_key=True),
    Column("unit", String(UNIT_CODE_MAX), nullable=True),
    # the local day of the round's dispatch: its facts count in this day's periods (None until the dispatch is seen)
    Column("dispatch_day", Date, nullable=True),
    Column("accept_due", UtcDateTime(), nullable=True),
    Column("resolve_due", UtcDateTime(), nullable=True),
    Column("visit_due", UtcDateTime(), nullable=True),
    Column("signed_at", UtcDateTime(), nullable=True),
    Column("sign_unit", String(UNIT_CODE_MAX), nullable=True),
    Column("sign_in_time", Boolean, nullable=True),  # the sign's judgement; None = not signed
    Column("sign_deemed", Boolean, nullable=True),  # deemed signed (None: not signed, or stored before it was kept)
    Column("resolved_at", UtcDateTime(), nullable=True),
    Column("resolve_unit", String(UNIT_CODE_MAX), nullable=True),
    Column("outcome", String(32), nullable=True),
    Column("resolve_in_time", Boolean, nullable=True),
    Column("overdue", Boolean, nullable=False, server_default="0"),
    Column("extended", Boolean, nullable=False, server_default="0"),
    Column("visited_at", UtcDateTime(), nullable=True),
    Index("ix_rounds_visit", "visited_at", "resolved_at"),
    Index("ix_rounds_dispatch_day", "dispatch_day", "ticket_no", "round"),  # the work-order ledger's order
)

visits = Table(
    "visits",
    metadata,
    Column("visit_id", String(40), primary_key=True),
    Column("ticket_no", String(64), nullable=False, index=True),
    Column("round", Integer, nullable=False),
    Column("unit", String(UNIT_CODE_MAX), nullable=True),
    Column("resolved", String(16), nullable=True),
    Column("satisfaction", String(32), nullable=False),
    Column("cause", String(16), nullable=True),
    Column("notes", Text, nullable=True),
    Column("redo", Boolean, nullable=False),
    Column("case_id", String(40), nullable=True),
    Column("by_name", String(NAME_MAX), nullable=False),
    Column("by_role", String(40), nullable=False),
    Column("visited_at", UtcDateTime(), nullable=False),
    Index("ix_visits_visited_at", "visited_at", "visit_id"),  # the return-visit ledger's order
)

cases = Table(
    "cases",
    metadata,
    Column("case_id", String(40), primary_key=True),
    Column("title", String(TITLE_MAX), nullable=False),
    Column("state", String(32), nullable=False),
    Column("level", String(16), nullable=False, server_default="normal"),
    Column("sources", JSON, nullable=False),
    Column("inspector", String(NAME_MAX), nullable=True),
    Column("informant", Text, nullable=True),  # PII: never shown to units nor published
    Column("summary", Text, nullable=True),
    Column("hotspot_id", String(40), nullable=True),
    Column("red", Boolean, nullable=False, server_default="0"),
    # who supervises besides the inspectors (triage's red copy: business_environment, discipline)
    Column("supervisors", JSON, nullable=True),  # department kinds
    Column("supervisor_units", JSON, nullable=True),  # unit codes triage chose for them
    Column("result", Text, nullable=True),
    Column("solved", Boolean, nullable=True),
    Column("opened_at", UtcDateTime(), nullable=False),
    Column("registered_at", UtcDateTime(), nullable=True),
    Column("concluded_at", UtcDateTime(), nullable=True),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("ix_cases_state", "state"),
)

case_tickets = Table(
    "case_tickets",
    metadata,
    Column("case_id", String(40), primary_key=True),
    Column("ticket_no", String(64), primary_key=True),
    Index("ix_case_tickets_ticket", "ticket_no"),
)

case_units = Table(
    "case_units",
    metadata,
    Column("case_id", String(40), primary_key=True),
    Column("unit", String(UNIT_CODE_MAX), primary_key=True),
    Index("ix_case_units_unit", "unit"),
)

case_documents = Table(
    "case_documents",
    metadata,
    Column("doc_id", String(40), primary_key=True),
    Column("case_id", String(40), nullable=False, index=True),
    Column("seq", Integer, nullable=False),
    Column("kind", String(40), nullable=False),
    Column("state_after", String(32), nullable=False),
    Column("body", JSON, nullable=False),
    Column("by_name", String(NAME_MAX), nullable=False),
    Column("by_role", String(40), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
)

letters = Table(
    "letters",
    metadata,
    Column("letter_id", String(40), primary_key=True),
    Column("case_id", String(40), nullable=False, index=True),
    Column("unit", String(UNIT_CODE_MAX), nullable=False),
    Column("requirements", Text, nullable=False),
    Column("due_at", UtcDateTime(), nullable=False),
    Column("sent_at", UtcDateTime(), nullable=False),
    Column("replied_at", UtcDateTime(), nullable=True),
    Column("reply", JSON, nullable=True),
    Column("overdue", Boolean, nullable=False, server_default="0"),
    Index("ix_letters_open", "replied_at", "overdue", "due_at"),
)

accountability = Table(
    "accountability",
    metadata,
    Column("record_id", String(40), primary_key=True),
    Column("status", String(16), nullable=False),  # proposed | decided | dismissed
    Column("unit", String(UNIT_CODE_MAX), nullable=False, index=True),
    Column("person_name", String(NAME_MAX), nullable=True),
    Column("person_post", String(NAME_MAX), nullable=True),
    Column("measure", String(40), nullable=True),
    Column("reason_category", String(40), nullable=True),
    Column("reason", Text, nullable=True),
    Column("case_ids", JSON, nullable=False),
    Column("ticket_nos", JSON, nullable=False),
    Column("proposed_at", UtcDateTime(), nullable=True),
    Column("decided_by", String(NAME_MAX), nullable=True),
    Column("decided_at", UtcDateTime(), nullable=True),
)

hotspots = Table(
    "hotspots",
    metadata,
    Column("hotspot_id", String(40), primary_key=True),
    Column("kind", String(UNIT_CODE_MAX), nullable=False),  # a department kind: a code, as a unit's
    Column("category", String(32), nullable=True),
    Column("title", String(TITLE_MAX), nullable=False),
    Column("ticket_nos", JSON, nullable=False),
    Column("places", JSON, nullable=False),
    Column("detected_at", UtcDateTime(), nullable=False),
    Column("case_id", String(40), nullable=True),
)

# A hotspot handed down as a work order (one per hotspot): the department kind and level asked, the ticket intake
# registered for it (learnt from its TicketReceived).
hotspot_orders = Table(
    "hotspot_orders",
    metadata,
    Column("hotspot_id", String(40), primary_key=True),
    Column("department_kind", String(UNIT_CODE_MAX), nullable=False),
    Column("unit_level", Integer, nullable=False),
    Column("title", String(TITLE_MAX), nullable=False),
    Column("summary", Text, nullable=False),
    Column("ticket_no", String(64), nullable=True, unique=True),
    Column("by_name", String(NAME_MAX), nullable=False),
    Column("handed_down_at", UtcDateTime(), nullable=False),
)

# 回头看: a closed round sampled for a re-check visit, due some days after closing; the visit's answers.
rechecks = Table(
    "rechecks",
    metadata,
    Column("ticket_no", String(64), primary_key=True),
    Column("round", Integer, primary_key=True),
    Column("unit", String(UNIT_CODE_MAX), nullable=True),
    Column("dispatch_day", Date, nullable=True),  # the cohort its counts go to
    Column("closed_at", UtcDateTime(), nullable=False),
    Column("due_at", UtcDateTime(), nullable=False),
    Column("done_at", UtcDateTime(), nullable=True),
    Column("resolved", String(16), nullable=True),
    Column("satisfaction", String(32), nullable=True),
    Column("relapsed", Boolean, nullable=True),
    Column("redo", Boolean, nullable=True),
    Column("notes", Text, nullable=True),
    Column("by_name", String(NAME_MAX), nullable=True),
    Index("ix_rechecks_due", "done_at", "due_at"),
)

# Copies triage sends by tier (Hanyang's rule): green → archive after completion, yellow → joint scheduling,
# red → supervision. One row per ticket, purpose and round: a redelivered or re-issued copy is not doubled.
copies = Table(
    "copies",
    metadata,
    Column("copy_id", String(40), primary_key=True),
    Column("ticket_no", String(64), nullable=False),
    Column("round", Integer, nullable=False),
    Column("purpose", String(32), nullable=False),
    Column("tier", String(16), nullable=False),
    Column("to_kinds", JSON, nullable=False),
    Column("to_units", JSON, nullable=False),
    Column("reason", Text, nullable=True),
    Column("issued_at", UtcDateTime(), nullable=False),
    Column("case_id", String(40), nullable=True),
    Column("event_id", String(64), nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
    UniqueConstraint("ticket_no", "purpose", "round", name="uq_copies_ticket_purpose_round"),
    Index("ix_copies_purpose_issued", "purpose", "issued_at"),
    Index("ix_copies_issued", "issued_at"),
)

disclosures = Table(
    "disclosures",
    metadata,
    Column("case_id", String(40), primary_key=True),
    Column("title", String(TITLE_MAX), nullable=False),
    Column("summary", Text, nullable=False),
    Column("outcome", Text, nullable=False),
    Column("units", JSON, nullable=False),
    Column("concluded_on", Date, nullable=True),
    Column("published_at", UtcDateTime(), nullable=False),
)

# Every calendar year version sla published (CalendarYearLoaded); the highest version of a year is in force over
# the seeded years. A growing max(id) tells every replica to reload (see adapters.calendar).
calendar_years = Table(
    "calendar_years",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("year", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("holidays", JSON, nullable=False),
    Column("workdays", JSON, nullable=False),
    Column("source", String(64), nullable=False),
    Column("loaded_at", UtcDateTime(), nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
    UniqueConstraint("year", "version", name="uq_calendar_years_year_version"),
)

# Process-improvement suggestions (改进建议) to a department: raised from a ticket, a window visit or a case; the
# department answers once (adopted with the change, or not adopted with the reason). Overdue is derived from due_at.
suggestions = Table(
    "suggestions",
    metadata,
    Column("suggestion_id", String(40), primary_key=True),
    Column("source", String(16), nullable=False),  # ticket, window_visit, case
    Column("source_ref", String(NAME_MAX), nullable=False),
    Column("target", String(16), nullable=False),  # step, certificate, other
    Column("item", String(TITLE_MAX), nullable=False),
    Column("evidence", Text, nullable=False),
    Column("department", String(UNIT_CODE_MAX), nullable=False),
    Column("status", String(16), nullable=False),  # raised, adopted, not_adopted
    Column("raised_by", String(NAME_MAX), nullable=False),
    Column("raised_role", String(40), nullable=False),
    Column("raised_at", UtcDateTime(), nullable=False),
    Column("due_at", UtcDateTime(), nullable=False),
    Column("answered_at", UtcDateTime(), nullable=True),
    Column("answered_by", String(NAME_MAX), nullable=True),
    Column("change", Text, nullable=True),
    Column("effective_date", Date, nullable=True),
    Column("reason", Text, nullable=True),
    Column("late", Boolean, nullable=False, server_default="0"),
    Index("ix_suggestions_department_raised", "department", "raised_at"),
    Index("ix_suggestions_raised", "raised_at"),
    Index("ix_suggestions_status_due", "status", "due_at"),
)

# The yearly assessment's schemes (绩效考核方案): every change an admin makes is a new version of its year, kept with
# who made it, when and why, so that a year's old score can be computed again with the version it used. Version 0
# (the shipped default, data/assessment_scheme.json) is not stored.
assessment_schemes = Table(
    "assessment_schemes",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("year", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("weights", JSON, nullable=False),
    Column("deductions", JSON, nullable=False),
    Column("min_sample", Integer, nullable=False),
    Column("reason", String(REASON_MAX), nullable=False),
    Column("created_by", String(NAME_MAX), nullable=False),
    Column("created_role", String(32), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("year", "version", name="uq_assessment_schemes_year_version"),
)
