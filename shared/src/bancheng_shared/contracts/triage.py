"""Events triage-svc publishes on `triage.work-orders`."""

from datetime import datetime

from pydantic import Field

from bancheng_shared.contracts.envelope import EventPayload, event
from bancheng_shared.contracts.limits import Phone, UnitCode
from bancheng_shared.contracts.vocab import Category, Domain, ResolutionOutcome, Route, Tier
from bancheng_shared.topics import TRIAGE_WORK_ORDERS


@event("TicketTriaged", TRIAGE_WORK_ORDERS)
class TicketTriaged(EventPayload):
    """Classification, tier, response level and route were decided, with the reasons."""

    category: Category
    domain: Domain
    department_kinds: list[str]
    tier: Tier
    response_level: int = Field(ge=1, le=3)
    route: Route
    region_code: str | None = None
    complex: bool = False
    explanation: list[str] = Field(default_factory=list)
    lead_kind: str | None = None
    place_source: str | None = None
    catalogue_version: int | None = None
    reclassified: bool = False
    reason: str | None = None
    # the unit that answers a level-3 matter directly (the hotline centre): its 1-working-day clock runs in sla
    answer_unit: str | None = None


@event("TicketDispatched", TRIAGE_WORK_ORDERS)
class TicketDispatched(EventPayload):
    """The work order was dispatched (交办) to a lead unit and optional co-units."""

    lead_unit: str
    lead_unit_name: str
    co_units: list[str] = Field(default_factory=list)
    unit_level: int = Field(ge=1, le=4)
    region_code: str | None = None
    tier: Tier
    response_level: int = Field(ge=1, le=3)
    complex: bool = False
    round: int = 1
    redispatch: bool = False
    dispatched_at: datetime
    # the SMS number (duty phone) of the lead unit and of each co-unit from the org directory, by unit code: where
    # the 报到 SMS goes. A unit without an SMS-capable contact is absent (intake parks its SMS as `no_recipient`).
    unit_contacts: dict[UnitCode, Phone] = Field(default_factory=dict)


@event("TicketTransferred", TRIAGE_WORK_ORDERS)
class TicketTransferred(EventPayload):
    """The matter left the dispatch track: petition office or political-legal organs."""

    route: Route
    to_unit: str | None = None
    reason: str
    transferred_at: datetime


@event("TicketAnswered", TRIAGE_WORK_ORDERS)
class TicketAnswered(EventPayload):
    """A simple matter (response level 3) was answered directly."""

    answer: str
    answered_at: datetime
    knowledge_id: str | None = None


@event("TicketSigned", TRIAGE_WORK_ORDERS)
class TicketSigned(EventPayload):
    """The unit signed for (签收) the work order; deemed when the window passed."""

    unit: str
    signed_at: datetime
    deemed: bool = False
    round: int = 1
    via: str | None = None


@event("ReturnRequested", TRIAGE_WORK_ORDERS)
class ReturnRequested(EventPayload):
    """The unit asked to return the work order as outside its remit."""

    unit: str
    reason: str
    basis: str
    requested_at: datetime
    round: int = 1


@event("ReturnDecided", TRIAGE_WORK_ORDERS)
class ReturnDecided(EventPayload):
    """The work team ruled on a return request."""

    unit: str
    approved: bool
    reason: str
    new_unit: str | None = None
    decided_at: datetime
    round: int = 1


@event("ProgressReported", TRIAGE_WORK_ORDERS)
class ProgressReported(EventPayload):
    """The unit reported progress."""

    unit: str
    note: str
    reported_at: datetime
    round: int = 1


@event("ResolutionSubmitted", TRIAGE_WORK_ORDERS)
class ResolutionSubmitted(EventPayload):
    """The unit submitted its result (办结) and the reply given to the person."""

    unit: str
    outcome: ResolutionOutcome
    reply: str
    submitted_at: datetime
    round: int = 1


@event("TicketReopened", TRIAGE_WORK_ORDERS)
class TicketReopened(EventPayload):
    """Redo (发回重办): the ticket went back to the unit for a new round."""

    unit: str
    round: int
    reason: str
    reopened_at: datetime


@event("TicketClosed", TRIAGE_WORK_ORDERS)
class TicketClosed(EventPayload):
    """The ticket is closed (after a satisfied return visit, or as ruled)."""

    reason: str
    closed_at: datetime
    round: int | None = None


@event("TierChanged", TRIAGE_WORK_ORDERS)
class TierChanged(EventPayload):
    """The tier moved; automatic moves only go up."""

    old_tier: Tier
    new_tier: Tier
    reason: str
    automatic: bool
    changed_at: datetime
    by: str | None = None
    round: int | None = None


@event("TierCopyIssued", TRIAGE_WORK_ORDERS)
class TierCopyIssued(EventPayload):
    """A tier's copy rule fired (Hanyang): green archive after completion, yellow joint scheduling,
    red supervision by the business-environment office and discipline inspection."""

    tier: Tier
    purpose: str
    to_kinds: list[str]
    to_units: list[str] = Field(default_factory=list)
    reason: str
    issued_at: datetime
    round: int = 1
