"""What triage's handlers and queries share: the settings and the per-process caches (built once in main.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from bancheng_shared.calendar import UnknownYearError, WorkingCalendar, seed_years
from triage_svc.adapters.caches import Caches
from triage_svc.settings import TriageSettings


@dataclass
class Triage:
    """triage's context: handed to every handler (through the message bus) and to the queries."""

    settings: TriageSettings
    caches: Caches
    calendars: dict[int, WorkingCalendar] = field(default_factory=dict)

    @property
    def tz(self) -> ZoneInfo:
        """The time zone of the working days (Asia/Shanghai)."""
        return ZoneInfo(self.settings.timezone)

    def calendar(self, year: int) -> WorkingCalendar:
        """The working-day calendar from `year` on (statutory holidays and 调休 from the `chinesecalendar` data);
        UnknownYearError when that year is not known (never guessed)."""
        if year not in self.calendars:
            years = seed_years(range(year, year + 2))
            if not years or years[0].year != year:
                raise UnknownYearError([year])
            self.calendars[year] = WorkingCalendar(years)
        return self.calendars[year]
