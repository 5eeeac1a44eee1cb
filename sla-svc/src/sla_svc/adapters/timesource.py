"""The service's time: real, or simulated (tests and training) when a setting allows it."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sla_svc.adapters.tables import sim_time


class TimeSource:
    """All clock logic asks this for `now`; a simulated time is shared by replicas through the database."""

    def __init__(self, allowed: bool) -> None:
        self.allowed = allowed
        self._sim: datetime | None = None
        self._running = False
        self._mono = 0.0

    @property
    def simulated(self) -> bool:
        """Whether a simulated time is in force."""
        return self.allowed and self._sim is not None

    def now(self) -> datetime:
        """The current time (UTC, aware)."""
        if not self.simulated or self._sim is None:
            return datetime.now(UTC)
        if self._running:
            return self._sim + timedelta(seconds=time.monotonic() - self._mono)
        return self._sim

    def set(self, now: datetime | None, running: bool = False) -> None:
        """Adopt a simulated time locally (None: back to real time)."""
        self._sim = now.astimezone(UTC) if now is not None else None
        self._running = running
        self._mono = time.monotonic()

    async def refresh(self, session: AsyncSession) -> None:
        """Re-read the shared simulated time (another replica may have set it)."""
        if not self.allowed:
            return
        row = (await session.execute(select(sim_time).where(sim_time.c.name == "now"))).first()
        if row is None:
            if self._sim is not None:
                self.set(None)
            return
        if self._sim is None or row.running != self._running or (
            not row.running and row.now != self._sim
        ) or (row.running and abs((self.now() - (row.now + (datetime.now(UTC) - row.set_at))).total_seconds()) > 1):
            if row.running:
                self.set(row.now + (datetime.now(UTC) - row.set_at), True)
            else:
                self.set(row.now, False)
