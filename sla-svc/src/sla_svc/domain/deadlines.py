"""sla rules (pure): working-day deadlines counted the documented way, the alert ladder, the timer plan.

Counting rule (documented in README.md):
- The day of dispatch is not counted. The deadline is the end (23:59:59.999999) of the Nth working day
  after the local date (Asia/Shanghai) of dispatch. A dispatch on a holiday or weekend counts from the
  next working day exactly the same way (the first working day after it is day 1).
- Working days follow the calendar in force: weekdays, minus statutory holidays, plus make-up working
  days (调休上班).
- Acceptance window: the end of the 2nd working day after dispatch; at the next instant `warning` is
  raised and the work order is deemed signed unless the unit signed or asked to return it.
- `urgent` starts at the beginning (00:00) of the working day from which only 2 working days remain
  (the deadline day included); `alarm` and the urge (催办) at the first instant after the deadline.
- Escalation: the end of the Nth working day after the local date of the urge.
- Extension: +days working days on the deadline. Pause: whole working days; the working days in
  (pause date, resume date] are not counted, i.e. the pause day counts as worked and the resume day
  is treated like a new dispatch day (not counted).
A deadline that needs a year the calendar does not know is not guessed: the clock is flagged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bancheng_shared.calendar import UnknownYearError, WorkingCalendar
from sla_svc.domain.calendar_book import END_OF_DAY, CalendarBook

ONE_US = timedelta(microseconds=1)


@dataclass(frozen=True)
class Policy:
    """The rule numbers (from settings)."""

    tz: ZoneInfo
    accept_days: int = 2
    resolve_days: int = 5
    resolve_days_complex: int = 10
    answer_days: int = 1
    transfer_days: int = 2  # the receiving organ of a transfer (信访 / 涉法涉诉) signs for it within this
    urgent_days: int = 2
    escalate_days: int = 3
    return_visit_days: int = 3
    max_extension_days: int = 5
    max_pauses: int = 1  # pauses per round
    max_paused_days: int = 10  # paused working days per round

    def resolution_days(self, complex_: bool, response_level: int) -> int:
        """Working days to resolve: level 3 answers, normal matters, complex / level-1 matters."""
        return resolution_days(complex_, response_level, self.resolve_days, self.resolve_days_complex,
                               self.answer_days)


def resolution_days(complex_: bool, response_level: int, normal: int, complex_days: int, answer: int) -> int:
    """Working days to resolve: level 3 answers, normal matters, complex / level-1 matters."""
    if response_level == 3:
        return answer
    return complex_days if complex_ or response_level == 1 else normal


def start_of_day(d: date, tz: ZoneInfo) -> datetime:
    """The first instant of a local day."""
    return datetime.combine(d, time(0, 0), tzinfo=tz)


def end_of_day(d: date, tz: ZoneInfo) -> datetime:
    """The last instant of a local day."""
    return start_of_day(d + timedelta(days=1), tz) - ONE_US


def local_date(t: datetime, tz: ZoneInfo) -> date:
    """The local calendar date of an instant."""
    return t.astimezone(tz).date()


@dataclass(frozen=True)
class Deadline:
    """A computed deadline with its explanation, or the years that were missing."""

    due: datetime | None
    due_date: date | None
    explanation: str
    missing_years: tuple[int, ...] = ()


def working_day_deadline(book: CalendarBook | WorkingCalendar, start: datetime, days: int,
                         tz: ZoneInfo) -> Deadline:
    """The end of the `days`th working day after the local date of `start`."""
    return deadline_from(book, local_date(start, tz), days, tz)


def deadline_from(book: CalendarBook | WorkingCalendar, local_start: date, days: int, tz: ZoneInfo) -> Deadline:
    """The end of the `days`th working day after a local date (memoised by a CalendarBook, which never changes)."""
    if not isinstance(book, CalendarBook):
        return _deadline_from(book, local_start, days, tz)
    key = (local_start, days, tz)
    hit = book.deadlines.get(key)
    if hit is None:
        hit = book.deadlines[key] = _deadline_from(book, local_start, days, tz)
    return hit


def _deadline_from(book: CalendarBook | WorkingCalendar, local_start: date, days: int, tz: ZoneInfo) -> Deadline:
    try:
        due_date = book.add_working_days(local_start, days)
        notes = book.explain(local_start, due_date)
    except UnknownYearError as exc:
        return Deadline(None, None, f"{days} working days from {local_start.isoformat()}: the calendar does "
                        f"not cover {', '.join(map(str, exc.years))}; deadline not computed (flagged)",
                        tuple(exc.years))
    text = f"{days} working days from {local_start.isoformat()} (not counted) to {due_date.isoformat()}"
    if notes:
        text += "; " + "; ".join(notes)
    return Deadline(end_of_day(due_date, tz), due_date, text)


def due_at(book: CalendarBook, start: datetime, days: int, tz: ZoneInfo) -> datetime:
    """Just the deadline instant (the hot path; raises UnknownYearError): end of the Nth working day."""
    if tz == book.tz:
        return book.due_at(start, days)
    d = book.add_working_days(start.astimezone(tz).date(), days)
    return datetime.combine(d, END_OF_DAY, tzinfo=tz)


def compute_deadlines(book: CalendarBook, policy: Policy, clock: Mapping[str, Any]) -> dict[str, Any]:
    """The derived deadline fields of a clock row (accept, resolve, urgent_from, flags, explanations)."""
    tz = policy.tz
    start: datetime = clock["started_at"]
    local_start = local_date(start, tz)
    total = clock["working_days"] + clock.get("extension_days", 0) + clock.get("paused_days", 0)
    accept = deadline_from(book, local_start, policy.accept_days, tz)
    resolve = deadline_from(book, local_start, total, tz)
    text = resolve.explanation
    extras = []
    if clock.get("extension_days"):
        extras.append(f"+{clock['extension_days']} working day(s) extension")
    if clock.get("paused_days"):
        extras.append(f"+{clock['paused_days']} working day(s) paused")
    if extras:
        text = (f"{clock['working_days']} working days " + " ".join(extras) + f" = {total}: " + text)
    urgent_from: datetime | None = None
    if resolve.due_date is not None:
        try:
            first_urgent_day = (resolve.due_date if policy.urgent_days <= 1
                                else book.subtract_working_days(resolve.due_date, policy.urgent_days - 1))
        except UnknownYearError:
            first_urgent_day = local_start
        urgent_from = max(start_of_day(first_urgent_day, tz), start)
    missing = sorted(set(accept.missing_years) | set(resolve.missing_years))
    return {
        "accept_due": accept.due,
        "resolve_due": resolve.due,
        "resolve_due_date": resolve.due_date,
        "urgent_from": urgent_from,
        "unknown_year": bool(missing),
        "flagged_years": missing or None,
        "explanation": text,
        "accept_explanation": accept.explanation,
        "calendar_version": book.version_for(local_start),
    }


def escalation(book: CalendarBook, policy: Policy, urged_at: datetime) -> tuple[datetime | None, tuple[int, ...]]:
    """When an unresolved, urged clock goes to supervision, or (None, the years the calendar lacks to say)."""
    try:
        d = book.add_working_days(local_date(urged_at, policy.tz), policy.escalate_days)
    except UnknownYearError as exc:
        return None, tuple(exc.years)
    return end_of_day(d, policy.tz) + ONE_US, ()


def escalate_at(book: CalendarBook, policy: Policy, urged_at: datetime) -> datetime | None:
    """When an unresolved, urged clock goes to supervision (None when the calendar does not know)."""
    return escalation(book, policy, urged_at)[0]


def paused_working_days(book: CalendarBook, policy: Policy, paused_at: datetime, resumed_at: datetime) -> int:
    """Working days not counted for a pause: those in (pause date, resume date]."""
    return book.working_days_between(local_date(paused_at, policy.tz), local_date(resumed_at, policy.tz))
