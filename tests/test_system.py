"""Cross-service tests with the four services as real processes: the flow, and kill -9 in mid-stream."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bancheng_services.bench import drive
from bancheng_services.stack import Stack
from bancheng_services.testing import (
    auth,
    eventually,
    postgres_template,
    running_system,
)

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
async def system(db_backend: str, tmp_path: Path, kafka_bootstrap: str) -> AsyncIterator[Stack]:
    """The four services as processes on fresh databases and fresh topics."""
    template = postgres_template("sys") if db_backend == "postgresql" else ""
    async with running_system(kafka_bootstrap, tmp_path, template, topic_prefix=f"s{uuid.uuid4().hex[:8]}.",
                              ready_timeout_s=60) as stack:
        yield stack


CONTENTS = [
    "东湖区城关街道一家超市卖过期食品，商家拒绝退款",
    "小区已经停电两天了，一直没人来修",
    "工地晚上十二点还在施工，噪音很大影响休息",
    "公司拖欠三个月工资不发，老板联系不上",
    "孩子入学报名系统一直打不开，学位怎么申请",
]


def region_of(i: int) -> str:
    """Distinct matters: each (text, street) pair once, so no request is a repeat (并单) of another."""
    street = (i // len(CONTENTS)) % 24
    return f"3399{1 + street // 4:02d}{1 + street % 4:03d}"


async def post_ticket(client: httpx.AsyncClient, url: str, i: int, key: str | None = None,
                      complainant: dict | None = None) -> str:
    body = {"channel": "hotline", "content": CONTENTS[i % len(CONTENTS)], "location": {"region_code": region_of(i)},
            **({"complainant": complainant} if complainant else {})}
    for _attempt in range(20):
        try:
            r = await client.post(f"{url}/v1/tickets", headers={**auth("operator"), "Idempotency-Key": key or f"k-{i}"},
                                  json=body)
            if r.status_code in (200, 201):
                return str(r.json()["ticket_no"])
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.2)
    raise AssertionError(f"ticket {i} could not be registered")


async def timeline_of(client: httpx.AsyncClient, stack: Stack, ticket_no: str) -> dict:
    r = await client.get(f"{stack.procs['intake'].url}/v1/tickets/{ticket_no}", headers=auth("operator"))
    return r.json() if r.status_code == 200 else {}


async def test_a_ticket_goes_from_intake_to_a_dispatched_work_order_with_a_deadline_and_a_count(
    system: Stack,
) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        ticket_no = await post_ticket(client, system.procs["intake"].url, 0)

        async def done() -> dict | None:
            t = await timeline_of(client, system, ticket_no)
            return t if t.get("deadline") else None

        t = await eventually(done, timeout_s=30)
        assert t["unit"].endswith("market_regulation")
        r = await client.get(f"{system.procs['triage'].url}/v1/work-orders/{ticket_no}", headers=auth("work_team"))
        assert r.status_code == 200 and r.json()["lead_unit"] == t["unit"]
        r = await client.get(f"{system.procs['sla'].url}/v1/clocks/{ticket_no}", headers=auth("work_team"))
        assert r.status_code == 200

        async def counted() -> bool:
            r = await client.get(f"{system.procs['oversight'].url}/v1/stats/units", headers=auth("leader"),
                                 params={"from": "2000-01-01", "to": "2100-01-01", "unit": t["unit"]})
            rows = r.json()
            return bool(rows) and rows[0].get("dispatched") == 1

        await eventually(counted, timeout_s=30)


async def test_kill_9_in_mid_stream_loses_nothing_and_doubles_nothing(system: Stack) -> None:
    n = 120
    intake_url = system.procs["intake"].url
    async with httpx.AsyncClient(timeout=10) as client:
        sem = asyncio.Semaphore(8)

        async def one(i: int) -> str:
            async with sem:
                return await post_ticket(client, intake_url, i)

        posting = [asyncio.create_task(one(i)) for i in range(n)]
        await asyncio.sleep(0.5)
        system.kill("triage")  # kill -9 while tickets stream in
        await asyncio.sleep(1.0)
        system.start("triage")
        await asyncio.sleep(1.0)
        system.kill("sla")
        await asyncio.sleep(0.5)
        system.start("sla")
        ticket_nos = await asyncio.gather(*posting)
        assert len(set(ticket_nos)) == n
        await system.wait_ready(["triage", "sla"])

        async def all_dispatched_with_clock() -> bool:
            results = await asyncio.gather(*(timeline_of(client, system, t) for t in ticket_nos))
            return all(t.get("deadline") for t in results)

        await eventually(all_dispatched_with_clock, timeout_s=120, interval_s=1.0)
        timelines = await asyncio.gather(*(timeline_of(client, system, t) for t in ticket_nos))

    for t in timelines:
        events = [s["event"] for s in t["timeline"]]
        assert events.count("TicketReceived") == 1, t["ticket_no"]
        assert events.count("TicketDispatched") == 1, (t["ticket_no"], events)
        assert events.count("ClockStarted") == 1, (t["ticket_no"], events)
    async with httpx.AsyncClient(timeout=10) as client:
        for t in timelines[:: max(1, n // 20)]:
            r = await client.get(f"{system.procs['sla'].url}/v1/clocks/{t['ticket_no']}", headers=auth("work_team"))
            assert r.status_code == 200 and len(r.json()["rounds"]) == 1

        async def dispatched_total() -> int:
            r = await client.get(f"{system.procs['oversight'].url}/v1/stats/units", headers=auth("leader"),
                                 params={"from": "2000-01-01", "to": "2100-01-01"})
            return sum(int(row.get("dispatched") or 0) for row in r.json())

        await eventually(lambda: _equals(dispatched_total(), n), timeout_s=30)
        # every TicketDispatched on the broker (copies a killed relay sent twice included) went through oversight's
        # consumer: anything in flight that could double a count has arrived
        on_topic = await dispatched_on_topic(system)
        assert on_topic >= n

        async def oversight_saw_them_all() -> bool:
            return await seen_by(client, system, "oversight", "TicketDispatched") >= on_topic

        await eventually(oversight_saw_them_all, timeout_s=30)
        assert await dispatched_total() == n


async def test_intake_killed_mid_stream_answers_every_retry_with_the_original_ticket(system: Stack) -> None:
    """Callers whose request was cut off by a kill -9 retry with the same Idempotency-Key after the restart: each
    gets the ticket its first try made (read back with the persistent key ring), none is made twice."""
    n = 60
    intake_url = system.procs["intake"].url
    first: dict[int, str] = {}
    a_third_answered = asyncio.Event()

    async def once(client: httpx.AsyncClient, i: int) -> None:
        try:
            r = await client.post(f"{intake_url}/v1/tickets",
                                  headers={**auth("operator"), "Idempotency-Key": f"cut-{i}"},
                                  json={"channel": "hotline", "content": CONTENTS[i % len(CONTENTS)],
                                        "complainant": {"name": "张先生", "phone": f"139{i:08d}"},
                                        "location": {"region_code": region_of(i)}})
            if r.status_code in (200, 201):
                first[i] = str(r.json()["ticket_no"])
                if len(first) >= n // 3:
                    a_third_answered.set()
        except httpx.HTTPError:
            pass  # cut off: the caller does not know whether it was registered

    async with httpx.AsyncClient(timeout=10) as client:
        sem = asyncio.Semaphore(8)

        async def paced(i: int) -> None:
            async with sem:
                await once(client, i)

        posting = [asyncio.create_task(paced(i)) for i in range(n)]
        await a_third_answered.wait()
        system.kill("intake")  # kill -9 with requests in flight
        await asyncio.gather(*posting)
        system.start("intake")
        await system.wait_ready(["intake"])
        again = {i: await post_ticket(client, intake_url, i, key=f"cut-{i}",
                                      complainant={"name": "张先生", "phone": f"139{i:08d}"}) for i in range(n)}
        assert {i: again[i] for i in first} == first  # the original answer, decrypted after the restart
        assert len(set(again.values())) == n  # one ticket per request, none twice
        for i in list(first)[:5]:  # the complainant's data reads back after the restart
            r = await client.get(f"{intake_url}/v1/tickets/{first[i]}", headers=auth("operator"))
            assert r.status_code == 200 and r.json()["complainant"]["phone"] == f"139{i:08d}"


async def dispatched_on_topic(stack: Stack) -> int:
    """TicketDispatched records on triage's topic, from the start (no consumer group)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    topic = f"{stack.topic_prefix}triage.work-orders"
    consumer = AIOKafkaConsumer(bootstrap_servers=stack.kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        parts = consumer.partitions_for_topic(topic)
        if not parts:
            await consumer._client.force_metadata_update()
            parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        n, idle = 0, 0
        while idle < 3:  # three empty polls in a row: the end
            batch = await consumer.getmany(timeout_ms=300)
            idle = 0 if batch else idle + 1
            n += sum(1 for recs in batch.values() for r in recs if dict(r.headers).get("type") == b"TicketDispatched")
        return n
    finally:
        await consumer.stop()


async def seen_by(client: httpx.AsyncClient, stack: Stack, name: str, event_type: str) -> int:
    """Events of a type a service's consumer handled or dropped as copies (its Prometheus counters)."""
    text = (await client.get(f"{stack.procs[name].url}/metrics")).text
    total = 0.0
    for line in text.splitlines():
        if line.startswith(("bancheng_events_consumed_total{", "bancheng_events_duplicate_total{")) and \
                f'type="{event_type}"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return int(total)


async def _equals(awaitable, value) -> bool:
    return (await awaitable) == value


@pytest.mark.parametrize("batch", [1, 10])
async def test_the_benchmark_drive_measures_every_ticket_end_to_end(system: Stack, batch: int) -> None:
    # the benchmark's own drive, small: every accepted ticket is followed to its clock through the broker
    figures = await drive(system, 30, 4, batch=batch, headers=auth("operator"))
    assert figures["accept_errors"] == 0 and figures["e2e_completed"] == 30
    assert figures["accept_tickets_per_s"] > 0 and figures["e2e_tickets_per_s"] > 0
    assert 0 < figures["e2e_lag_p50_s"] <= figures["e2e_lag_p95_s"] <= figures["e2e_lag_max_s"] < 60


async def test_a_service_whose_port_was_taken_before_its_bind_starts_on_another(tmp_path: Path,
                                                                               kafka_bootstrap: str) -> None:
    import socket

    from bancheng_services.broker import free_port
    from bancheng_services.stack import SERVICES
    from bancheng_services.testing import SYSTEM_ENV

    with socket.socket() as taken:  # what an outgoing connection can do to a port between free_port() and the bind
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        stack = Stack(kafka_bootstrap=kafka_bootstrap, data_dir=tmp_path, topic_prefix=f"p{uuid.uuid4().hex[:8]}.",
                      partitions=1, ports={name: port if name == "sla" else free_port() for name in SERVICES},
                      extra_env=SYSTEM_ENV)
        await stack.prepare()
        try:
            stack.start("sla")
            await stack.wait_ready(["sla"], timeout_s=60)
            assert stack.procs["sla"].restarts == 1 and stack.procs["sla"].port != port
        finally:
            stack.stop()
