"""The calendar years sla published, stored as they arrive, and the calendar in force kept in memory.

The calendar lives in the database: every replica reloads it when it changed (a growing max(id), as sla's own
refresh does), so a year consumed by one replica counts on all of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bancheng_shared.calendar import YearCalendar
from bancheng_shared.contracts.sla import CalendarYearLoaded
from bancheng_shared.db import upsert_statement
from oversight_svc.adapters.tables import calendar_years
from oversight_svc.domain.calendar import CalendarInForce, ReceivedYear, in_force

_GENERATION = select(func.max(calendar_years.c.id))
_ALL = select(calendar_years.c.year, calendar_years.c.version, calendar_years.c.holidays, calendar_years.c.workdays)


async def store_year(session: AsyncSession, year: CalendarYearLoaded, received_at: datetime) -> None:
    """Keep a year version sla published (the same version received again is kept once)."""
    stmt = upsert_statement(session, calendar_years, ["year", "version"])
    await session.execute(stmt, {"year": year.year, "version": year.version, "holidays": year.holidays,
                                 "workdays": year.workdays, "source": year.source, "loaded_at": year.loaded_at,
                                 "received_at": received_at})


class CalendarCache:
    """The calendar in force in this process: the seeded years overridden by the versions stored."""

    def __init__(self, seeds: Iterable[YearCalendar] = ()) -> None:
        self.seeds = list(seeds)
        self._generation: int | None = None
        self.current = CalendarInForce(in_force(self.seeds, []))

    def seed(self, seeds: Iterable[YearCalendar]) -> None:
        """Set the seeded years (computed at start); the next refresh reloads."""
        self.seeds = list(seeds)
        self._generation = None

    async def refresh(self, session: AsyncSession) -> CalendarInForce:
        """The calendar in force, reloaded when a year version was stored since (by any replica)."""
        generation = (await session.execute(_GENERATION)).scalar() or 0
        if generation != self._generation:
            rows = (await session.execute(_ALL)).all()
            received = [ReceivedYear(r.year, r.version, list(r.holidays or []), list(r.workdays or [])) for r in rows]
            self.current = CalendarInForce(in_force(self.seeds, received))
            self._generation = generation
        return self.current
