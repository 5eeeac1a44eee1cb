"""sla rules (pure): deadlines in working days, counted the documented way.

Counting rule: the day of dispatch is not counted; the deadline is the end (23:59:59) of the Nth working
day after it, in the calendar's time zone. A deadline that reaches a year the calendar does not know is
not guessed: it is None and the clock is flagged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bancheng_shared.calendar import UnknownYearError, WorkingCalendar


@dataclass(frozen=True)
class Deadline:
    """A computed deadline with its explanation, or the years that were missing."""

    due: datetime | None
    due_date: date | None
    explanation: str
    missing_years: tuple[int, ...] = ()


def end_of_day(d: date, tz: ZoneInfo) -> datetime:
    """The last instant of a local day."""
    return datetime.combine(d + timedelta(days=1), time(0, 0), tzinfo=tz) - timedelta(microseconds=1)


def working_day_deadline(cal: WorkingCalendar, start: datetime, days: int, tz: ZoneInfo) -> Deadline:
    """The end of the `days`th working day after the local date of `start`."""
    local_start = start.astimezone(tz).date()
    try:
        due_date = cal.add_working_days(local_start, days)
        notes = cal.explain(local_start, due_date)
    except UnknownYearError as exc:
        return Deadline(None, None, f"{days} working days from {local_start.isoformat()}: calendar does not "
                        f"cover {', '.join(map(str, exc.years))}; deadline not computed", tuple(exc.years))
    text = f"{days} working days from {local_start.isoformat()} (not counted) to {due_date.isoformat()}"
    if notes:
        text += "; " + "; ".join(notes)
    return Deadline(end_of_day(due_date, tz), due_date, text)


def resolution_days(complex_: bool, response_level: int, normal: int, complex_days: int, answer: int) -> int:
    """Working days to resolve: level 3 answers, normal matters, complex / level-1 matters."""
    if response_level == 3:
        return answer
    return complex_days if complex_ or response_level == 1 else normal
