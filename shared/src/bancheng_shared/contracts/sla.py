"""Events sla-svc publishes on `sla.clocks`.

Deadlines are the end (23:59:59.999999) of a local day in Asia/Shanghai, carried in UTC.
"""

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
    urgent_from: datetime | None = None
    region_code: str | None = None
    restarted: bool = False


@event("AlertRaised", SLA_CLOCKS)
class AlertRaised(EventPayload):
    """A step of the alert ladder: reported, warning, urgent, alarm."""

    level: AlertLevel
    unit: str
    deadline: datetime | None = None
    raised_at: datetime
    round: int = 1
    message: str = ""
    region_code: str | None = None
    due_at: datetime | None = None


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
    deadline: datetime | None = None


@event("EscalatedToSupervision", SLA_CLOCKS)
class EscalatedToSupervision(EventPayload):
    """Still unresolved after urging: handed to the supervision office (督办)."""

    unit: str
    reason: str
    at: datetime
    round: int = 1
    deadline: datetime | None = None
    urged_at: datetime | None = None


@event("ClockFlagged", SLA_CLOCKS)
class ClockFlagged(EventPayload):
    """A deadline could not be computed (e.g. the calendar does not know the year): operators must act."""

    unit: str
    reason: str
    at: datetime
    round: int = 1
    years_missing: list[int] = Field(default_factory=list)


@event("DeadlineChanged", SLA_CLOCKS)
class DeadlineChanged(EventPayload):
    """A round's resolution deadline moved: extension approved, resumed after a pause, or a flagged clock
    computed once its year's calendar was loaded."""

    unit: str
    round: int = 1
    reason: str
    at: datetime
    old_resolve_due: datetime | None = None
    resolve_due: datetime | None = None
    resolve_due_date: date | None = None
    calendar_version: str
    explanation: str = ""
    unknown_year: bool = False


@event("ClockStopped", SLA_CLOCKS)
class ClockStopped(EventPayload):
    """A round's clocks stopped: resolved, answered, transferred, closed, returned or superseded."""

    unit: str
    round: int = 1
    reason: str
    at: datetime
    resolve_due: datetime | None = None
    met_deadline: bool | None = None


@event("ReturnVisitDue", SLA_CLOCKS)
class ReturnVisitDue(EventPayload):
    """The unit submitted its result: the return visit (回访) is due by `due`."""

    unit: str
    round: int = 1
    resolved_at: datetime
    due: datetime | None = None
    due_date: date | None = None


@event("ClockPaused", SLA_CLOCKS)
class ClockPaused(EventPayload):
    """A round's resolution clock was paused (e.g. waiting for the person to supply material)."""

    unit: str
    round: int = 1
    reason: str
    at: datetime


@event("ClockResumed", SLA_CLOCKS)
class ClockResumed(EventPayload):
    """A paused clock runs again; `paused_working_days` were added to the deadline."""

    unit: str
    round: int = 1
    reason: str = ""
    at: datetime
    paused_working_days: int
    resolve_due: datetime | None = None


@event("ExtensionRequested", SLA_CLOCKS)
class ExtensionRequested(EventPayload):
    """The unit asked for an extension (延期) before the deadline."""

    request_id: str
    unit: str
    round: int = 1
    days: int
    reason: str
    requested_at: datetime
    resolve_due: datetime | None = None


@event("ExtensionDecided", SLA_CLOCKS)
class ExtensionDecided(EventPayload):
    """The work team ruled on an extension request; when approved the deadline moved."""

    request_id: str
    unit: str
    round: int = 1
    days: int
    approved: bool
    reason: str = ""
    decided_at: datetime
    old_resolve_due: datetime | None = None
    resolve_due: datetime | None = None


def calendar_key(year: int) -> str:
    """The envelope key (`ticket_id`) of a calendar year's event: it is about the calendar, not a ticket."""
    return f"calendar-{year}"


@event("CalendarYearLoaded", SLA_CLOCKS)
class CalendarYearLoaded(EventPayload):
    """A year of the working-day calendar was stored by sla (seeded, or loaded through its API): the one calendar
    every service counts working days on. Keyed `calendar-<year>` (see calendar_key); the highest version wins."""

    year: int
    version: int = Field(ge=1)
    holidays: list[dict[str, str]] = Field(default_factory=list, description="[{date: YYYY-MM-DD, name}]")
    workdays: list[dict[str, str]] = Field(default_factory=list, description="make-up working days (调休上班)")
    source: str
    loaded_at: datetime
