"""Events oversight-svc publishes on `oversight.cases`. The envelope's ticket_id is the ticket number,
or the case id for a case that has no ticket (hotspot, manual), or the suggestion id for a suggestion."""

from datetime import date, datetime

from pydantic import Field

from bancheng_shared.contracts.envelope import EventPayload, event
from bancheng_shared.contracts.vocab import AccountabilityMeasure, ResolvedAnswer, Satisfaction
from bancheng_shared.topics import OVERSIGHT_CASES


@event("CaseOpened", OVERSIGHT_CASES)
class CaseOpened(EventPayload):
    """A supervision case was opened (red ticket, escalation, hotspot or by hand)."""

    case_id: str
    source: str
    units: list[str] = Field(default_factory=list)
    opened_at: datetime
    ticket_nos: list[str] = Field(default_factory=list)
    title: str | None = None


@event("CaseStepRecorded", OVERSIGHT_CASES)
class CaseStepRecorded(EventPayload):
    """A step of a supervision case (register, investigate, letter, reply, visit, redo) was recorded."""

    case_id: str
    step: str
    state: str
    at: datetime
    letter_id: str | None = None
    unit: str | None = None
    due_at: datetime | None = None


@event("CaseRaised", OVERSIGHT_CASES)
class CaseRaised(EventPayload):
    """A supervision letter was not answered by its due date: the case is raised, accountability proposed."""

    case_id: str
    letter_id: str
    unit: str
    due_at: datetime
    raised_at: datetime
    accountability_id: str | None = None


@event("CaseConcluded", OVERSIGHT_CASES)
class CaseConcluded(EventPayload):
    """A supervision case was concluded with its result feedback sheet."""

    case_id: str
    result: str
    concluded_at: datetime
    solved: bool | None = None
    units: list[str] = Field(default_factory=list)


@event("ReturnVisitRecorded", OVERSIGHT_CASES)
class ReturnVisitRecorded(EventPayload):
    """The person was asked back: resolved in their words, and satisfied or not."""

    resolved: ResolvedAnswer | None = None
    satisfaction: Satisfaction
    subjective_cause: bool = False
    redo: bool = False
    round: int = 1
    visited_at: datetime
    unit: str | None = None
    case_id: str | None = None


@event("RedoOrdered", OVERSIGHT_CASES)
class RedoOrdered(EventPayload):
    """Unsatisfied through the unit's own fault, or rectification insufficient: do it again."""

    reason: str
    round: int = 1
    ordered_at: datetime
    unit: str | None = None
    case_id: str | None = None


@event("AccountabilityDecided", OVERSIGHT_CASES)
class AccountabilityDecided(EventPayload):
    """An accountability measure was decided for a person of a unit (no personal name on the bus)."""

    record_id: str
    unit: str
    measure: AccountabilityMeasure
    reason_category: str
    case_ids: list[str] = Field(default_factory=list)
    decided_at: datetime


@event("SuggestionRaised", OVERSIGHT_CASES)
class SuggestionRaised(EventPayload):
    """A process-improvement suggestion (改进建议) went to a department: a step or a certificate that can go.

    Keyed by the suggestion id (it is about a department's procedure, not a ticket); the evidence text stays in
    oversight (GET /v1/suggestions/{id}), so that what a person wrote does not travel on the bus."""

    suggestion_id: str
    source: str  # ticket, window_visit, case
    source_ref: str  # the ticket number, the window visit's reference, the case id
    target: str  # step, certificate, other
    item: str  # the step or the certificate that can go
    department: str
    raised_at: datetime
    due_at: datetime


@event("SuggestionAnswered", OVERSIGHT_CASES)
class SuggestionAnswered(EventPayload):
    """The department answered a suggestion: adopted (with the change) or not adopted (with the reason)."""

    suggestion_id: str
    department: str
    decision: str  # adopted, not_adopted
    answered_at: datetime
    late: bool = False
    effective_date: date | None = None


@event("HotspotHandedDown", OVERSIGHT_CASES)
class HotspotHandedDown(EventPayload):
    """A hotspot (高频共性问题) is handed down as a work order to the department of its kind at `unit_level`
    (1 city, 2 district …); intake registers it as a ticket of channel `hotspot`. The envelope's ticket_id is the
    hotspot id (the ticket number is intake's to give). The summary names the problem, the count, the places and
    the ticket numbers, never a complainant."""

    hotspot_id: str
    department_kind: str
    category: str | None = None
    title: str
    summary: str
    unit_level: int = 1
    region_code: str | None = None
    ticket_nos: list[str] = Field(default_factory=list)
    places: list[str] = Field(default_factory=list)
    handed_down_at: datetime
