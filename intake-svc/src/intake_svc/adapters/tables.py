"""intake-svc tables: tickets and their submissions, repeats, follow-ups, the timeline read model, PII access
log, platforms and their seen signatures, callback subscriptions and deliveries, the SMS outbox, plumbing."""

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from bancheng_shared.contracts.limits import (
    ADDRESS_MAX,
    EXTERNAL_ID_MAX,
    NAME_MAX,
    REGION_CODE_MAX,
    TICKET_NO_MAX,
    TITLE_MAX,
    UNIT_CODE_MAX,
)
from bancheng_shared.plumbing import BigId, plumbing_tables
from bancheng_shared.types import UtcDateTime
from intake_svc.domain.timeline import LABEL_MAX

metadata = MetaData()
# made by migration f1c4a7d2b9e3 for one dialect, not described here: SQLite's FTS5 table over ticket_search (and its
# shadow tables), PostgreSQL's pg_trgm GIN indexes
metadata.info["unmanaged_prefixes"] = ("ticket_fts", "ix_ticket_search_body_trgm", "ix_ticket_search_place_trgm")
plumbing = plumbing_tables(metadata)

tickets = Table(
    "tickets",
    metadata,
    Column("ticket_no", String(TICKET_NO_MAX), primary_key=True),
    Column("channel", String(20), nullable=False),
    Column("platform", String(64), nullable=True),
    Column("external_id", String(EXTERNAL_ID_MAX), nullable=True),
    Column("submitted_by", String(32), nullable=True),
    Column("title", String(TITLE_MAX), nullable=True),
    Column("content", Text, nullable=False),
    Column("category_hint", String(20), nullable=True),
    Column("region_code", String(REGION_CODE_MAX), nullable=True),
    Column("address", String(ADDRESS_MAX), nullable=True),
    Column("longitude", Float, nullable=True),
    Column("latitude", Float, nullable=True),
    Column("happened_at", UtcDateTime(), nullable=True),
    Column("received_at", UtcDateTime(), nullable=False),
    # complainant PII: encrypted, with keyed hashes for matching repeats
    Column("anonymous", Boolean, nullable=False, default=False),
    Column("name_enc", Text, nullable=True),
    Column("phone_enc", Text, nullable=True),
    Column("phone_hash", String(64), nullable=True),
    Column("id_enc", Text, nullable=True),
    Column("id_hash", String(64), nullable=True),
    # keyed hash of the normalised name (domain.search.normalize_name): found by name without decrypting
    Column("name_hash", String(64), nullable=True),
    Column("enterprise_name", String(NAME_MAX), nullable=True),
    Column("credit_code", String(18), nullable=True),
    Column("attachments", JSON, nullable=True),
    # merging: the MinHash signature and the place it was indexed under
    Column("minhash", LargeBinary, nullable=True),
    Column("place_key", String(600), nullable=True),
    Column("repeat_count", Integer, nullable=False, default=0),  # repeats merged in now (down on an unmerge)
    Column("repeat_seq", Integer, nullable=False, default=0),  # the last repeat's number (never reused)
    # set when an operator merged this ticket into another (status `merged`; other services' events keep it so)
    Column("merged_into", String(TICKET_NO_MAX), nullable=True),
    # read model, kept from every topic
    Column("status", String(40), nullable=False),
    Column("status_label", String(80), nullable=False),
    Column("tier", String(10), nullable=True),
    Column("category", String(20), nullable=True),
    Column("unit", String(UNIT_CODE_MAX), nullable=True),
    Column("unit_name", String(NAME_MAX), nullable=True),
    Column("deadline", UtcDateTime(), nullable=True),
    Column("alert_level", String(20), nullable=True),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("ix_tickets_received_at", "received_at"),
    Index("ix_tickets_phone_hash", "phone_hash", "received_at"),
    Index("ix_tickets_id_hash", "id_hash", "received_at"),
    Index("ix_tickets_name_hash", "name_hash", "received_at"),
    Index("ix_tickets_unit", "unit", "ticket_no"),
    Index("ix_tickets_status", "status", "ticket_no"),
    # a place's latest tickets, read under the merge lock (tickets other replicas registered since the index
    # last refreshed)
    Index("ix_tickets_place_key", "place_key", "received_at"),
)

