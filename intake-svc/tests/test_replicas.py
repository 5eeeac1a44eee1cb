"""Two intake replicas on one PostgreSQL database, working at the same time: every SMS handed to the gateway once,
every callback delivered once, a killed replica's claims taken over when their lease expires, the lookup limiter
counting the tries made at both, and repeats of one matter arriving at both at the same moment merged into one
ticket. The SMS gateway and the callback receiver are local HTTP servers (external systems, not our broker or
database)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta
from typing import Any

import orjson
import pytest
from hooks_support import ALLOW_LOCAL, Receiver, service_settings
from intake_helpers import ticket
from sqlalchemy import func, insert, select

from bancheng_services.testing import Databases, RunningService, auth, eventually, run_service
from intake_svc import jobs
from intake_svc.adapters import sms as sms_store
from intake_svc.adapters.tables import deliveries, sms_outbox, tickets

# replicas share state only through a database both reach: PostgreSQL (skipped with a reason when unreachable;
# BANCHENG_REQUIRE_POSTGRES=1 makes it a failure)
pytestmark = pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)


@asynccontextmanager
async def replicas(databases: Databases, kafka_bootstrap: str, topic_prefix: str,
                   **extra: Any) -> AsyncIterator[tuple[RunningService, RunningService]]:
    """Two intake apps of one deployment: one database, one consumer group, one topic prefix."""
    url = await databases.new("intake")
    async with AsyncExitStack() as stack:
        pair = [await stack.enter_async_context(run_service(
            "intake", database_url=url, kafka_bootstrap=kafka_bootstrap, topic_prefix=topic_prefix,
            **service_settings(**{**ALLOW_LOCAL, **extra}))) for _ in range(2)]
        yield pair[0], pair[1]


async def _count(svc: RunningService, q: Any) -> int:
    async with svc.runtime.sm() as s:
        return int((await s.execute(q)).scalar_one())


async def test_every_sms_reaches_the_gateway_once_from_two_replicas(databases: Databases, kafka_bootstrap: str,
                                                                    topic_prefix: str) -> None:
    n = 60
    async with Receiver(fail_first=0) as gateway, \
            replicas(databases, kafka_bootstrap, topic_prefix, sms_gateway_url=gateway.url, sms_poll_s=0.02,
                     merge_enabled=False) as (one, two):
        made = await asyncio.gather(*(
            (one if i % 2 else two).client.post("/v1/tickets", json=ticket(f"第{i}号诉求：小区路灯不亮",
                                                                           f"1390000{i:04d}"),
                                                headers=auth("operator")) for i in range(n)))
        assert all(r.status_code == 201 for r in made), [r.text for r in made if r.status_code != 201][:1]

        async def all_sent() -> bool:
            return await _count(one, select(func.count()).select_from(sms_outbox)
                                .where(sms_outbox.c.status == "sent")) == n
        await eventually(all_sent, timeout_s=60)
        # more passes of both replicas find nothing left to send
        assert await jobs.SmsSender(one.runtime, one.app.state.intake).run_once() == 0
        assert await jobs.SmsSender(two.runtime, two.app.state.intake).run_once() == 0
        ids = Counter(orjson.loads(body)["id"] for _, body in gateway.received)
        assert len(ids) == n and set(ids.values()) == {1}, ids.most_common(3)
        keys = Counter(h["idempotency-key"] for h, _ in gateway.received)
        assert set(keys.values()) == {1}
        async with one.runtime.sm() as s:
            held = (await s.execute(select(func.count()).select_from(sms_outbox)
                                    .where(sms_outbox.c.claimed_by.is_not(None)))).scalar_one()
        assert held == 0  # every claim ended with the answer recorded


async def test_every_callback_is_delivered_once_from_two_replicas(databases: Databases, kafka_bootstrap: str,
                                                                  topic_prefix: str) -> None:
    n = 40
    async with Receiver(fail_first=0) as rx, \
            replicas(databases, kafka_bootstrap, topic_prefix, merge_enabled=False) as (one, two):
        sub = await one.client.post("/v1/subscriptions", json={
            "name": "province", "url": rx.url, "event_types": ["TicketReceived"], "secret": "sub-secret-0123456789"},
            headers=auth("operator"))
        assert sub.status_code == 201, sub.text
        made = await asyncio.gather(*((one if i % 2 else two).client.post(
            "/v1/tickets", json={"channel": "web", "content": f"网站留言{i}：道路破损"}, headers=auth("operator"))
            for i in range(n)))
        assert all(r.status_code == 201 for r in made)

        async def all_delivered() -> bool:
            return await _count(one, select(func.count()).select_from(deliveries)
                                .where(deliveries.c.status == "delivered")) == n
        await eventually(all_delivered, timeout_s=60)
        events = Counter(h["x-bancheng-event-id"] for h, _ in rx.received)
        assert len(events) == n and set(events.values()) == {1}, events.most_common(3)


async def test_a_killed_replicas_claims_are_taken_over_once_their_lease_expired(
        databases: Databases, kafka_bootstrap: str, topic_prefix: str) -> None:
    # no gateway configured: no sender loop runs, the test's sender alone works on the rows
    async with Receiver(fail_first=0) as gateway, replicas(databases, kafka_bootstrap, topic_prefix) as (one, _two):
        ctx = one.app.state.intake
        ctx.sms = sms_store.HttpSmsGateway(gateway.url)
        async with one.runtime.unit_of_work() as uow:
            now = uow.now()
            row = dict(kind="ticket_registered", ticket_no="T-1", unit_code=None, text="您的诉求已受理",
                       recipient_enc=ctx.vault.encrypt("13900001111", "phone"), recipient_masked="139****1111",
                       status="pending", attempts=0, created_at=now, claimed_by="killed-replica")
            await uow.session.execute(insert(sms_outbox), [
                {**row, "dedupe_key": "expired", "lease_until": now - timedelta(seconds=1)},
                {**row, "dedupe_key": "held", "lease_until": now + timedelta(hours=1)}])
        sender = jobs.SmsSender(one.runtime, ctx, me="survivor")
        assert await sender.run_once() == 1  # the expired lease is taken over; the one still held is left alone
        assert [orjson.loads(b)["to"] for _, b in gateway.received] == ["13900001111"]
        async with one.runtime.sm() as s:
            rows = {r.dedupe_key: r for r in (await s.execute(select(sms_outbox))).all()}
        assert rows["expired"].status == "sent" and rows["expired"].claimed_by is None
        assert rows["held"].status == "pending" and rows["held"].claimed_by == "killed-replica"
        # the dead replica's late answer cannot overwrite what the survivor recorded
        async with one.runtime.unit_of_work() as uow:
            assert not await sms_store.finish(uow.session, rows["expired"].id, "killed-replica",
                                                    {"status": "failed"})
        assert await sender.run_once() == 0


async def test_the_lookup_limiter_counts_the_tries_at_both_replicas(databases: Databases, kafka_bootstrap: str,
                                                                   topic_prefix: str) -> None:
    async with replicas(databases, kafka_bootstrap, topic_prefix) as (one, two):
        no = (await one.client.post("/v1/tickets", json=ticket("楼下餐馆油烟直排", "13700001234"),
                                    headers=auth("operator"))).json()["ticket_no"]
        answers = await asyncio.gather(*((one if i % 2 else two).client.get(
            f"/v1/public/tickets/{no}", params={"phone_last4": "0000"}) for i in range(60)))
        codes = Counter(a.status_code for a in answers)
        # 10 failures per address in all: a limiter per process would have let 20 through
        assert set(codes) <= {404, 429} and codes[404] <= 10 and codes[429] >= 50, codes
        for svc in (one, two):
            assert (await svc.client.get(f"/v1/public/tickets/{no}", params={"phone_last4": "1234"})).status_code == 429


async def test_repeats_arriving_at_both_replicas_at_once_make_one_ticket(databases: Databases, kafka_bootstrap: str,
                                                                         topic_prefix: str) -> None:
    # a long index refresh: a repeat must be found without waiting for the other replica's index to learn it
    async with replicas(databases, kafka_bootstrap, topic_prefix, merge_refresh_s=3600) as (one, two):
        people = 12
        same_person = [(one if k == 0 else two).client.post(
            "/v1/tickets", json=ticket(f"我家楼上第{i}户每晚装修噪音扰民，多次协调无果，请求处理", f"1381234{i:04d}"),
            headers=auth("operator")) for i in range(people) for k in range(2)]
        # different people at one exact place (a building), the same matter
        same_place = [(one if k % 2 else two).client.post(
            "/v1/tickets", json=ticket("东湖路88号3栋电梯停运三天无人维修，老人上下楼困难",
                                       f"1590000{k:04d}", address="东湖路88号3栋"), headers=auth("operator"))
            for k in range(6)]
        answers = await asyncio.gather(*same_person, *same_place)
        assert all(a.status_code == 201 for a in answers), [a.text for a in answers if a.status_code != 201][:1]
        created = Counter(a.json()["ticket_no"] for a in answers)
        assert len(created) == people + 1, created
        assert sorted(created.values()) == [2] * people + [6]
        assert sum(a.json()["merged"] for a in answers) == people + 5
        async with one.runtime.sm() as s:
            stored = (await s.execute(select(func.count()).select_from(tickets))).scalar_one()
        assert stored == people + 1
        # and one after the other, each at the replica that did not register the first
        first = await one.client.post("/v1/tickets", json=ticket("西岭街12号幢外墙瓷砖脱落砸坏车辆，存在安全隐患",
                                                                 "18600000001", address="西岭街12号幢"),
                                      headers=auth("operator"))
        second = await two.client.post("/v1/tickets", json=ticket("西岭街12号幢外墙瓷砖脱落砸坏车辆，存在安全隐患",
                                                                  "18600000002", address="西岭街12号幢"),
                                       headers=auth("operator"))
        assert second.json()["merged"] and second.json()["ticket_no"] == first.json()["ticket_no"]


async def test_a_large_batch_and_single_repeats_at_the_other_replica_make_one_ticket_each(
        databases: Databases, kafka_bootstrap: str, topic_prefix: str) -> None:
    async with replicas(databases, kafka_bootstrap, topic_prefix, merge_refresh_s=3600) as (one, two):
        items = [ticket(f"第{i}栋楼下水管爆裂，污水漫进单元门厅，已经两天没人来修", f"1370000{i:04d}")
                 for i in range(80)]
        # a batch of 80 people (more keys than one transaction locks one by one) and 8 of them again, alone
        batch, *singles = await asyncio.gather(
            two.client.post("/v1/tickets:batch", json={"items": items}, headers=auth("operator")),
            *(one.client.post("/v1/tickets", json=items[i * 10], headers=auth("operator")) for i in range(8)))
        assert batch.status_code in (200, 201) and all(a.status_code == 201 for a in singles), batch.text
        numbers = {t["ticket_no"] for t in batch.json()["items"]} | {a.json()["ticket_no"] for a in singles}
        assert len(numbers) == 80
        assert await _count(one, select(func.count()).select_from(tickets)) == 80
