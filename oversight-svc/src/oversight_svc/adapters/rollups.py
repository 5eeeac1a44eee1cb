"""The rollups: what facts add to a unit's (and a region's) day, month, quarter and year rows."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bancheng_shared.db import upsert_statement
from oversight_svc.adapters.tables import region_received, rollups
from oversight_svc.adapters.writes import Op, run
from oversight_svc.domain.metrics import Count
from oversight_svc.domain.periods import grains_of


class Rollups:
    """Builds the rollup writes; remembers each day's periods (the same few days recur in every event)."""

    def __init__(self, max_days: int = 4096) -> None:
        self._grains: dict[date, tuple[tuple[str, date], ...]] = {}
        self.max_days = max_days

    def grains(self, day: date) -> tuple[tuple[str, date], ...]:
        """The day, month, quarter and year periods of a day."""
        g = self._grains.get(day)
        if g is None:
            if len(self._grains) >= self.max_days:
                self._grains.clear()
            g = self._grains[day] = tuple(grains_of(day))
        return g

    def increment_op(self, session: AsyncSession, counts: list[Count]) -> Op | None:
        """Add (unit, day, deltas) to the rollups in one statement: every grain of each, the metrics of all.

        A metric one of them does not change is added as 0; one whose deltas are all 0 gets no rows (as if alone);
        None when nothing changes."""
        counts = [(u, d, deltas) for u, d, deltas in counts if any(deltas.values())]
        if not counts:
            return None
        metrics = sorted({m for _, _, deltas in counts for m, v in deltas.items() if v})
        # one row per key, the deltas summed (a unit's sign and result corrected in the same month): a driver may
        # fold an executemany into one multi-row INSERT, and PostgreSQL refuses to update a row twice in one
        rows: dict[tuple[str, date, str], dict[str, Any]] = {}
        for unit, day, deltas in counts:
            for g, p in self.grains(day):
                row = rows.get((g, p, unit))
                if row is None:
                    row = rows[g, p, unit] = {"grain": g, "period": p, "unit": unit, **dict.fromkeys(metrics, 0)}
                for m, v in deltas.items():
                    if v:
                        row[m] += v
        stmt = upsert_statement(session, rollups, ["grain", "period", "unit"], metrics, add=True)
        # in key order: transactions of two replicas lock shared rows in the same order (no deadlock between them)
        return stmt, [rows[k] for k in sorted(rows)]

    async def increment(self, session: AsyncSession, unit: str, day: date, deltas: dict[str, int]) -> None:
        """Add to a unit's day, month, quarter and year rollups (negative deltas correct a provisional count)."""
        await run(session, [self.increment_op(session, [(unit, day, deltas)])])

    def received_op(self, session: AsyncSession, region_code: str, day: date) -> Op:
        """Count a received ticket for its region."""
        rows = [{"grain": g, "period": p, "region_code": region_code, "n": 1} for g, p in self.grains(day)]
        return upsert_statement(session, region_received, ["grain", "period", "region_code"], ["n"], add=True), rows
