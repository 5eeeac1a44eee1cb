"""Effects claimed once across replicas sharing one database.

- A row effect (an SMS, a callback) is claimed with a lease: `claimed_by` and `lease_until` set in one UPDATE …
  RETURNING over the due rows whose lease is free or expired (FOR UPDATE SKIP LOCKED on PostgreSQL, so replicas
  claim disjoint rows without waiting; SQLite has one process and one writer). The effect's outcome is recorded
  by `finish`, in the statement that also clears the lease, and only while this replica still holds it. A
  replica killed while holding rows leaves leases that expire: another replica takes the rows over then.
- A periodic job that must run once per period claims the period, not the timer: a row keyed by (job, period)
  in `job_runs`, taken when absent or when its lease expired unfinished, marked done in the transaction of the
  job's effect.
- When a failed effect is tried again: bancheng_shared.schedule (pure).
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import Column, ColumnElement, MetaData, String, Table, and_, bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bancheng_shared.db import insert_for
from bancheng_shared.schedule import period_of
from bancheng_shared.types import UtcDateTime

log = structlog.get_logger("bancheng.leases")


def new_replica_id(prefix: str = "") -> str:
    """A name for this process's claims: host, process and a random part (two apps in one process differ)."""
    return f"{prefix}{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


# ---------------------------------------------------------------- row leases


def lease_free(table: Table, now: datetime) -> ColumnElement[bool]:
    """No replica holds the row: never claimed, released, or its lease expired."""
    return or_(table.c.lease_until.is_(None), table.c.lease_until <= now)


async def claim(session: AsyncSession, table: Table, due: ColumnElement[bool], *, order_by: Any, batch: int,
                me: str, now: datetime, lease_s: float) -> list[Any]:
    """Lease up to `batch` due rows whose lease is free to `me` until now + lease_s; returns them, in order.

    One statement: the rows are picked (skipping rows another replica's transaction holds, on PostgreSQL) and
    leased together, so two replicas never lease the same row.
    """
    pick = (select(table.c.id).where(due, lease_free(table, now)).order_by(order_by).limit(batch)
            .with_for_update(skip_locked=True))  # SQLite renders no FOR UPDATE: one writer there
    q = (update(table).where(table.c.id.in_(pick.scalar_subquery()))
         .values(claimed_by=me, lease_until=now + timedelta(seconds=lease_s)).returning(*table.c))
    rows = list((await session.execute(q)).all())
    rows.sort(key=lambda r: [getattr(r, c.name) for c in _order_columns(order_by)])
    return rows


def _order_columns(order_by: Any) -> list[Any]:
    return list(order_by) if isinstance(order_by, (list, tuple)) else [order_by]


async def finish(session: AsyncSession, table: Table, row_id: int, me: str, values: dict[str, Any]) -> bool:
    """Record the effect's outcome (`values`) and release the lease, only while `me` holds it; False: the lease
    had expired and another replica took the row over (nothing written)."""
    res = await session.execute(update(table).where(table.c.id == row_id, table.c.claimed_by == me)
                                .values(**values, claimed_by=None, lease_until=None))
    return int(getattr(res, "rowcount", 0)) == 1


# ---------------------------------------------------------------- periods of periodic jobs


def job_runs_table(metadata: MetaData) -> Table:
    """One row per (job, period) a replica claimed: who holds it, until when, and when it was done."""
    return Table(
        "job_runs",
        metadata,
        Column("job", String(80), primary_key=True),
        Column("period", String(40), primary_key=True),  # the period's start, ISO 8601 UTC
        Column("status", String(20), nullable=False),  # running, done
        Column("claimed_by", String(120), nullable=True),
        Column("lease_until", UtcDateTime(), nullable=True),
        Column("claimed_at", UtcDateTime(), nullable=False),
        Column("done_at", UtcDateTime(), nullable=True),
    )


def period_key(start: datetime) -> str:
    """The stored form of a period's start."""
    return start.isoformat(timespec="seconds")


async def claim_period(session: AsyncSession, table: Table, job: str, period: str, *, me: str, now: datetime,
                       lease_s: float) -> bool:
    """Take (job, period) for `me`: True when it was not claimed yet, or its holder's lease expired unfinished.

    INSERT … ON CONFLICT DO UPDATE … WHERE: a concurrent claim of the same period waits for the first one's
    transaction and then finds the lease held (PostgreSQL), so exactly one replica gets each period.
    """
    until = now + timedelta(seconds=lease_s)
    ins = insert_for(session, table).values(job=job, period=period, status="running", claimed_by=me,
                                            lease_until=until, claimed_at=now)
    stmt = ins.on_conflict_do_update(
        index_elements=["job", "period"],
        set_={"claimed_by": me, "lease_until": until, "claimed_at": now},
        where=and_(table.c.status != "done", table.c.lease_until <= bindparam("k_now", now, type_=UtcDateTime())),
    ).returning(table.c.job)
    return (await session.execute(stmt)).first() is not None


async def finish_period(session: AsyncSession, table: Table, job: str, period: str, *, me: str,
                        now: datetime) -> bool:
    """Mark (job, period) done, in the transaction of the job's effect; False when `me` no longer holds it."""
    res = await session.execute(update(table).where(table.c.job == job, table.c.period == period,
                                                    table.c.claimed_by == me)
                                .values(status="done", done_at=now, lease_until=None))
    return int(getattr(res, "rowcount", 0)) == 1


class LeaseLost(Exception):
    """The claim expired and another replica holds the row or period now: this replica's effect is rolled back."""


class PeriodicJob:
    """A job every replica schedules and exactly one runs per period: each wakes at the start of a period, claims
    it (`claim_period`, a short transaction of its own) and, when it got it, runs `work(period, me)`, which marks
    the period done in the transaction of its effect (`finish_period`). A replica killed mid-run leaves a lease
    that expires: another one takes the period over while it lasts, and the next period's run catches up."""

    def __init__(self, rt: Any, table: Table, job: str, every_s: float,
                 work: Callable[[str, str], Awaitable[Any]], *, lease_s: float | None = None,
                 me: str | None = None) -> None:
        self.rt, self.table, self.job, self.every_s, self.work = rt, table, job, every_s, work
        self.lease_s = lease_s if lease_s is not None else max(60.0, 2 * every_s)
        self.me = me or new_replica_id(f"{job}@")
        self.runs = 0  # periods this replica ran

    async def run_once(self) -> bool:
        """Claim the current period and run the job if this replica got it; True when it ran."""
        async with self.rt.unit_of_work() as uow:
            now = uow.now()
            period = period_key(period_of(now, self.every_s))
            if not await claim_period(uow.session, self.table, self.job, period, me=self.me, now=now,
                                      lease_s=self.lease_s):
                return False
        await self.work(period, self.me)
        self.runs += 1
        return True

    async def run(self) -> None:
        """Forever: at each period's start (with a little jitter, so replicas do not all knock at once)."""
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("periodic_job_failed", job=self.job, error=repr(exc))
            now = self.rt.clock.now()
            left = (period_of(now, self.every_s) + timedelta(seconds=self.every_s) - now).total_seconds()
            await asyncio.sleep(max(0.0, left) + random.uniform(0, min(1.0, self.every_s / 10)))
