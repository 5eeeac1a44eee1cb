"""sla's context: the rule numbers, the calendar book in force, the service's time and the scheduler's bell."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bancheng_shared.runtime import Runtime
from sla_svc.adapters.calendars import CalendarStore
from sla_svc.adapters.timesource import TimeSource
from sla_svc.domain.calendar_book import CalendarBook
from sla_svc.domain.deadlines import Policy
from sla_svc.domain.unknown_years import next_year_missing, parse_month_day
from sla_svc.settings import SlaSettings


def policy_of(s: SlaSettings) -> Policy:
    """The rule numbers from the settings."""
    return Policy(tz=ZoneInfo(s.timezone), accept_days=s.accept_working_days, resolve_days=s.resolve_working_days,
                  resolve_days_complex=s.resolve_working_days_complex, answer_days=s.answer_working_days,
                  transfer_days=s.transfer_working_days,
                  urgent_days=s.urgent_working_days, escalate_days=s.escalate_after_working_days,
                  return_visit_days=s.return_visit_working_days, max_extension_days=s.max_extension_working_days,
                  max_pauses=s.max_pauses_per_round, max_paused_days=s.max_paused_working_days)


@dataclass
class Sla:
    """What every sla handler and query shares (built once in main.py)."""

    rt: Runtime
    settings: SlaSettings
    policy: Policy
    time: TimeSource
    book: CalendarBook
    calendar_generation: int = -1
    fired_total: int = 0  # transitions this process fired (tests and metrics)
    passes: int = 0  # scheduler passes this process ran
    _bell: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def tz(self) -> ZoneInfo:
        """The calendars' time zone."""
        return self.policy.tz

    def wake(self) -> None:
        """Make the scheduler look at once (a time change, a moved deadline, a new calendar)."""
        self._bell.set()

    async def wait(self, timeout_s: float) -> None:
        """Sleep until woken or timeout_s passed."""
        try:  # asyncio.timeout: wait_for on 3.11 can swallow a cancellation
            async with asyncio.timeout(timeout_s):
                await self._bell.wait()
        except TimeoutError:
            pass
        self._bell.clear()

    def next_year_missing(self) -> int | None:
        """Next year, when its calendar is not loaded and the warning day of this year has come (service time)."""
        return next_year_missing(self.time.now().astimezone(self.tz).date(), self.book.years,
                                 parse_month_day(self.settings.next_year_calendar_from))

    def readiness_details(self) -> dict[str, Any]:
        """What /readyz shows the operators: the next year's calendar, loaded or (a warning) not yet."""
        today = self.time.now().astimezone(self.tz).date()
        missing = self.next_year_missing()
        cal: dict[str, Any] = {"next_year": today.year + 1, "loaded": (today.year + 1) in self.book.years}
        if missing is not None:
            cal["warning"] = (f"the working-day calendar of {missing} is not loaded: clocks that reach into it are "
                              f"flagged until it is (PUT /v1/calendars/{missing})")
        return {"next_year_calendar": cal}

    async def refresh(self, session: AsyncSession) -> bool:
        """Re-read the shared simulated time, and the calendar when it changed; True when the calendar changed."""
        await self.time.refresh(session)
        store = CalendarStore(session)
        gen = await store.generation()
        if gen == self.calendar_generation:
            return False
        self.book = await store.book(self.tz)
        self.calendar_generation = gen
        return True
