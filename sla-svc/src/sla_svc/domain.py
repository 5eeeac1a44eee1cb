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

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bancheng_shared.calendar import UnknownYearError, WorkingCalendar, YearCalendar

LEVEL_RANK = {None: -1, "reported": 0, "warning": 1, "urgent": 2, "alarm": 3}
RUNNING, PAUSED = "running", "paused"
ONE_US = timedelta(microseconds=1)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
END_OF_DAY = time(23, 59, 59, 999999)


class CalendarBook:
    """The known years, split into contiguous runs; each run is a WorkingCalendar (O(1) arithmetic)."""

    def __init__(self, years: Iterable[YearCalendar], versions: Mapping[int, int] | None = None,
                 tz: ZoneInfo | None = None) -> None:
        self.tz = tz or ZoneInfo("Asia/Shanghai")
        self.years = {y.year: y for y in years}
        self.versions = dict(versions or {})
        self.runs: list[WorkingCalendar] = []
        run: list[YearCalendar] = []
        for y in sorted(self.years):
            if run and y != run[-1].year + 1:
                self.runs.append(WorkingCalendar(run))
                run = []
            run.append(self.years[y])
        if run:
            self.runs.append(WorkingCalendar(run))
        self._firsts = [r.first for r in self.runs]
        # Hot path: deadlines memoised by (local day number, n). The calendar of a book never changes, and
        # the zone's offset is checked to be constant over the known years so the local day is plain arithmetic.
        self._due_cache: dict[tuple[int, int], datetime] = {}
        offsets = {self.tz.utcoffset(datetime(y, m, 1)) for y in self.years for m in (1, 4, 7, 10)}
        off = offsets.pop() if len(offsets) == 1 else None
        self._offset_s: int | None = int(off.total_seconds()) if off is not None else None
        # deadlines with their explanations by (local start date, n, zone): the same few dates recur all day
        self.deadlines: dict[tuple[date, int, ZoneInfo], Deadline] = {}

    def due_at(self, start: datetime, n: int) -> datetime:
        """The end (local) of the Nth working day after the local date of start (raises UnknownYearError)."""
        if self._offset_s is None:
            d = self.add_working_days(start.astimezone(self.tz).date(), n)
            return datetime.combine(d, END_OF_DAY, tzinfo=self.tz)
        key = (int((start.timestamp() + self._offset_s) // 86400), n)
        hit = self._due_cache.get(key)
        if hit is None:
            d = self.add_working_days(date.fromordinal(key[0] + _EPOCH_ORDINAL), n)
            hit = self._due_cache[key] = datetime.combine(d, END_OF_DAY, tzinfo=self.tz)
        return hit

    def run_for(self, d: date) -> WorkingCalendar:
        """The run that knows d (raises UnknownYearError naming d's year)."""
        k = bisect_right(self._firsts, d) - 1
        if k < 0 or d > self.runs[k].last:
            raise UnknownYearError([d.year])
        return self.runs[k]

    def version_for(self, d: date) -> str:
        """The version id of the run used from d ("cn-<first>-<last>-<digest>"), or "cn-none"."""
        try:
            return self.run_for(d).version
        except UnknownYearError:
            return "cn-none"

    def add_working_days(self, start: date, n: int) -> date:
        """The Nth working day after start (start not counted); start itself when n == 0."""
        if n == 0:
            return start
        return self.run_for(start).add_working_days(start, n)

    def subtract_working_days(self, end: date, n: int) -> date:
        """The Nth working day before end (end not counted)."""
        return self.run_for(end).subtract_working_days(end, n)

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]."""
        if end <= start:
            return 0
        cal = self.run_for(start)
        if end > cal.last:
            raise UnknownYearError([cal.last.year + 1])
        return cal.working_days_between(start, end)

    def is_working_day(self, d: date) -> bool:
        """Whether d is a working day."""
        return self.run_for(d).is_working_day(d)

    def explain(self, start: date, end: date) -> list[str]:
        """Holidays skipped and make-up days counted in (start, end]."""
        return self.run_for(start).explain(start, end)




@dataclass(frozen=True)
class Policy:
    """The rule numbers (from settings)."""

    tz: ZoneInfo
    accept_days: int = 2
    resolve_days: int = 5
    resolve_days_complex: int = 10
    answer_days: int = 1
    urgent_days: int = 2
    escalate_days: int = 3
    return_visit_days: int = 3
    max_extension_days: int = 5

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


def escalate_at(book: CalendarBook, policy: Policy, urged_at: datetime) -> datetime | None:
    """When an unresolved, urged clock goes to supervision (None when the calendar does not know)."""
    try:
        d = book.add_working_days(local_date(urged_at, policy.tz), policy.escalate_days)
    except UnknownYearError:
        return None
    return end_of_day(d, policy.tz) + ONE_US


def plan_timers(book: CalendarBook, policy: Policy, clock: Mapping[str, Any]) -> list[tuple[str, datetime]]:
    """The transitions still to fire for a clock, as (kind, due_at)."""
    out: list[tuple[str, datetime]] = []
    if clock["state"] not in (RUNNING, PAUSED):
        return out
    if not clock.get("signed") and not clock.get("return_requested") and clock.get("accept_due") is not None:
        out.append(("accept", clock["accept_due"] + ONE_US))
    if clock["state"] != RUNNING or clock.get("resolve_due") is None:
        return out
    rank = LEVEL_RANK.get(clock.get("alert_level"), -1)
    if rank < LEVEL_RANK["urgent"] and clock.get("urgent_from") is not None and clock.get("urged_at") is None:
        out.append(("urgent", clock["urgent_from"]))
    if clock.get("urged_at") is None:
        out.append(("alarm", clock["resolve_due"] + ONE_US))
    elif clock.get("escalated_at") is None:
        at = escalate_at(book, policy, clock["urged_at"])
        if at is not None:
            out.append(("escalate", at))
    return out


def level_after_move(clock: Mapping[str, Any], now: datetime) -> str:
    """The ladder level that holds at `now` after the deadline moved (extension, resume)."""
    due, urgent_from = clock.get("resolve_due"), clock.get("urgent_from")
    if due is not None and now > due:
        return "alarm"
    if urgent_from is not None and now >= urgent_from:
        return "urgent"
    return "warning" if clock.get("deemed_signed") else "reported"


def paused_working_days(book: CalendarBook, policy: Policy, paused_at: datetime, resumed_at: datetime) -> int:
    """Working days not counted for a pause: those in (pause date, resume date]."""
    return book.working_days_between(local_date(paused_at, policy.tz), local_date(resumed_at, policy.tz))


def validate_year_payload(year: int, holidays: Sequence[Mapping[str, Any]],
                          workdays: Sequence[Mapping[str, Any]]) -> tuple[YearCalendar | None, list[dict[str, str]]]:
    """Parse and check a year's calendar; errors name the field and the date that is wrong."""
    errors: list[dict[str, str]] = []
    parsed: dict[str, dict[date, str]] = {"holidays": {}, "workdays": {}}
    for field_name, items in (("holidays", holidays), ("workdays", workdays)):
        for i, item in enumerate(items):
            where = f"{field_name}[{i}].date"
            raw = item.get("date")
            if not isinstance(raw, str):
                errors.append({"field": where, "message": f"missing or not a string: {raw!r}"})
                continue
            try:
                d = date.fromisoformat(raw)
                if len(raw) != 10:
                    raise ValueError
            except ValueError:
                errors.append({"field": where, "message": f"{raw!r} is not a date (YYYY-MM-DD)"})
                continue
            if d.year != year:
                errors.append({"field": where, "message": f"{raw} is not in year {year}"})
                continue
            if d in parsed[field_name]:
                errors.append({"field": where, "message": f"{raw} is listed twice in {field_name}"})
                continue
            if field_name == "workdays" and d.weekday() < 5:
                errors.append({"field": where, "message": f"{raw} is a weekday; a make-up working day "
                               "(调休上班) must be a Saturday or Sunday"})
                continue
            name = item.get("name", "")
            parsed[field_name][d] = str(name or "")
    for d in sorted(set(parsed["holidays"]) & set(parsed["workdays"])):
        i = [h.get("date") for h in workdays].index(d.isoformat())
        errors.append({"field": f"workdays[{i}].date",
                       "message": f"{d.isoformat()} overlaps: it is both a holiday and a make-up working day"})
    if errors:
        return None, errors
    cal = YearCalendar(year=year, holidays=parsed["holidays"], workdays=parsed["workdays"])
    errors.extend({"field": "body", "message": m} for m in cal.validate())
    return (None, errors) if errors else (cal, [])
