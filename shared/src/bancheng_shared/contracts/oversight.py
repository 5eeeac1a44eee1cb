"""Events oversight-svc publishes on `oversight.cases`."""

from datetime import datetime

from pydantic import Field

from bancheng_shared.contracts.envelope import EventPayload, event
from bancheng_shared.contracts.vocab import ResolvedAnswer, Satisfaction
from bancheng_shared.topics import OVERSIGHT_CASES


@event("CaseOpened", OVERSIGHT_CASES)
class CaseOpened(EventPayload):
    """A supervision case was opened (red ticket, escalation, hotspot or by hand)."""

    case_id: str
    source: str
    units: list[str] = Field(default_factory=list)
    opened_at: datetime


@event("CaseConcluded", OVERSIGHT_CASES)
class CaseConcluded(EventPayload):
    """A supervision case was concluded with its result feedback sheet."""

    case_id: str
    result: str
    concluded_at: datetime


@event("ReturnVisitRecorded", OVERSIGHT_CASES)
class ReturnVisitRecorded(EventPayload):
    """The person was asked back: resolved in their words, and satisfied or not."""

    resolved: ResolvedAnswer | None = None
    satisfaction: Satisfaction
    subjective_cause: bool = False
    redo: bool = False
    round: int = 1
    visited_at: datetime


@event("RedoOrdered", OVERSIGHT_CASES)
class RedoOrdered(EventPayload):
    """Unsatisfied through the unit's own fault, or rectification insufficient: do it again."""

    reason: str
    round: int = 1
    ordered_at: datetime
