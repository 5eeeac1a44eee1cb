"""The working-day calendar in force: the known years in contiguous runs, O(1) arithmetic, memoised deadlines."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bancheng_shared.calendar import UnknownYearError, WorkingCalendar, YearCalendar

if TYPE_CHECKING:
    from sla_svc.domain.deadlines import Deadline

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
