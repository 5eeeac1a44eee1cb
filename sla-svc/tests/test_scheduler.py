"""Timers at scale: catching up after downtime in due order, exactly once; two replicas on one database."""

from __future__ import annotations

from collections import Counter, defaultdict
from contextlib import AsyncExitStack
from datetime import datetime

from sla_helpers import dispatched, feed, local, more_passes, published, sla_of, sla_service
from sqlalchemy import func, insert, select

from bancheng_services.testing import Databases, auth, eventually
from sla_svc.adapters.tables import alerts, sim_time, timers


async def _sequence(svc, ticket: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [e["type"] + (":" + e["payload"]["level"] if e["type"] == "AlertRaised" else "")
            for e in await published(svc, ticket)]


async def test_down_over_a_weekend_catches_up_in_order_once(databases: Databases) -> None:
    url = await databases.new("sla")
    async with sla_service(url) as svc:
        await svc.client.put("/v1/clock", headers=auth("work_team"), json={"now": "2026-11-13T18:00:00+08:00"})
        for i in range(12):
            await feed(svc, dispatched(f"A{i}", local("2026-11-11 10:00")))  # window closes end of Fri 11-13
            await feed(svc, dispatched(f"B{i}", local("2026-11-06 10:00")))  # deadline end of Fri 11-13
        assert (await svc.client.put("/v1/clock", headers=auth("work_team"),
                                     json={"now": "2026-11-13T18:00:00+08:00"})).json()["fired"] == 24  # B warns
    # the service is down from Friday evening; the simulated time moves on to Monday morning meanwhile
    async with svc.runtime.sm() as s, s.begin():
        await s.execute(sim_time.update().values(now=local("2026-11-16 09:00")))
    async with sla_service(url, scheduler_enabled=True, scheduler_interval_s=0.05, scheduler_batch_size=5) as svc2:
        async def caught_up() -> bool:
            return len(await published(svc2, type_="UrgeIssued")) == 12 and \
                len(await published(svc2, type_="DeemedSigned")) == 24
        await eventually(caught_up)
        await more_passes(svc2)  # nothing fires twice
        assert sla_of(svc2).fired_total == 24
        for i in range(12):
            assert await _sequence(svc2, f"A{i}") == ["ClockStarted", "AlertRaised:reported", "AlertRaised:warning",
                                                      "DeemedSigned"]
            assert await _sequence(svc2, f"B{i}") == ["ClockStarted", "AlertRaised:reported", "AlertRaised:warning",
                                                      "DeemedSigned", "AlertRaised:urgent", "AlertRaised:alarm",
                                                      "UrgeIssued"]
        # due order across clocks: every caught-up alert carries its due time; they were written in that order
        dues = [e["payload"]["due_at"] for e in await published(svc2, type_="AlertRaised")
                if e["payload"]["level"] in ("warning", "alarm")]
        assert dues == sorted(dues)
        # B's escalation: urge on Saturday 11-14 + 3 working days (11-16, 11-17, 11-18) -> 11-19 00:00
        r = await svc2.client.put("/v1/clock", headers=auth("work_team"), json={"now": "2026-11-18T23:59:00+08:00"})
        assert len(await published(svc2, type_="EscalatedToSupervision")) == 0
        r = await svc2.client.put("/v1/clock", headers=auth("work_team"), json={"now": "2026-11-19T00:00:00+08:00"})
        await eventually(lambda: _count(svc2, "EscalatedToSupervision", 12))
        assert r.status_code == 200
        async with svc2.runtime.sm() as s:
            per = Counter((await s.execute(select(alerts.c.ticket_no, alerts.c.level))).all())
        assert set(per.values()) == {1}


async def _count(svc, type_: str, n: int) -> bool:  # type: ignore[no-untyped-def]
    return len(await published(svc, type_=type_)) == n


async def test_two_replicas_fire_each_transition_exactly_once(databases: Databases) -> None:
    url = await databases.new("sla")
    n = 150
    opts = {"scheduler_enabled": True, "scheduler_interval_s": 0.02, "scheduler_batch_size": 10}
    async with AsyncExitStack() as stack:
        one = await stack.enter_async_context(sla_service(url, **opts))
        two = await stack.enter_async_context(sla_service(url, **opts))
        for i in range(n):
            await feed(one if i % 2 else two, dispatched(f"R{i:04d}", local("2026-11-02 10:00")))
        # move the shared time past every step of the ladder; both replicas see it and race for the rows
        async with one.runtime.sm() as s, s.begin():
            await s.execute(insert(sim_time).values(name="now", now=local("2026-11-20 09:00"), running=False,
                                                    set_at=datetime.now(local("2026-11-20 09:00").tzinfo)))
        sla_of(one).wake()
        sla_of(two).wake()

        async def all_escalated() -> bool:
            return await _count(one, "EscalatedToSupervision", n)
        await eventually(all_escalated, timeout_s=60)
        await more_passes(one)
        await more_passes(two)
        fired = (sla_of(one).fired_total, sla_of(two).fired_total)
        assert sum(fired) == 4 * n, fired  # warning, urgent, alarm, escalate per clock
        if one.runtime.engine.dialect.name == "postgresql":
            assert min(fired) > 0, fired  # both replicas really worked the same table
        by_ticket: dict[str, list[str]] = defaultdict(list)
        for e in await published(one):
            by_ticket[e["ticket_id"]].append(e["type"] + (":" + e["payload"]["level"]
                                                          if e["type"] == "AlertRaised" else ""))
        expected = ["ClockStarted", "AlertRaised:reported", "AlertRaised:warning", "DeemedSigned",
                    "AlertRaised:urgent", "AlertRaised:alarm", "UrgeIssued", "EscalatedToSupervision"]
        assert len(by_ticket) == n
        assert all(seq == expected for seq in by_ticket.values()), next(
            (t, s) for t, s in by_ticket.items() if s != expected)
        async with one.runtime.sm() as s:
            assert (await s.execute(select(func.count()).select_from(timers))).scalar_one() == 0
            assert (await s.execute(select(func.count()).select_from(alerts))).scalar_one() == 4 * n
