"""What sla's HTTP API reads and answers: request bodies (limits from bancheng_shared.contracts.limits) and the typed
2xx bodies of every operation (the OpenAPI document's schemas; the routes return exactly these fields)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from bancheng_shared.contracts.limits import Name, Reason, no_control_characters

TicketState = Literal["running", "paused", "resolved", "answered", "transferred", "transfer_received", "closed",
                      "returned", "superseded"]
AlertLevelName = Literal["reported", "warning", "urgent", "alarm"]
RequestState = Literal["pending", "approved", "rejected"]
RequestId = Annotated[str, StringConstraints(max_length=64, pattern=r"^[0-9A-Za-z_-]+$")]
DateText = Annotated[str, StringConstraints(max_length=32), AfterValidator(no_control_characters)]


# ------------------------------------------------------------------ requests


class DayIn(BaseModel):
    """One dated entry of a calendar."""

    model_config = ConfigDict(extra="forbid")
    date: DateText = Field(description="YYYY-MM-DD")
    name: Name = ""


class CalendarIn(BaseModel):
    """A year's statutory holidays and make-up working days (调休上班)."""

    model_config = ConfigDict(extra="forbid")
    year: int | None = Field(None, description="optional; must equal the year in the path")
    holidays: list[DayIn] = Field(default_factory=list, max_length=366)
    workdays: list[DayIn] = Field(default_factory=list, max_length=366)
    no_holidays: bool = Field(False, description="true: load the year without statutory holidays on purpose (drills); "
                              "a year without holidays is refused otherwise")


class ExtensionIn(BaseModel):
    """An extension request."""

    model_config = ConfigDict(extra="forbid")
    days: int = Field(description="working days, 1..5 (setting)")
    reason: Reason = Field(min_length=2)


class DecisionIn(BaseModel):
    """The work team's ruling."""

    model_config = ConfigDict(extra="forbid")
    approved: bool
    reason: Reason = ""


class PauseRequestIn(BaseModel):
    """A unit's request to pause its clock (e.g. waiting for the person's material)."""

    model_config = ConfigDict(extra="forbid")
    days: int = Field(description="working days, 1..10 (setting; what the round has left)")
    reason: Reason = Field(min_length=2)


class PauseIn(BaseModel):
    """The work team pauses a clock itself."""

    model_config = ConfigDict(extra="forbid")
    days: int = Field(description="working days, 1..10 (setting; what the round has left)")
    reason: Reason = Field(min_length=2)


class PauseDecisionIn(BaseModel):
    """The work team's ruling on a pause request."""

    model_config = ConfigDict(extra="forbid")
    approved: bool
    reason: Reason = ""
    days: int | None = Field(None, description="approve fewer working days than asked (default: as asked)")


class ResumeIn(BaseModel):
    """An optional note on resuming."""

    model_config = ConfigDict(extra="forbid")
    reason: Reason = ""


class TimeIn(BaseModel):
    """The simulated time to set."""

    model_config = ConfigDict(extra="forbid")
    now: datetime = Field(description="with an offset, e.g. 2026-10-08T09:00:00+08:00 (years 1949..2200)")
    running: bool = Field(False, description="false: frozen at `now`; true: runs on from `now`")


# ------------------------------------------------------------------ answers


class Page(BaseModel):
    """Paging of a list."""

    total: int
    limit: int
    offset: int


class Restart(BaseModel):
    """An earlier start of the round's clocks (before a re-dispatch to another unit)."""

    unit: str
    started_at: str


class Clock(BaseModel):
    """A round's clocks: deadlines, alert level, calendar version and the plain-words explanation."""

    ticket_no: str
    round: int
    unit: str
    region_code: str | None
    complex: bool
    response_level: int
    started_at: datetime
    working_days: int
    extension_days: int
    paused_days: int
    paused_at: datetime | None
    resume_at: datetime | None = Field(description="a paused clock resumes by itself then (null while that day is in "
                                      "a year the calendar does not know: flagged)")
    state: TicketState
    signed: bool
    deemed_signed: bool
    return_requested: bool
    accept_due: datetime | None
    resolve_due: datetime | None
    resolve_due_date: date | None
    urgent_from: datetime | None
    calendar_version: str
    alert_level: AlertLevelName | None
    urged_at: datetime | None
    escalated_at: datetime | None
    resolved_at: datetime | None
    return_visit_due: datetime | None
    stopped_at: datetime | None
    stop_reason: str | None
    explanation: str
    accept_explanation: str
    updated_at: datetime | None
    flagged: bool = Field(description="a needed calendar year is unknown: no deadline was guessed")
    flagged_years: list[int]
    flagged_steps: list[Literal["deadline", "escalate", "resume", "return_visit"]] = Field(
        default_factory=list, description="the steps waiting for those years (planned when the year is loaded)")
    restarts: list[Restart]
    transfer_route: Literal["petition", "legal"] | None = Field(
        None, description="a transfer's clock (信访 / 涉法涉诉): `unit` is the receiving organ, due to sign for it "
        "(stopped with `transfer_received`); null on a unit's round")
    resolve_due_local: str | None = Field(None, description="the deadline in Asia/Shanghai (absent while flagged)")
    overdue: bool | None = Field(None, description="running past the deadline (absent while flagged)")


