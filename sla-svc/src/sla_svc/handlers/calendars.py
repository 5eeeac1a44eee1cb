"""The working-day calendar: seeded at start, loaded year by year through the API; every version stored is
published (CalendarYearLoaded) so every service counts on the same calendar; flagged clocks are computed again."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from bancheng_shared.calendar import YearCalendar, seed_years
from bancheng_shared.contracts.sla import CalendarYearLoaded, calendar_key
from bancheng_shared.unit_of_work import UnitOfWork
from sla_svc.adapters.calendars import CalendarStore
from sla_svc.adapters.clocks import ClockStore
from sla_svc.context import Sla
from sla_svc.domain import unknown_years
from sla_svc.domain.calendar_input import year_to_load
from sla_svc.domain.commands import LoadCalendarYear, SeedCalendars
from sla_svc.handlers.clocks import replan_and_save
from sla_svc.queries import calendar_view


def _stored(uow: UnitOfWork, cal: YearCalendar, version: int, source: str, by: str) -> dict[str, Any]:
    """The row of a year version, and its event (emitted in the same transaction)."""
    now = uow.now()
    data = cal.to_json()
    uow.emit(CalendarYearLoaded(year=cal.year, version=version, holidays=data["holidays"],
                                workdays=data["workdays"], source=source, loaded_at=now),
             ticket_no=calendar_key(cal.year))
    return {"year": cal.year, "version": version, "data": data, "source": source, "created_at": now,
            "created_by": by}


async def seed(cmd: SeedCalendars, uow: UnitOfWork, sla: Sla) -> int:
    """Store the years the calendar package knows and the database does not have yet; load the book."""
    async with sla.rt.sm() as session:
        have = await CalendarStore(session).known_years()
    wanted = [y for y in range(sla.settings.calendar_seed_from_year, datetime.now(UTC).year + 2) if y not in have]
    seeded = await asyncio.to_thread(seed_years, wanted) if wanted else []
    if seeded:
        try:
            async with uow:
                await CalendarStore(uow.session).add([_stored(uow, y, 1, "chinesecalendar", "seed") for y in seeded])
        except IntegrityError:
            pass  # another replica seeded the same years first (and published them)
    async with sla.rt.sm() as session:
        await sla.refresh(session)
    return len(seeded)


async def load_year(cmd: LoadCalendarYear, uow: UnitOfWork, sla: Sla) -> dict[str, Any]:
    """Validate and store a year's calendar as a new version; flagged clocks are computed again."""
    cal = year_to_load(cmd.year, cmd.holidays, cmd.workdays, no_holidays=cmd.no_holidays)
    old_book = sla.book
    try:
        async with uow:
            store = CalendarStore(uow.session)
            current = await store.latest(cmd.year, lock=True)
            if current is not None and current["data"] == cal.to_json():
                return {**calendar_view(current, sla), "changed": False}
            row = _stored(uow, cal, current["version"] + 1 if current else 1, "api", cmd.actor.name)
            await store.add([row])
            # flagged clocks are computed with the new calendar in the same transaction
            sla.book = await store.book(sla.tz)
            recomputed = await recompute_flagged(uow, sla)
            uow.after_commit(sla.wake)
    except BaseException:
        sla.book = old_book  # nothing was stored: keep the calendar in force
        raise
    sla.calendar_generation = -1  # reload (with the new id) on the next pass
    return {**calendar_view(row, sla), "changed": True, "flagged_clocks_recomputed": recomputed}


async def recompute_flagged(uow: UnitOfWork, sla: Sla) -> int:
    """Steps that waited for a calendar year are computed and planned when it is known (deadlines, escalation, a
    pause's end, the return visit; what fell due meanwhile fires on the next pass); returns how many clocks moved."""
    store = ClockStore(uow.session)
    n = 0
    now = uow.now()
    for c in await store.flagged():
        before = c.get("flagged_years")
        carried = unknown_years.carry_out(c, sla.book, sla.policy, now)
        if not carried.any and unknown_years.unchanged(sla.book, sla.policy, c):
            continue  # still waiting for the same years: nothing to plan again
        await replan_and_save(uow, store, c, sla)  # plans what the calendar now knows; still waiting: still flagged
        if carried.resume_at is not None:
            await store.set_pause_resume(c["ticket_no"], c["round"], carried.resume_at)
        for event in carried.events:
            uow.emit(event, ticket_no=c["ticket_no"])
        n += int(carried.any or c.get("flagged_years") != before)
    if n:
        uow.after_commit(sla.wake)
    return n
