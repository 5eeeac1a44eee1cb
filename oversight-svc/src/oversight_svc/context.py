"""The oversight context: what every handler and query shares, built once in main.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from oversight_svc.adapters.assessment import load_default
from oversight_svc.adapters.calendar import CalendarCache
from oversight_svc.adapters.report_builder import ReportBuilder
from oversight_svc.adapters.rollups import Rollups
from oversight_svc.domain.periods import check_day, check_period
from oversight_svc.domain.rates import RatePolicy
from oversight_svc.settings import OversightSettings


@dataclass
class Oversight:
    """Settings, the rate policy, the local time zone, the calendar in force, the rollup writer and the report
    file builder."""

    settings: OversightSettings
    calendar: CalendarCache = field(default_factory=CalendarCache)
    rollups: Rollups = field(default_factory=Rollups)
    tz: ZoneInfo = field(init=False)
    policy: RatePolicy = field(init=False)
    assessment_default: dict[str, Any] = field(init=False)  # the default scheme's data (version 0)
    reports: ReportBuilder = field(init=False)

    def __post_init__(self) -> None:
        s = self.settings
        self.tz = ZoneInfo(s.timezone)
        self.policy = RatePolicy(gap_threshold=s.gap_threshold, gap_min_sample=s.gap_min_sample,
                                 ranking_min_sample=s.ranking_min_sample, ranking_top=s.ranking_top)
        self.assessment_default = load_default(s.assessment_scheme_file)
        self.reports = ReportBuilder(s.report_workers)

    def day(self, at: datetime) -> date:
        """The local calendar day of a timestamp."""
        return at.astimezone(self.tz).date()

    def check_day(self, name: str, d: date) -> None:
        """A day outside the years statistics cover is refused (422 naming the field)."""
        check_day(name, d, min_year=self.settings.stats_min_year, max_year=self.settings.stats_max_year)

    def check_period(self, start: date, end: date) -> None:
        """Out-of-range or reversed periods are refused (422)."""
        check_period(start, end, min_year=self.settings.stats_min_year, max_year=self.settings.stats_max_year)
