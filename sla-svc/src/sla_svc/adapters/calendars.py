"""The calendar's store (every version of every year) and the book in force, reloaded when it changed."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bancheng_shared.calendar import YearCalendar
from sla_svc.adapters.tables import calendar_years
from sla_svc.domain.calendar_book import CalendarBook


class CalendarStore:
    """A unit of work's view of the calendar years."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def known_years(self) -> set[int]:
        """The years with at least one version."""
        return set((await self.session.execute(select(calendar_years.c.year).distinct())).scalars())

    async def latest(self, year: int, *, lock: bool = False) -> dict[str, Any] | None:
        """A year's version in force."""
        q = select(calendar_years).where(calendar_years.c.year == year).order_by(calendar_years.c.version.desc())
        r = (await self.session.execute((q.with_for_update() if lock else q).limit(1))).first()
        return dict(r._mapping) if r else None

    async def versions(self, year: int) -> list[dict[str, Any]]:
        """Every version of a year, oldest first."""
        rows = await self.session.execute(select(calendar_years).where(calendar_years.c.year == year)
                                          .order_by(calendar_years.c.version))
        return [dict(r._mapping) for r in rows.all()]

    async def in_force(self) -> list[tuple[int, int]]:
        """(year, version in force) of every known year."""
        rows = await self.session.execute(select(calendar_years.c.year, func.max(calendar_years.c.version))
                                          .group_by(calendar_years.c.year).order_by(calendar_years.c.year))
        return [(int(y), int(v)) for y, v in rows.all()]

    async def add(self, rows: list[dict[str, Any]]) -> None:
        """Store year versions."""
        await self.session.execute(insert(calendar_years), rows)

    async def generation(self) -> int:
        """A number that grows with every version stored (the book is reloaded when it changed)."""
        return int((await self.session.execute(select(func.max(calendar_years.c.id)))).scalar() or 0)

    async def book(self, tz: ZoneInfo) -> CalendarBook:
        """The book of the versions in force."""
        rows = (await self.session.execute(select(calendar_years).order_by(calendar_years.c.year,
                                                                           calendar_years.c.version))).all()
        latest = {r.year: r for r in rows}
        return CalendarBook([YearCalendar.from_json(r.data) for r in latest.values()],
                            {y: r.version for y, r in latest.items()}, tz=tz)
