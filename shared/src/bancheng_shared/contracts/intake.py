"""Events intake-svc publishes on `intake.tickets`. The envelope's ticket_id is the ticket number."""

from datetime import datetime

from bancheng_shared.contracts.envelope import EventPayload, event
from bancheng_shared.contracts.vocab import Category, Channel
from bancheng_shared.topics import INTAKE_TICKETS


@event("TicketReceived", INTAKE_TICKETS)
class TicketReceived(EventPayload):
    """A new request became a ticket. Carries no complainant PII: intake keeps that."""

    channel: Channel
    content: str
    title: str | None = None
    category_hint: Category | None = None
    region_code: str | None = None
    address: str | None = None
    longitude: float | None = None
    latitude: float | None = None
    received_at: datetime
    happened_at: datetime | None = None
    anonymous: bool = False
    enterprise_name: str | None = None
    platform: str | None = None
    external_id: str | None = None
    attachment_count: int = 0
    # channel `hotspot`: the hotspot handed down, the department kind and unit level it goes to (triage routes on
    # them instead of the place's local unit)
    hotspot_id: str | None = None
    department_kind: str | None = None
    unit_level: int | None = None


@event("RepeatReceived", INTAKE_TICKETS)
class RepeatReceived(EventPayload):
    """A repeat request (并单) was merged into an open ticket; repeats raise the tier."""

    repeat_count: int
    content: str
    same_person: bool
    channel: Channel
    received_at: datetime
    similarity: float | None = None


@event("FollowUpAdded", INTAKE_TICKETS)
class FollowUpAdded(EventPayload):
    """The person added to their own ticket."""

    content: str
    added_at: datetime


@event("TicketMerged", INTAKE_TICKETS)
class TicketMerged(EventPayload):
    """An operator merged this ticket into another as a repeat (并单): it is no longer worked on its own; the other
    ticket got a RepeatReceived for it."""

    into_ticket_no: str
    reason: str
    by: str
    merged_at: datetime
    similarity: float | None = None


@event("RepeatUnmerged", INTAKE_TICKETS)
class RepeatUnmerged(EventPayload):
    """An operator took a merged request back out of this ticket (撤销并单): it became its own ticket
    (`new_ticket_no`, with its own TicketReceived); `repeat_count` is this ticket's count now."""

    seq: int
    new_ticket_no: str
    repeat_count: int
    reason: str
    by: str
    unmerged_at: datetime
