"""The working-day calendar oversight counts on: one calendar with sla's.

sla stores the calendar (seeded from chinesecalendar, years loaded through its API as new versions) and
publishes every year version it stores (`CalendarYearLoaded`). The calendar in force here is the same seed
overridden by every version received: the highest version of a year wins. A count that needs a year nobody
knows is refused, never guessed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bancheng_shared.calendar import UnknownYearError, WorkingCalendar, YearCalendar


@dataclass(frozen=True)
class ReceivedYear:
    """A calendar year version sla published."""

    year: int
    version: int
    holidays: list[dict[str, Any]] = field(default_factory=list)
    workdays: list[dict[str, Any]] = field(default_factory=list)

    def calendar(self) -> YearCalendar:
        """The year's working-day data."""
        return YearCalendar.from_json({"year": self.year, "holidays": self.holidays, "workdays": self.workdays})


def in_force(seeds: Iterable[YearCalendar], received: Iterable[ReceivedYear]) -> dict[int, YearCalendar]:
    """The seeded years, overridden by the versions received (the highest version of each year wins)."""
    years = {y.year: y for y in seeds}
    latest: dict[int, ReceivedYear] = {}
    for r in received:
        if r.year not in latest or r.version > latest[r.year].version:
            latest[r.year] = r
    years.update((y, r.calendar()) for y, r in latest.items())
    return years


class CalendarInForce:
    """Working-day arithmetic over the known years (they need not be contiguous: counting stays within the run
    of consecutive known years around the start)."""

    def __init__(self, years: Mapping[int, YearCalendar]) -> None:
        self.years = dict(years)
        self._runs: dict[int, WorkingCalendar] = {}  # first year of a run -> its calendar

    def _run(self, year: int) -> WorkingCalendar:
        if year not in self.years:
            raise UnknownYearError([year])
        first = year
        while first - 1 in self.years:
            first -= 1
        cal = self._runs.get(first)
        if cal is None:
            last = year
            while last + 1 in self.years:
                last += 1
            cal = self._runs[first] = WorkingCalendar(self.years[y] for y in range(first, last + 1))
        return cal

    def add_working_days(self, start: date, n: int) -> date:
        """The Nth working day after start (start not counted); UnknownYearError past the known years."""
        return self._run(start.year).add_working_days(start, n)
