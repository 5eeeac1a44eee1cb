"""oversight use cases: keep the rollups from events, answer statistics."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bancheng_shared.contracts import EventEnvelope
from bancheng_shared.runtime import Runtime
from oversight_svc import domain
from oversight_svc.store import increment, unit_day_counts

TZ = ZoneInfo("Asia/Shanghai")


async def count_event(session: AsyncSession, env: EventEnvelope) -> None:
    """Add an event to its unit's daily rollup."""
    hit = domain.counted_metric(env, TZ)
    if hit is not None:
        unit, day, metric = hit
        await increment(session, [{"unit": unit, "day": day, "metric": metric, "n": 1}])


async def unit_stats(rt: Runtime, start: date, end: date, unit: str | None) -> list[dict[str, Any]]:
    """Per-unit sums over [start, end] from the rollups."""
    q = (
        select(unit_day_counts.c.unit, unit_day_counts.c.metric, func.sum(unit_day_counts.c.n))
        .where(unit_day_counts.c.day >= start, unit_day_counts.c.day <= end)
        .group_by(unit_day_counts.c.unit, unit_day_counts.c.metric)
    )
    if unit:
        q = q.where(unit_day_counts.c.unit == unit)
    async with rt.sm() as session:
        rows = (await session.execute(q)).all()
    by_unit: dict[str, dict[str, Any]] = {}
    for u, metric, n in rows:
        by_unit.setdefault(u, {"unit": u})[metric] = int(n)
    return sorted(by_unit.values(), key=lambda r: r["unit"])
