"""Steps that need a calendar year not loaded yet: flagged, never guessed, and carried out once the year is loaded.

A clock's steps that count working days: its deadlines (and with them deemed signing, `urgent` and `alarm`), the
escalation N working days after the urge, the end of a pause, the return visit after the result. When one of them
needs a year the calendar does not know, the clock is flagged (`unknown_year`, `flagged_years`, ClockFlagged naming
the years) and the step is not planned; which steps wait is kept in the clock's `detail["waiting"]`. When the year
is loaded (CalendarYearLoaded), what waited is computed and planned (and fires at once if its time has passed).

Also the operators' warning: from a day of the year on (1 November by default) next year's calendar should be loaded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from bancheng_shared.calendar import UnknownYearError
from bancheng_shared.contracts.envelope import EventPayload
from bancheng_shared.contracts.sla import ClockFlagged, DeadlineChanged, ReturnVisitDue
from sla_svc.domain.calendar_book import CalendarBook
from sla_svc.domain.deadlines import (
    Policy,
    compute_deadlines,
    deadline_from,
    end_of_day,
    escalation,
    local_date,
    start_of_day,
)
from sla_svc.domain.ladder import ACTIVE, PAUSED, RUNNING

Waiting = dict[str, list[int]]  # step -> the years it needs


def resume_at(book: CalendarBook, policy: Policy, paused_at: datetime,
              days: int) -> tuple[datetime | None, tuple[int, ...]]:
    """When a pause of `days` working days ends by itself (00:00 of the Nth working day after the pause date), or
    the years the calendar lacks to say."""
    try:
        return start_of_day(book.add_working_days(local_date(paused_at, policy.tz), days), policy.tz), ()
    except UnknownYearError as exc:
        return None, tuple(exc.years)


def return_visit(book: CalendarBook, policy: Policy,
                 resolved_at: datetime) -> tuple[datetime | None, date | None, tuple[int, ...]]:
    """When the return visit is due (the end of the Nth working day after the result), or the years missing."""
    try:
        d = book.add_working_days(local_date(resolved_at, policy.tz), policy.return_visit_days)
    except UnknownYearError as exc:
        return None, None, tuple(exc.years)
    return end_of_day(d, policy.tz), d, ()


def waiting(book: CalendarBook, policy: Policy, c: Mapping[str, Any]) -> Waiting:
    """The clock's steps that wait for a calendar year, with the years each needs (empty: nothing waits)."""
    out: Waiting = {}
    state = c["state"]
    if state in ACTIVE and (c.get("resolve_due") is None or c.get("accept_due") is None):
        start = local_date(c["started_at"], policy.tz)
        total = c["working_days"] + (c.get("extension_days") or 0) + (c.get("paused_days") or 0)
        years = {*deadline_from(book, start, policy.accept_days, policy.tz).missing_years,
                 *deadline_from(book, start, total, policy.tz).missing_years}
        if years:
            out["deadline"] = sorted(years)
    if state == RUNNING and c.get("urged_at") is not None and c.get("escalated_at") is None:
        at, missing = escalation(book, policy, c["urged_at"])
        if at is None:
            out["escalate"] = sorted(missing)
    pause_days = (c.get("detail") or {}).get("pause_days")
    if state == PAUSED and c.get("resume_at") is None and pause_days:
        missing = resume_at(book, policy, c["paused_at"], int(pause_days))[1]
        if missing:
            out["resume"] = sorted(missing)
    if state == "resolved" and c.get("resolved_at") is not None and c.get("return_visit_due") is None:
        missing = return_visit(book, policy, c["resolved_at"])[2]
        if missing:
            out["return_visit"] = sorted(missing)
    return out


def mark(c: dict[str, Any], steps: Waiting) -> list[str]:
    """Record the waiting steps on the clock (flag, years, `detail["waiting"]`); returns the steps newly waiting."""
    detail = dict(c.get("detail") or {})
    before = detail.get("waiting") or {}
    if steps:
        detail["waiting"] = steps
    else:
        detail.pop("waiting", None)
    if detail or c.get("detail") is not None:
        c["detail"] = detail or None
    years = sorted({y for ys in steps.values() for y in ys})
    c["unknown_year"], c["flagged_years"] = bool(years), years or None
    return [s for s in steps if s not in before]


