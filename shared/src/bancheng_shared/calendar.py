"""Working-day calendar core: statutory holidays and make-up working days per year, as data.

Arithmetic uses precomputed ordinal tables (O(1) per call after an O(days) build): the cumulative
count of working days up to each date, and the list of working dates.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import orjson


class UnknownYearError(Exception):
    """A computation needs a year the calendar does not know; never guessed."""

    def __init__(self, years: Iterable[int]) -> None:
        self.years = sorted(set(years))
        super().__init__("the working-day calendar does not cover year(s) " + ", ".join(map(str, self.years)))


@dataclass(frozen=True)
class YearCalendar:
    """One year: statutory days off (with names) and weekend days that are working days (调休)."""

    year: int
    holidays: Mapping[date, str] = field(default_factory=dict)
    workdays: Mapping[date, str] = field(default_factory=dict)

    def validate(self) -> list[str]:
        """Problems with this year's data, each naming the date; empty when valid."""
        errors = []
        for d in self.holidays:
            if d.year != self.year:
                errors.append(f"holiday {d.isoformat()} is not in year {self.year}")
        for d in self.workdays:
            if d.year != self.year:
                errors.append(f"make-up working day {d.isoformat()} is not in year {self.year}")
            if d in self.holidays:
                errors.append(f"{d.isoformat()} is both a holiday and a make-up working day")
        return errors

    def to_json(self) -> dict[str, Any]:
        """Plain data (the form stored and loaded through the API)."""
        return {
            "year": self.year,
            "holidays": [{"date": d.isoformat(), "name": n} for d, n in sorted(self.holidays.items())],
            "workdays": [{"date": d.isoformat(), "name": n} for d, n in sorted(self.workdays.items())],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> YearCalendar:
        """Inverse of to_json."""
        return cls(
            year=int(data["year"]),
            holidays={date.fromisoformat(h["date"]): h.get("name", "") for h in data.get("holidays", [])},
            workdays={date.fromisoformat(w["date"]): w.get("name", "") for w in data.get("workdays", [])},
        )


def is_default_working_day(d: date, year: YearCalendar) -> bool:
    """Working day by the year's data: weekdays except holidays, plus make-up weekend days."""
    if d in year.workdays:
        return True
    if d in year.holidays:
        return False
    return d.weekday() < 5


class WorkingCalendar:
    """Working-day arithmetic over a contiguous run of known years."""

    def __init__(self, years: Iterable[YearCalendar]) -> None:
        self.years: dict[int, YearCalendar] = {y.year: y for y in years}
        if not self.years:
            raise ValueError("a calendar needs at least one year")
        ys = sorted(self.years)
        if ys != list(range(ys[0], ys[-1] + 1)):
            raise ValueError(f"calendar years must be contiguous, got {ys}")
        self.first = date(ys[0], 1, 1)
        self.last = date(ys[-1], 12, 31)
        n = (self.last - self.first).days + 1
        self._cum: list[int] = [0] * n  # working days in [first, first+i]
        self._work: list[int] = []  # day indexes of working days
        count = 0
        for i in range(n):
            d = self.first + timedelta(days=i)
            if is_default_working_day(d, self.years[d.year]):
                count += 1
                self._work.append(i)
            self._cum[i] = count
        self.version = self._digest()

    def _digest(self) -> str:
        blob = orjson.dumps([self.years[y].to_json() for y in sorted(self.years)])
        return f"cn-{min(self.years)}-{max(self.years)}-{hashlib.sha256(blob).hexdigest()[:10]}"

    def _index(self, d: date) -> int:
        if d < self.first or d > self.last:
            raise UnknownYearError([d.year])
        return (d - self.first).days

    def is_working_day(self, d: date) -> bool:
        """Whether d is a working day (raises UnknownYearError outside the known years)."""
        i = self._index(d)
        return self._cum[i] - (self._cum[i - 1] if i else 0) == 1

    def add_working_days(self, start: date, n: int) -> date:
        """The Nth working day after start (start itself not counted); n >= 1."""
        if n < 1:
            raise ValueError("n must be at least 1")
        i = self._index(start)
        target = self._cum[i] + n - 1  # index into the working-day list
        if target >= len(self._work):
            raise UnknownYearError([self.last.year + 1])
        return self.first + timedelta(days=self._work[target])

    def subtract_working_days(self, end: date, n: int) -> date:
        """The Nth working day before end (end itself not counted); n >= 1."""
        if n < 1:
            raise ValueError("n must be at least 1")
        i = self._index(end)
        before = self._cum[i - 1] if i else 0  # working days strictly before end
        target = before - n
        if target < 0:
            raise UnknownYearError([self.first.year - 1])
        return self.first + timedelta(days=self._work[target])

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]: how many were counted from start to reach end."""
        if end <= start:
            return 0
        return self._cum[self._index(end)] - self._cum[self._index(start)]

    def explain(self, start: date, end: date) -> list[str]:
        """Which non-ordinary days lay in (start, end]: holidays skipped, make-up days counted."""
        notes: list[str] = []
        d = start + timedelta(days=1)
        run_start: date | None = None
        run_name = ""
        while d <= end:
            y = self.years.get(d.year)
            if y is None:
                raise UnknownYearError([d.year])
            name = y.holidays.get(d)
            # a run of days off ends where the holiday (or its name) changes
            if run_start is not None and name != run_name:
                notes.append(_skipped(run_start, d - timedelta(days=1), run_name))
                run_start = None
            if name is not None and run_start is None:
                run_start, run_name = d, name
            if d in y.workdays:
                notes.append(f"counted {d.isoformat()} ({y.workdays[d] or 'make-up working day'}, 调休上班)")
            d += timedelta(days=1)
        if run_start is not None:
            notes.append(_skipped(run_start, end, run_name))
        return notes


def _skipped(a: date, b: date, name: str) -> str:
    span = a.isoformat() if a == b else f"{a.isoformat()}..{b.isoformat()}"
    return f"skipped {span} {name}".rstrip()


def seed_years(years: Iterable[int]) -> list[YearCalendar]:
    """Year data from the maintained `chinesecalendar` package (years it does not know are left out)."""
    import chinese_calendar as cc

    out = []
    for y in years:
        holidays: dict[date, str] = {}
        workdays: dict[date, str] = {}
        d = date(y, 1, 1)
        try:
            while d.year == y:
                on_holiday, name = cc.get_holiday_detail(d)
                is_work = cc.is_workday(d)
                if on_holiday and name:
                    holidays[d] = _NAMES_ZH.get(name, name)
                elif is_work and d.weekday() >= 5:
                    workdays[d] = _NAMES_ZH.get(name, name) if name else "调休"
                d += timedelta(days=1)
        except NotImplementedError:
            continue
        out.append(YearCalendar(year=y, holidays=holidays, workdays=workdays))
    return out


_NAMES_ZH = {
    "New Year's Day": "元旦 New Year's Day",
    "Spring Festival": "春节 Spring Festival",
    "Tomb-sweeping Day": "清明节 Tomb-sweeping Day",
    "Labour Day": "劳动节 Labour Day",
    "Dragon Boat Festival": "端午节 Dragon Boat Festival",
    "National Day": "国庆节 National Day",
    "Mid-autumn Festival": "中秋节 Mid-autumn Festival",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}
