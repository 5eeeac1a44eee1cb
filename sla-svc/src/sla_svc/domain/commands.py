"""What callers ask sla to do (each handled in handlers, in its own unit of work)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bancheng_shared.messagebus import Command
from bancheng_shared.principal import Principal


@dataclass(frozen=True, kw_only=True)
class RequestExtension(Command):
    """The unit asks for more working days on its round's deadline."""

    actor: Principal
    ticket_no: str
    days: int
    reason: str


@dataclass(frozen=True, kw_only=True)
class DecideExtension(Command):
    """The work team approves or rejects an extension request."""

    actor: Principal
    ticket_no: str
    request_id: str
    approved: bool
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class RequestPause(Command):
    """The unit asks to pause its round's resolution clock for some working days (the work team rules)."""

    actor: Principal
    ticket_no: str
    days: int
    reason: str


@dataclass(frozen=True, kw_only=True)
class DecidePause(Command):
    """The work team approves (possibly for fewer days) or rejects a pause request."""

    actor: Principal
    ticket_no: str
    request_id: str
    approved: bool
    reason: str = ""
    days: int | None = None  # approve fewer working days than asked


@dataclass(frozen=True, kw_only=True)
class PauseClock(Command):
    """The work team pauses the resolution clock itself, for a reason and some working days."""

    actor: Principal
    ticket_no: str
    days: int
    reason: str


@dataclass(frozen=True, kw_only=True)
class ResumeClock(Command):
    """Run a paused clock again."""

    actor: Principal
    ticket_no: str
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class LoadCalendarYear(Command):
    """Store a year's holidays and make-up working days as a new version (the work team, when it is published)."""

    actor: Principal
    year: int
    holidays: list[dict[str, Any]] = field(default_factory=list)
    workdays: list[dict[str, Any]] = field(default_factory=list)
    no_holidays: bool = False  # a year without statutory holidays, on purpose (drills)


@dataclass(frozen=True, kw_only=True)
class SeedCalendars(Command):
    """At start: store the years the calendar package knows and the database does not have yet."""


@dataclass(frozen=True, kw_only=True)
class FireDueTransitions(Command):
    """One scheduler pass: claim a batch of due steps of the ladder and fire them."""

    limit: int | None = None


@dataclass(frozen=True, kw_only=True)
class SetSimulatedTime(Command):
    """Set (or with None clear) the simulated time of tests and training."""

    now: datetime | None
    running: bool = False