def unchanged(book: CalendarBook, policy: Policy, c: Mapping[str, Any]) -> bool:
    """Whether the clock's steps wait for the same years as recorded (a new calendar brought it nothing)."""
    return waiting(book, policy, c) == ((c.get("detail") or {}).get("waiting") or {})


def reason(c: Mapping[str, Any], step: str, years: list[int], policy: Policy) -> str:
    """Why a step waits, in plain words."""
    need = ", ".join(map(str, years))
    if step == "deadline":
        return str(c.get("explanation") or f"the deadline needs the calendar of {need} (flagged)")
    if step == "escalate":
        return (f"escalation {policy.escalate_days} working days after the urge notice of "
                f"{local_date(c['urged_at'], policy.tz).isoformat()} needs the calendar of {need}: not scheduled "
                "until that year is loaded (flagged)")
    if step == "resume":
        return (f"the pause of {(c.get('detail') or {}).get('pause_days')} working day(s) from "
                f"{local_date(c['paused_at'], policy.tz).isoformat()} ends in a year the calendar does not know "
                f"({need}): it resumes by itself once that year is loaded (flagged)")
    return (f"the return visit {policy.return_visit_days} working days after the result of "
            f"{local_date(c['resolved_at'], policy.tz).isoformat()} needs the calendar of {need} (flagged)")


def flag(c: dict[str, Any], book: CalendarBook, policy: Policy, now: datetime) -> list[ClockFlagged]:
    """Mark what waits for a year on the clock (changed in place); a ClockFlagged for each step newly waiting."""
    steps = waiting(book, policy, c)
    return [ClockFlagged(unit=c["unit"], round=c["round"], at=now, reason=reason(c, s, steps[s], policy),
                         years_missing=steps[s]) for s in mark(c, steps)]


@dataclass
class Carried:
    """What loading a year computed for a flagged clock: its events and a pause's end, if it now has one."""

    events: list[EventPayload] = field(default_factory=list)
    resume_at: datetime | None = None

    @property
    def any(self) -> bool:
        """Whether anything that waited was computed."""
        return bool(self.events) or self.resume_at is not None


def carry_out(c: dict[str, Any], book: CalendarBook, policy: Policy, now: datetime) -> Carried:
    """A year was loaded: compute what waited for it (changed in place). A deadline computed (DeadlineChanged), a
    pause's end, the return visit's due time (ReturnVisitDue again, now with the time); an escalation needs nothing
    here: it is planned with the clock's timers once the calendar knows its day."""
    out = Carried()
    state = c["state"]
    if state in ACTIVE and (c.get("resolve_due") is None or c.get("accept_due") is None):
        c.update(compute_deadlines(book, policy, c))
        if c["resolve_due"] is not None:
            out.events.append(DeadlineChanged(
                unit=c["unit"], round=c["round"], reason="calendar loaded", at=now, old_resolve_due=None,
                resolve_due=c["resolve_due"], resolve_due_date=c["resolve_due_date"],
                calendar_version=c["calendar_version"], explanation=c["explanation"]))
    pause_days = (c.get("detail") or {}).get("pause_days")
    if state == PAUSED and c.get("resume_at") is None and pause_days:
        at = resume_at(book, policy, c["paused_at"], int(pause_days))[0]
        if at is not None:
            c["resume_at"] = out.resume_at = at
    if state == "resolved" and c.get("resolved_at") is not None and c.get("return_visit_due") is None:
        due, due_date, _ = return_visit(book, policy, c["resolved_at"])
        if due is not None:
            c["return_visit_due"] = due
            out.events.append(ReturnVisitDue(unit=c["unit"], round=c["round"], resolved_at=c["resolved_at"],
                                             due=due, due_date=due_date))
    return out


def parse_month_day(text: str) -> tuple[int, int]:
    """A "MM-DD" setting as (month, day) (ValueError when it is not a day of the year)."""
    month, day = (int(p) for p in text.split("-"))
    date(2024, month, day)  # a leap year: 02-29 is accepted
    return month, day


def next_year_missing(today: date, known_years: Iterable[int], warn_from: tuple[int, int]) -> int | None:
    """Next year, when its calendar is not loaded and today is on or after the warning day; else None."""
    month, day = warn_from
    if (today.month, today.day) < (month, day):
        return None
    return None if today.year + 1 in set(known_years) else today.year + 1
