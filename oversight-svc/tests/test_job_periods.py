"""Periodic jobs on two oversight replicas sharing one PostgreSQL database: the letter check runs once per period
(the period is claimed in job_runs, not the timer), concurrent claims of one period give it to one replica, and
a period whose holder was killed (its lease expired, not done) is taken over."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import create_async_engine

from bancheng_services.testing import Databases, RunningService, eventually, run_service
from bancheng_shared import leases
from oversight_svc.adapters.tables import job_runs

pytestmark = pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)


async def _rows(svc: RunningService) -> list:  # type: ignore[type-arg]
    async with svc.runtime.sm() as s:
        return list((await s.execute(select(job_runs).order_by(job_runs.c.period))).all())


async def test_two_replicas_run_the_letter_check_once_per_period(databases: Databases, kafka_bootstrap: str,
                                                                  topic_prefix: str) -> None:
    url = await databases.new("oversight")
    async with AsyncExitStack() as stack:
        one, two = [await stack.enter_async_context(run_service(
            "oversight", database_url=url, kafka_bootstrap=kafka_bootstrap, topic_prefix=topic_prefix,
            letter_check_interval_s=0.25)) for _ in range(2)]

        async def periods_done() -> bool:
            return sum(r.status == "done" for r in await _rows(one)) >= 8
        await eventually(periods_done, timeout_s=30)
    runs = one.app.state.letter_job.runs + two.app.state.letter_job.runs
    rows = await _rows_after(url)
    done = [r for r in rows if r.status == "done"]
    # each period ran at one replica: twice as many runs as periods would mean both ran it
    assert runs == len(done) >= 8, (runs, len(done))
    assert {r.job for r in rows} == {"letter_check"} and len({r.period for r in rows}) == len(rows)
    assert {r.claimed_by for r in done} <= {one.app.state.letter_job.me, two.app.state.letter_job.me}


async def _rows_after(url: str) -> list:  # type: ignore[type-arg]
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(select(job_runs))).all())
    finally:
        await engine.dispose()


async def test_one_period_goes_to_one_claim_and_a_dead_holders_period_is_taken_over(
        databases: Databases, kafka_bootstrap: str, topic_prefix: str) -> None:
    url = await databases.new("oversight")
    async with AsyncExitStack() as stack:
        one, two = [await stack.enter_async_context(run_service(
            "oversight", database_url=url, kafka_bootstrap=kafka_bootstrap, topic_prefix=topic_prefix,
            letter_check_interval_s=3600)) for _ in range(2)]

        async def claim(svc: RunningService, me: str, period: str = "2026-12-05T08:00:00+00:00") -> bool:
            async with svc.runtime.unit_of_work() as uow:
                return await leases.claim_period(uow.session, job_runs, "report", period, me=me, now=uow.now(),
                                                 lease_s=60)
        got = await asyncio.gather(*(claim(one if i % 2 else two, f"r{i}") for i in range(20)))
        assert sum(got) == 1
        # the holder is killed: its lease runs out with the period not done, and another replica takes it over
        async with one.runtime.unit_of_work() as uow:
            await uow.session.execute(update(job_runs).values(lease_until=uow.now() - timedelta(seconds=1)))
        assert await claim(two, "survivor")
        assert not await claim(one, "late")  # held again
        async with two.runtime.unit_of_work() as uow:
            assert not await leases.finish_period(uow.session, job_runs, "report", "2026-12-05T08:00:00+00:00",
                                                  me="killed", now=uow.now())
            assert await leases.finish_period(uow.session, job_runs, "report", "2026-12-05T08:00:00+00:00",
                                              me="survivor", now=uow.now())
        async with one.runtime.unit_of_work() as uow:
            await uow.session.execute(update(job_runs).values(lease_until=uow.now() - timedelta(seconds=1)))
        assert not await claim(one, "again")  # a period done is never run again