# one row per accepted request (new ticket or merged repeat): idempotency and the tracking token
submissions = Table(
    "submissions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("caller", String(32), nullable=False),
    Column("idempotency_key", String(200), nullable=True),
    Column("channel", String(20), nullable=False),
    Column("source", String(64), nullable=False, default=""),
    Column("external_id", String(EXTERNAL_ID_MAX), nullable=True),
    Column("request_hash", String(64), nullable=False),
    Column("ticket_no", String(40), nullable=False),
    Column("merged", Boolean, nullable=False, default=False),
    Column("similarity", Float, nullable=True),
    Column("repeat_count", Integer, nullable=False, default=0),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("token_enc", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("caller", "idempotency_key", name="uq_submissions_idempotency"),
    UniqueConstraint("channel", "source", "external_id", name="uq_submissions_channel_id"),
    Index("ix_submissions_ticket", "ticket_no"),
)

repeats = Table(
    "repeats",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("ticket_no", String(40), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("channel", String(20), nullable=False),
    Column("content", Text, nullable=False),
    Column("same_person", Boolean, nullable=False),
    Column("similarity", Float, nullable=False),
    Column("phone_enc", Text, nullable=True),
    Column("phone_hash", String(64), nullable=True),
    Column("region_code", String(REGION_CODE_MAX), nullable=True),
    Column("received_at", UtcDateTime(), nullable=False),
    # the request as it came (encrypted: it holds the complainant), so an unmerge registers it as it came; the
    # submission it answered (its token), who filed it and from which platform
    Column("body_enc", Text, nullable=True),
    Column("token_hash", String(64), nullable=True),
    Column("submitted_by", String(32), nullable=True),
    Column("platform", String(64), nullable=True),
    # an operator's merge: the ticket merged in, who and why
    Column("source_ticket_no", String(TICKET_NO_MAX), nullable=True),
    Column("merged_by", String(NAME_MAX), nullable=True),
    Column("merge_reason", Text, nullable=True),
    # an operator's unmerge: the ticket the request became, when, who and why
    Column("unmerged_into", String(TICKET_NO_MAX), nullable=True),
    Column("unmerged_at", UtcDateTime(), nullable=True),
    Column("unmerged_by", String(NAME_MAX), nullable=True),
    Column("unmerge_reason", Text, nullable=True),
    UniqueConstraint("ticket_no", "seq", name="uq_repeats_seq"),
)

# uncertain pairs (疑似重复): the new ticket may repeat `candidate_no`; open until an operator merges or rejects
possible_repeats = Table(
    "possible_repeats",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("ticket_no", String(TICKET_NO_MAX), nullable=False),
    Column("candidate_no", String(TICKET_NO_MAX), nullable=False),
    Column("similarity", Float, nullable=False),
    Column("same_person", Boolean, nullable=False),
    Column("state", String(20), nullable=False),  # open, confirmed (merged), rejected, dropped (moot)
    Column("created_at", UtcDateTime(), nullable=False),
    Column("decided_at", UtcDateTime(), nullable=True),
    Column("decided_by", String(NAME_MAX), nullable=True),
    Column("reason", Text, nullable=True),
    UniqueConstraint("ticket_no", "candidate_no", name="uq_possible_repeats_pair"),
    Index("ix_possible_repeats_state", "state", "ticket_no"),
)

# what search reads (domain.search.search_text): the ticket's title, content, address and its repeats' text, normalised
# (no complainant data: name and phone are found by their keyed hashes in `tickets`). Indexed by trigrams: on
# PostgreSQL a pg_trgm GIN index on `body` and `place`; on SQLite the FTS5 table `ticket_fts` (trigram tokenizer)
# over these rows, kept in step by triggers (migration f1c4a7d2b9e3).
ticket_search = Table(
    "ticket_search",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),  # FTS5's content_rowid: stable across VACUUM
    Column("ticket_no", String(TICKET_NO_MAX), nullable=False, unique=True),
    Column("body", Text, nullable=False),
    Column("place", Text, nullable=False, default=""),  # the normalised address (the `address` filter)
)

follow_ups = Table(
    "follow_ups",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("ticket_no", String(40), nullable=False),
    Column("content", Text, nullable=False),
    Column("added_by", String(32), nullable=False),
    Column("added_at", UtcDateTime(), nullable=False),
    Index("ix_follow_ups_ticket", "ticket_no"),
)

timeline = Table(
    "timeline",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("ticket_no", String(40), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("event_type", String(80), nullable=False),
    Column("label", String(LABEL_MAX), nullable=False),  # every step a published event can make fits
    Column("public", Integer, nullable=False, default=1),
    Column("detail", JSON, nullable=True),
    Index("ix_timeline_ticket", "ticket_no", "at"),
)

pii_access_log = Table(
    "pii_access_log",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime(), nullable=False),
    Column("key_id", String(32), nullable=False),
    Column("key_name", String(200), nullable=False),
    Column("role", String(40), nullable=False),
    Column("ticket_no", String(40), nullable=False),
    Column("fields", JSON, nullable=False),
    Column("route", String(200), nullable=False),
    Index("ix_pii_access_ticket", "ticket_no"),
)

platforms = Table(
    "platforms",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("secret_enc", Text, nullable=False),
    Column("subscription_id", String(36), nullable=True),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

seen_signatures = Table(
    "seen_signatures",
    metadata,
    Column("signature", String(64), primary_key=True),
    Column("platform", String(64), nullable=False),
    Column("seen_at", UtcDateTime(), nullable=False),
    Index("ix_seen_signatures_at", "seen_at"),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("owner_key_id", String(32), nullable=False),
    Column("owner_role", String(40), nullable=False),
    Column("name", String(200), nullable=False),
    Column("url", String(2000), nullable=False),
    Column("event_types", JSON, nullable=False),
    Column("secret_enc", Text, nullable=False),
    # set: only tickets that came in from this platform (a platform's automatic callbacks)
    Column("platform", String(64), nullable=True),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("subscription_id", String(36), nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("event_type", String(80), nullable=False),
    Column("ticket_no", String(40), nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("status", String(20), nullable=False),  # pending, delivered, parked
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UtcDateTime(), nullable=False),
    Column("last_status_code", Integer, nullable=True),
    Column("last_error", String(500), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("delivered_at", UtcDateTime(), nullable=True),
    # the replica trying it now, until when (leases.claim): another replica takes it over once the lease expired
    Column("claimed_by", String(120), nullable=True),
    Column("lease_until", UtcDateTime(), nullable=True),
    UniqueConstraint("subscription_id", "event_id", name="uq_deliveries_event"),
    Index("ix_deliveries_due", "status", "next_attempt_at"),
)

delivery_attempts = Table(
    "delivery_attempts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("delivery_id", Integer, nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("error", String(500), nullable=True),
    Column("duration_ms", Float, nullable=False),
    Index("ix_delivery_attempts_delivery", "delivery_id"),
)

sms_outbox = Table(
    "sms_outbox",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("kind", String(40), nullable=False),  # ticket_registered, alert_reported, ...
    Column("dedupe_key", String(120), nullable=False, unique=True),
    Column("ticket_no", String(40), nullable=False),
    Column("unit_code", String(UNIT_CODE_MAX), nullable=True),
    Column("recipient_enc", Text, nullable=True),
    Column("recipient_masked", String(40), nullable=True),
    Column("text", Text, nullable=False),
    # recorded (no gateway), pending, sent, failed; no_recipient (a unit without an SMS number: parked, not sent)
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", String(500), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("sent_at", UtcDateTime(), nullable=True),
    Column("next_attempt_at", UtcDateTime(), nullable=True),  # a failed message waits until then (backoff)
    # the replica handing it to the gateway now, until when (leases.claim): taken over once the lease expired
    Column("claimed_by", String(120), nullable=True),
    Column("lease_until", UtcDateTime(), nullable=True),
    Index("ix_sms_outbox_status", "status", "id"),
)

# the SMS number of each unit a ticket was dispatched to (triage's TicketDispatched.unit_contacts, from the org
# directory): where its 报到 SMS goes. A duty phone may be a person's mobile: encrypted like the complainant's.
# phone_enc NULL: the unit has no SMS-capable contact (its SMS is parked as `no_recipient`).
unit_contacts = Table(
    "unit_contacts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("ticket_no", String(TICKET_NO_MAX), nullable=False),
    Column("unit_code", String(UNIT_CODE_MAX), nullable=False),
    Column("phone_enc", Text, nullable=True),
    Column("phone_masked", String(40), nullable=True),
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint("ticket_no", "unit_code", name="uq_unit_contacts_ticket_unit"),
)

# failed proofs of "this is my ticket" (public lookup, follow-ups) per source address and per ticket: shared by
# replicas, kept across restarts (domain.throttle)
proof_attempts = Table(
    "proof_attempts",
    metadata,
    Column("kind", String(10), primary_key=True),  # source, ticket
    Column("subject", String(64), primary_key=True),  # the client's address, or the ticket number
    Column("failures", Integer, nullable=False, default=0),
    Column("window_start", UtcDateTime(), nullable=False),
    Column("blocked_until", UtcDateTime(), nullable=True),
    Column("strikes", Integer, nullable=False, default=0),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("ix_proof_attempts_updated", "updated_at"),
)
