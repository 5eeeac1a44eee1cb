"""Statistics read from the rollups, and the red-track counts.

A period is covered with signed rollup ranges (domain.periods.cover_period): a whole year, quarter, month or
single day is one row per unit and is read without GROUP BY; other periods are summed in one statement (rows
of the days taken away enter negated through UNION ALL) joined with the unit names. Rows come back as the
driver's plain tuples (SQLAlchemy's Row objects cost ~8 µs each, 160 ms for 20,000 units).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from oversight_svc.adapters.tables import (
    accountability,
    case_tickets,
    case_units,
    cases,
    region_received,
    rollups,
    units,
)
from oversight_svc.domain.metrics import METRICS
from oversight_svc.domain.periods import cover_period, split_period


def _ranges(segments: list[tuple[int, str, date, date]]) -> Any:
    return or_(*(and_(rollups.c.grain == g, rollups.c.period >= a, rollups.c.period <= b) for _, g, a, b in segments))


def _unit_query(start: date, end: date, unit: str | None, region: str | None) -> Any:
    """One statement: each unit's counters over the period, with its name, region and level."""
    segments = cover_period(start, end)

    def scoped(q: Any) -> Any:
        if unit:
            q = q.where(rollups.c.unit == unit)
        if region:  # before aggregating: a district's units only, not the whole city then filtered
            q = q.where(rollups.c.unit.in_(select(units.c.unit).where(units.c.region_code.like(f"{region}%"))))
        return q

    if len(segments) == 1 and segments[0][2] == segments[0][3]:
        # a whole year, quarter, month or a single day is one rollup row per unit: no GROUP BY at all
        _, g, p, _ = segments[0]
        sub = scoped(select(rollups.c.unit, *(rollups.c[m] for m in METRICS))
                     .where(rollups.c.grain == g, rollups.c.period == p)).subquery("r")
    else:
        pos = [x for x in segments if x[0] > 0]
        neg = [x for x in segments if x[0] < 0]
        parts: Any = scoped(select(rollups.c.unit, *(rollups.c[m] for m in METRICS)).where(_ranges(pos)))
        if neg:  # month minus the days outside the period: those rows enter negated
            parts = union_all(parts, scoped(select(rollups.c.unit, *((-rollups.c[m]).label(m) for m in METRICS))
                                            .where(_ranges(neg))))
        u = parts.subquery("u")
        sub = select(u.c.unit, *(func.sum(u.c[m]).label(m) for m in METRICS)).group_by(u.c.unit).subquery("r")
    return (select(sub.c.unit, units.c.name, units.c.region_code, units.c.level, *(sub.c[m] for m in METRICS))
            .select_from(sub.outerjoin(units, units.c.unit == sub.c.unit)).order_by(sub.c.unit))


async def unit_rows(session: AsyncSession, start: date, end: date, unit: str | None,
                    region: str | None) -> list[tuple[Any, ...]]:
    """Each unit's row over [start, end] in ROW_KEYS order, sorted by unit (plain tuples)."""
    stmt = _unit_query(start, end, unit, region)

    def fetch(sync_session: Any) -> list[tuple[Any, ...]]:
        cursor = sync_session.connection().execute(stmt).cursor
        return [r if type(r) is tuple else tuple(r) for r in cursor.fetchall()]

    rows: list[tuple[Any, ...]] = await session.run_sync(fetch)
    if any(sign < 0 for sign, *_ in cover_period(start, end)):
        # a unit whose only rows were in the days taken away nets to all zeros: it had nothing in the period
        rows = [r for r in rows if any(r[4:])]
    return rows


async def region_unit_names(session: AsyncSession, region: str | None) -> list[tuple[str | None, str | None]]:
    """(region_code, name) of every named unit oversight knows (under a region code prefix): what regions are
    called by (domain.regions)."""
    q = select(units.c.region_code, units.c.name).where(units.c.name.is_not(None))
    if region:
        q = q.where(units.c.region_code.like(f"{region}%"))

    def fetch(sync_session: Any) -> list[tuple[str | None, str | None]]:
        # the driver's plain tuples: a city's 20,000 Row objects would cost ~160 ms on the event loop
        return [(r[0], r[1]) for r in sync_session.connection().execute(q).cursor.fetchall()]

    rows: list[tuple[str | None, str | None]] = await session.run_sync(fetch)
    return rows


async def received(session: AsyncSession, start: date, end: date, region: str | None) -> int:
    """Tickets received in the period, by the region of the place."""
    t = region_received
    q = select(func.coalesce(func.sum(t.c.n), 0)).where(or_(*(
        and_(t.c.grain == g, t.c.period >= a, t.c.period <= b) for g, a, b in split_period(start, end))))
    if region:
        q = q.where(t.c.region_code.like(f"{region}%"))
    return int((await session.execute(q)).scalar_one())


async def red_track_counts(session: AsyncSession, lo: datetime, hi: datetime,
                           region: str | None) -> tuple[int, int, int, list[Any], set[str]]:
    """Red tickets investigated (registered red cases' tickets), red cases concluded solved, red cases concluded,
    the decided accountability records (unit, person_name, measure, case_ids) in [lo, hi), and which of their cases
    are red tickets' cases."""
    def scoped(q: Any) -> Any:
        if region:
            return q.where(cases.c.case_id.in_(select(case_units.c.case_id).join(
                units, units.c.unit == case_units.c.unit).where(units.c.region_code.like(f"{region}%"))))
        return q

    iq = (select(func.count(func.distinct(case_tickets.c.ticket_no)))
          .select_from(cases.join(case_tickets, case_tickets.c.case_id == cases.c.case_id))
          .where(cases.c.red.is_(True), cases.c.registered_at >= lo, cases.c.registered_at < hi))
    investigated = (await session.execute(scoped(iq))).scalar_one()
    solved = (await session.execute(scoped(select(func.count()).select_from(cases).where(
        cases.c.red.is_(True), cases.c.solved.is_(True), cases.c.concluded_at >= lo,
        cases.c.concluded_at < hi)))).scalar_one()
    concluded = (await session.execute(scoped(select(func.count()).select_from(cases).where(
        cases.c.red.is_(True), cases.c.concluded_at >= lo, cases.c.concluded_at < hi)))).scalar_one()
    aq = select(accountability.c.unit, accountability.c.person_name, accountability.c.measure,
                accountability.c.case_ids).where(
        accountability.c.status == "decided", accountability.c.decided_at >= lo, accountability.c.decided_at < hi)
    if region:
        aq = aq.where(accountability.c.unit.in_(select(units.c.unit).where(units.c.region_code.like(f"{region}%"))))
    decided = list((await session.execute(aq)).all())
    named = sorted({c for d in decided for c in (d.case_ids or [])})
    red_cases: set[str] = set()
    if named:
        red_q = select(cases.c.case_id).where(cases.c.red.is_(True), cases.c.case_id.in_(named))
        red_cases = set((await session.execute(red_q)).scalars())
    return int(investigated), int(solved), int(concluded), decided, red_cases
