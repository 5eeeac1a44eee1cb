"""Alerts listing (filters, pagination, unit scope) and sla on a real broker: triage events in, sla events out."""

from __future__ import annotations

import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sla_helpers import dispatched, feed, local, signed, sla_service

from bancheng_services.testing import OTHER_UNIT, TEST_UNIT, Databases, auth, eventually, run_service
from bancheng_shared.topics import SLA_CLOCKS, TRIAGE_WORK_ORDERS, topic_name


async def test_alert_filters_pagination_and_unit_scope(sqlite_databases: Databases) -> None:
    url = await sqlite_databases.new("sla")
    async with sla_service(url) as svc:
        await svc.client.put("/v1/clock", headers=auth("work_team"), json={"now": "2026-11-02T10:00:00+08:00"})
        await feed(svc, dispatched("U1", local("2026-11-02 10:00"), region="339901001"),
                   dispatched("U2", local("2026-11-02 10:00"), region="339901002"),
                   dispatched("O1", local("2026-11-02 10:00"), unit=OTHER_UNIT, region="339902001"),
                   signed("U2", local("2026-11-02 11:00")))
        await svc.client.put("/v1/clock", headers=auth("work_team"), json={"now": "2026-11-05T00:00:00+08:00"})

        async def get(who: str = "work_team", **params: object) -> dict:
            r = await svc.client.get("/v1/alerts", params=params, headers=auth(who))
            assert r.status_code == 200, r.text
            return r.json()

        assert (await get())["total"] == 5  # 3 reported, 2 warnings (U2 signed)
        warnings = await get(level="warning")
        assert sorted(a["ticket_no"] for a in warnings["items"]) == ["O1", "U1"]
        assert all(a["deadline"] for a in warnings["items"])
        assert {a["ticket_no"] for a in (await get(region="339901"))["items"]} == {"U1", "U2"}
        assert {a["ticket_no"] for a in (await get(unit=OTHER_UNIT))["items"]} == {"O1"}
        mine = await get("unit")
        assert mine["total"] == 3 and {a["unit"] for a in mine["items"]} == {TEST_UNIT}
        r = await svc.client.get("/v1/alerts", params={"unit": OTHER_UNIT}, headers=auth("unit"))
        assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json")
        page1, page2 = await get(limit=2, offset=0), await get(limit=2, offset=2)
        assert len(page1["items"]) == 2 and len(page2["items"]) == 2
        assert not {a["id"] for a in page1["items"]} & {a["id"] for a in page2["items"]}
        await svc.client.put("/v1/clock", headers=auth("work_team"), json={"now": "2026-11-06T00:00:00+08:00"})
        assert (await get(level="urgent", open_only="true"))["total"] == 3
        r = await svc.client.get("/v1/alerts", params={"level": "red"}, headers=auth("work_team"))
        assert r.status_code == 422 and "level" in r.json()["detail"]
        assert (await svc.client.get("/v1/alerts")).status_code == 401


async def test_sla_on_the_broker_consumes_dispatch_and_publishes_clock_events(
    databases: Databases, kafka_bootstrap: str, topic_prefix: str
) -> None:
    url = await databases.new("sla")
    ticket = f"BC{uuid.uuid4().hex[:8]}"
    async with run_service("sla", database_url=url, kafka_bootstrap=kafka_bootstrap, topic_prefix=topic_prefix,
                           simulated_time_allowed=True, calendar_seed_from_year=2024) as svc:
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
        await producer.start()
        try:
            env = dispatched(ticket, local("2026-09-30 10:00"))
            for _ in range(2):  # delivered twice: handled once
                await producer.send_and_wait(topic_name(TRIAGE_WORK_ORDERS, topic_prefix), env.to_bytes(),
                                             key=ticket.encode())
        finally:
            await producer.stop()

        async def clock() -> dict | None:
            r = await svc.client.get(f"/v1/clocks/{ticket}", headers=auth("work_team"))
            return r.json() if r.status_code == 200 else None

        body = await eventually(clock)
        assert body["rounds"][0]["resolve_due_date"] == "2026-10-13"
        consumer = AIOKafkaConsumer(topic_name(SLA_CLOCKS, topic_prefix), bootstrap_servers=kafka_bootstrap,
                                    auto_offset_reset="earliest", group_id=f"check-{uuid.uuid4().hex[:6]}")
        await consumer.start()
        seen: list[str] = []
        try:
            async def got_both() -> bool:
                batch = await consumer.getmany(timeout_ms=200)
                for recs in batch.values():
                    seen.extend(r.value.decode() for r in recs)
                return sum('"ClockStarted"' in v for v in seen) >= 1 and sum('"AlertRaised"' in v for v in seen) >= 1
            await eventually(got_both)
        finally:
            await consumer.stop()
        assert sum('"ClockStarted"' in v for v in seen) == 1