class ExtensionRequest(BaseModel):
    """An extension request and, once ruled on, the ruling."""

    id: str
    ticket_no: str
    round: int
    unit: str
    days: int
    reason: str
    state: RequestState
    requested_at: datetime
    requested_by: str
    deadline_at_request: datetime | None
    decided_at: datetime | None = None
    decided_by: str | None = None
    decision_reason: str | None = None


class ExtensionRuling(BaseModel):
    """The ruling on an extension request and the deadline before and after."""

    id: str
    ticket_no: str
    round: int
    days: int
    state: RequestState
    old_resolve_due: datetime | None
    resolve_due: datetime | None


class PauseRequest(BaseModel):
    """A unit's pause request and, once ruled on, the ruling."""

    id: str
    ticket_no: str
    round: int
    unit: str
    days: int = Field(description="working days asked")
    reason: str
    state: RequestState
    requested_at: datetime
    requested_by: str
    decided_at: datetime | None = None
    decided_by: str | None = None
    decision_reason: str | None = None
    approved_days: int | None = None


class ExtensionRequests(Page):
    """Extension requests, oldest first."""

    items: list[ExtensionRequest]


class PauseRequests(Page):
    """Pause requests, oldest first."""

    items: list[PauseRequest]


class Pause(BaseModel):
    """A pause of a round's clock."""

    id: int
    round: int
    reason: str
    paused_at: datetime
    paused_by: str
    resumed_at: datetime | None
    resumed_by: str | None
    resume_reason: str | None
    working_days: int | None = Field(description="working days not counted (known on resuming)")
    days: int | None = Field(description="the approved length in working days")
    resume_at: datetime | None = Field(description="when it resumes by itself (null until the calendar knows its year)")
    request_id: str | None = Field(description="the unit's request it was approved on (none: the work team's)")


class PendingTransition(BaseModel):
    """A step of the ladder still to fire."""

    kind: Literal["accept", "urgent", "alarm", "escalate", "resume"]
    due_at: datetime
    status: str


class Round(Clock):
    """A round's clocks with its extension requests, pauses, pause requests and pending transitions."""

    extension_requests: list[ExtensionRequest]
    pauses: list[Pause]
    pause_requests: list[PauseRequest]
    pending_transitions: list[PendingTransition]


class TicketClocks(BaseModel):
    """Every round of a ticket's clocks."""

    ticket_no: str
    current_round: int
    now: datetime = Field(description="the service's time (possibly simulated)")
    rounds: list[Round]


class Clocks(Page):
    """Clocks, paginated."""

    items: list[Clock]


class Alert(BaseModel):
    """An alert of a round (open until the clock moves on)."""

    id: int
    ticket_no: str
    round: int
    level: AlertLevelName
    unit: str
    region_code: str | None
    deadline: datetime | None
    raised_at: datetime
    is_open: bool
    closed_at: datetime | None


class Alerts(Page):
    """Alerts, newest first."""

    items: list[Alert]


class YearVersion(BaseModel):
    """A known year and its version in force."""

    year: int
    version: int


class CalendarRun(BaseModel):
    """A contiguous run of known years and its calendar version id."""

    model_config = ConfigDict(populate_by_name=True)
    from_: date = Field(alias="from")
    to: date
    calendar_version: str


class CalendarList(BaseModel):
    """Known years and the calendar versions of their runs."""

    years: list[YearVersion]
    runs: list[CalendarRun]


class DatedDay(BaseModel):
    """A holiday or a make-up working day."""

    date: str
    name: str


class CalendarVersionInfo(BaseModel):
    """One stored version of a year."""

    version: int
    source: str
    created_at: datetime
    created_by: str


class CalendarYear(BaseModel):
    """A year's holidays and make-up working days as stored in one version."""

    year: int
    version: int
    source: str = Field(description="chinesecalendar (seeded) or api")
    created_at: datetime
    created_by: str
    timezone: str
    holidays: list[DatedDay]
    workdays: list[DatedDay]


class CalendarYearView(CalendarYear):
    """A year's calendar with its version history."""

    in_force: bool
    versions: list[CalendarVersionInfo]


class CalendarLoaded(CalendarYear):
    """The year as stored (or unchanged), and how many flagged clocks got their deadlines."""

    changed: bool
    flagged_clocks_recomputed: int | None = Field(None, description="present when a new version was stored")


class ServiceTime(BaseModel):
    """The service's time and whether it is simulated."""

    now: datetime
    local: str
    simulated: bool
    simulated_time_allowed: bool


class TimeSet(ServiceTime):
    """The time set, and how many transitions fell due and fired at once."""

    fired: int
