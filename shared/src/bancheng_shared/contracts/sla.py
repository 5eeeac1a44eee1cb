"""Events sla-svc publishes on `sla.clocks`."""

from datetime import date, datetime

from pydantic import Field

from bancheng_shared.contracts.envelope import EventPayload, event
from bancheng_shared.contracts.vocab import AlertLevel
from bancheng_shared.topics import SLA_CLOCKS


@event("ClockStarted", SLA_CLOCKS)
class ClockStarted(EventPayload):
    """The clocks of one round of a work order started; deadlines are end of day, Asia/Shanghai."""

    unit: str
    round: int = 1
    started_at: datetime
    accept_due: datetime | None = None
    resolve_due: datetime | None = None
    resolve_due_date: date | None = None
    working_days: int
    calendar_version: str
    unknown_year: bool = False
    explanation: str = ""


@event("AlertRaised", SLA_CLOCKS)
class AlertRaised(EventPayload):
    """A step of the alert ladder: reported, warning, urgent, alarm."""

    level: AlertLevel
    unit: str
    deadline: datetime | None = None
    raised_at: datetime
    round: int = 1
    message: str = ""


@event("DeemedSigned", SLA_CLOCKS)
class DeemedSigned(EventPayload):
    """The acceptance window passed without signing or a return request: counted as signed."""

    unit: str
    at: datetime
    round: int = 1


@event("UrgeIssued", SLA_CLOCKS)
class UrgeIssued(EventPayload):
    """Overdue: an urge notice (催办) went to the unit."""

    unit: str
    at: datetime
    round: int = 1


@event("EscalatedToSupervision", SLA_CLOCKS)
class EscalatedToSupervision(EventPayload):
    """Still unresolved after urging: handed to the supervision office (督办)."""

    unit: str
    reason: str
    at: datetime
    round: int = 1


@event("ClockFlagged", SLA_CLOCKS)
class ClockFlagged(EventPayload):
    """A deadline could not be computed (e.g. the calendar does not know the year): operators must act."""

    unit: str
    reason: str
    at: datetime
    round: int = 1
    years_missing: list[int] = Field(default_factory=list)
