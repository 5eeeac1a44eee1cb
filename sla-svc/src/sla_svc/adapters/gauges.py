"""sla's operating gauges, read from the clocks table on scrape (see bancheng_shared.ops_metrics)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from prometheus_client import Gauge
from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bancheng_shared.ops_metrics import Probe
from sla_svc.adapters.tables import clocks
from sla_svc.domain.ladder import ACTIVE, LEVEL_RANK, RUNNING

# sla keeps no tier (triage's green/yellow/red): its light is the alert ladder's level, alarm being overdue
CLOCKS_OPEN = Gauge("bancheng_sla_clocks_open", "Running or paused clocks by state and alert ladder level",
                    ["state", "level"])
CLOCKS_OVERDUE = Gauge("bancheng_sla_clocks_overdue",
                       "Running clocks past their deadline (service time, simulated where allowed) by response level",
                       ["response_level"])
LEVELS = [str(level) for level in LEVEL_RANK if level is not None]


def clocks_probe(now: Callable[[], datetime]) -> Probe:
    """Open clocks by state and level, and overdue running clocks by response level, at `now()`."""
    c = clocks.c
    open_q = select(c.state, c.alert_level, func.count()).where(c.state.in_(ACTIVE)).group_by(c.state, c.alert_level)
    overdue_q = (select(c.response_level, func.count())
                 .where(c.state == RUNNING, c.resolve_due < bindparam("now", type_=c.resolve_due.type))
                 .group_by(c.response_level))

    async def probe(session: AsyncSession) -> None:
        counts = {(state, level or "none"): n for state, level, n in await session.execute(open_q)}
        for state in ACTIVE:  # every series always present: a count that drops to nothing reads 0
            for level in [*LEVELS, "none"]:
                CLOCKS_OPEN.labels(state, level).set(counts.get((state, level), 0))
        overdue: dict[int, int] = {rl: n for rl, n in await session.execute(overdue_q, {"now": now()})}
        for rl in (1, 2, 3):
            CLOCKS_OVERDUE.labels(str(rl)).set(overdue.get(rl, 0))

    return probe
