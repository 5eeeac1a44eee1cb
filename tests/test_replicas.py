"""Two replicas of every service on PostgreSQL and the broker; kill -9 one replica of each in turn mid-stream.

Every ticket exactly once in every service; no SMS, callback or alert sent twice; the relay lock, the consumers
and sla's timers fail over to the replica that is left.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bancheng_services.broker import free_port
from bancheng_services.stack import SERVICES, Stack
from bancheng_services.testing import (
    auth,
    eventually,
    metric,
    postgres_base_url,
    postgres_template,
    running_system,
)

pytestmark = pytest.mark.timeout(420)

N = 120
CONTENTS = [
    "东湖区城关街道一家超市卖过期食品，商家拒绝退款，打了几次电话都说不归他们管",
    "小区已经停电两天了，一直没人来修，家里老人要用制氧机，希望尽快处理",
    "工地晚上十二点还在施工，噪音很大影响休息，孩子第二天还要上学",
    "公司拖欠三个月工资不发，老板联系不上，十几个工人都在等这笔钱过年",
    "孩子入学报名系统一直打不开，学位怎么申请，报名截止日期快到了",
]


class Recorder:
    """The world outside: an SMS gateway and a platform's callback endpoint, recording every copy that reaches them
    with its key (`Idempotency-Key`, `webhook-id`) and when it came."""

    def __init__(self) -> None:
        self.sms: list[dict[str, Any]] = []
        self.sms_keys: list[tuple[float, str]] = []
        self.callbacks: list[tuple[str, dict[str, Any]]] = []
        self.callback_times: list[float] = []
        self.port = free_port()
        self.server: uvicorn.Server | None = None
        self.task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        """Base URL."""
        return f"http://127.0.0.1:{self.port}"

    async def _sms(self, request: Request) -> JSONResponse:
        self.sms.append(await request.json())
        self.sms_keys.append((time.monotonic(), request.headers.get("idempotency-key", "")))
        return JSONResponse({"ok": True})

    async def _hook(self, request: Request) -> JSONResponse:
        self.callbacks.append((request.headers.get("webhook-id", ""), json.loads(await request.body())))
        self.callback_times.append(time.monotonic())
        return JSONResponse({"ok": True})

    def copies_sent_again(self, kind: str) -> dict[str, list[float]]:
        """The keys that came more than once, each with when its copies came."""
        seen = self.sms_keys if kind == "sms" else list(zip(self.callback_times,
                                                             (wid for wid, _ in self.callbacks), strict=True))
        at: dict[str, list[float]] = {}
        for when, key in seen:
            at.setdefault(key, []).append(when)
        return {key: times for key, times in at.items() if len(times) > 1}

    async def start(self) -> None:
        """Serve on a free port in this loop."""
        app = Starlette(routes=[Route("/sms", self._sms, methods=["POST"]),
                                Route("/hook", self._hook, methods=["POST"])])
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    lifespan="off"))
        self.task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            if self.task.done():
                self.task.result()
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        """Stop serving."""
        if self.server is not None and self.task is not None:
            self.server.should_exit = True
            await self.task


@pytest.fixture
async def recorder() -> AsyncIterator[Recorder]:
    """A recording SMS gateway and callback endpoint."""
    r = Recorder()
    await r.start()
    try:
        yield r
    finally:
        await r.stop()


@pytest.fixture
async def replicated(tmp_path: Path, kafka_bootstrap: str, recorder: Recorder) -> AsyncIterator[Stack]:
    """Two processes of each service on one PostgreSQL database per service."""
    if postgres_base_url() is None:
        if os.environ.get("BANCHENG_REQUIRE_POSTGRES"):
            pytest.fail("PostgreSQL is required (BANCHENG_REQUIRE_POSTGRES) but 127.0.0.1:5432 is unreachable")
        pytest.skip("replicas share a database: PostgreSQL unreachable at TEST_DATABASE_URL / 127.0.0.1:5432")
    async with running_system(
        kafka_bootstrap, tmp_path, postgres_template("rep"), topic_prefix=f"r{uuid.uuid4().hex[:8]}.",
        partitions=4, replicas=2, ready_timeout_s=180,
        extra_env={"{P}SIMULATED_TIME_ALLOWED": "true", "{P}OPS_METRICS_CACHE_S": "0",
                   "INTAKE_SMS_GATEWAY_URL": f"{recorder.url}/sms", "INTAKE_SMS_POLL_S": "0.2",
                   "INTAKE_SMS_BACKOFF_BASE_S": "0.5",
                   "INTAKE_CALLBACK_POLL_S": "0.2", "INTAKE_CALLBACK_ALLOW_HTTP": "true",
                   "INTAKE_CALLBACK_ALLOWED_TARGETS": '["127.0.0.1"]', "INTAKE_CALLBACK_BACKOFF_BASE_S": "0.5"},
    ) as stack:
        yield stack


async def post_ticket(client: httpx.AsyncClient, urls: list[str], i: int) -> str:
    """Register one ticket at one of intake's replicas; a caller cut off retries (same key) at the other."""
    body = {"channel": "hotline", "content": CONTENTS[i % len(CONTENTS)],
            "location": {"region_code": f"3399{1 + (i // 5) % 6:02d}{1 + (i // 30) % 4:03d}",
                         "address": f"幸福路{i}号"},
            "complainant": {"name": f"市民{i}", "phone": f"139{i:08d}"}}
    for attempt in range(30):
        url = urls[(i + attempt) % len(urls)]
        try:
            r = await client.post(f"{url}/v1/tickets", json=body,
                                  headers={**auth("operator"), "Idempotency-Key": f"rep-{i}"})
            if r.status_code in (200, 201):
                return str(r.json()["ticket_no"])
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.2)
    raise AssertionError(f"ticket {i} could not be registered at any replica")


async def scalar_rows(url: str, sql: str) -> list[Any]:
    """Rows of a query on one service's database (the test reads what the services stored)."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(text(sql))).all())
    finally:
        await engine.dispose()


async def test_two_replicas_of_every_service_lose_nothing_and_double_nothing_when_one_of_each_is_killed(
    replicated: Stack, recorder: Recorder,
) -> None:
    stack = replicated
    async with httpx.AsyncClient(timeout=10) as client:
        r = await client.post(f"{stack.procs['intake'].url}/v1/subscriptions", headers=auth("admin"),
                              json={"name": "区平台 / district platform", "url": f"{recorder.url}/hook",
                                    "event_types": ["TicketDispatched"], "secret": "s" * 32})
        assert r.status_code == 201, r.text
        urls = [stack.procs["intake"].url, stack.procs["intake#2"].url]
        sem = asyncio.Semaphore(4)

        async def one(i: int) -> str:
            async with sem:
                return await post_ticket(client, urls, i)

        posting = [asyncio.create_task(one(i)) for i in range(N)]
        # one replica of each service killed in turn while tickets stream in (the first started, likely the relay's
        # leader) and started again, so that both replicas of a service work side by side most of the time
        intake_killed_at = 0.0
        for name in ("triage", "sla", "oversight", "intake"):
            await asyncio.sleep(1.5)
            stack.kill(name)
            if name == "intake":
                intake_killed_at = time.monotonic()
            await asyncio.sleep(1.5)
            stack.start(name)
        ticket_nos = await asyncio.gather(*posting)
        assert len(set(ticket_nos)) == N
        await stack.wait_ready(list(SERVICES), timeout_s=120)
        survivors = {name: stack.procs[f"{name}#2"].url for name in SERVICES}

        async def timeline(no: str) -> dict[str, Any]:
            r = await client.get(f"{survivors['intake']}/v1/tickets/{no}", headers=auth("operator"))
            return r.json() if r.status_code == 200 else {}

        async def all_with_clock() -> bool:
            return all(t.get("deadline") for t in await asyncio.gather(*(timeline(n) for n in ticket_nos)))

        await eventually(all_with_clock, timeout_s=180, interval_s=1.0)
        for t in await asyncio.gather(*(timeline(n) for n in ticket_nos)):
            events = [s["event"] for s in t["timeline"]]
            for once in ("TicketReceived", "TicketDispatched", "ClockStarted"):
                assert events.count(once) == 1, (t["ticket_no"], once, events)

        # each service holds each ticket once
        wanted = set(ticket_nos)
        work_orders = await scalar_rows(stack.db_url("triage"), "SELECT ticket_no FROM work_orders")
        assert Counter(r[0] for r in work_orders if r[0] in wanted) == Counter({n: 1 for n in wanted})
        clocks = await scalar_rows(stack.db_url("sla"), "SELECT ticket_no, round FROM clocks")
        assert Counter(r[0] for r in clocks if r[0] in wanted) == Counter({n: 1 for n in wanted})

        async def counted() -> int:
            r = await client.get(f"{survivors['oversight']}/v1/stats/units", headers=auth("leader"),
                                 params={"from": "2000-01-01", "to": "2100-01-01"})
            return sum(int(row.get("dispatched") or 0) for row in r.json())

        await eventually(lambda: _is(counted(), N), timeout_s=60, interval_s=1.0)

        # the 报到 SMS of every work order and the platform's callback of every dispatch: each exactly once
        def reported(no: str) -> list[dict[str, Any]]:
            return [m for m in recorder.sms if m.get("ticket_no") == no]

        async def all_texted() -> bool:
            return all(reported(n) for n in ticket_nos)

        await eventually(all_texted, timeout_s=90, interval_s=0.5)

        async def all_called_back() -> bool:
            got = {body.get("ticket_id") or body.get("data", {}).get("ticket_no") for _, body in recorder.callbacks}
            return wanted <= got

        await eventually(all_called_back, timeout_s=90, interval_s=0.5)

        # sla's timers, claimed by both replicas at once and then by the one left: a few working days on, every work
        # order nobody signed is warned about, once
        later = (await _now(client, survivors["sla"]) + timedelta(days=6)).isoformat()
        for name in ("sla", "sla#2"):
            r = await client.put(f"{stack.procs[name].url}/v1/clock", headers=auth("admin"), json={"now": later})
            assert r.status_code == 200, r.text
        await asyncio.sleep(0.3)
        stack.kill("sla")

        async def all_warned() -> bool:
            rows = await scalar_rows(stack.db_url("sla"),
                                     "SELECT ticket_no, level FROM alerts WHERE level <> 'reported'")
            return wanted <= {row[0] for row in rows}

        await eventually(all_warned, timeout_s=120, interval_s=1.0)
        # nothing left to send: every SMS and callback row is done, so whatever a doubled claim sent has arrived
        async def nothing_pending() -> bool:
            text_ = (await client.get(f"{survivors['intake']}/metrics")).text
            pending = [metric(text_, f"bancheng_intake_{what}_pending") for what in ("sms", "callbacks")]
            return pending == [0, 0]

        await eventually(nothing_pending, timeout_s=60, interval_s=0.5)

    alerts = await scalar_rows(stack.db_url("sla"), "SELECT ticket_no, round, level FROM alerts")
    doubled_alerts = [k for k, c in Counter(tuple(a) for a in alerts).items() if c > 1]
    assert doubled_alerts == []
    # SMS: one message per work order and text, one outbox key each; a receiver keeping the keys it has seen (as
    # the SMS gateway honours Idempotency-Key) gets each once
    keys_of: dict[tuple[Any, Any], set[str]] = {}
    for m, (_, key) in zip(recorder.sms, recorder.sms_keys, strict=True):
        keys_of.setdefault((m.get("ticket_no"), m.get("text")), set()).add(key)
    assert [k for k, keys in keys_of.items() if len(keys) > 1] == []
    # callbacks: one event id (`webhook-id`) per dispatched ticket, so a receiver doing what Standard Webhooks asks
    # (drop an id already seen) acts on each dispatch once
    ids_of: dict[Any, set[str]] = {}
    for wid, body in recorder.callbacks:
        ids_of.setdefault(body.get("ticket_id") or body.get("data", {}).get("ticket_no"), set()).add(wid)
    assert {no: len(ids) for no, ids in ids_of.items() if no in wanted} == {no: 1 for no in wanted}
    # a copy came twice only when the replica killed had sent it and was cut off before it recorded the answer
    # (deploy/README §"SMS and callbacks"): its first copy came before the kill, and no more than one claim's batch
    # (callbacks, sent together) or one message (SMS, sent one by one) was in flight then
    for kind, in_flight in (("callbacks", 50), ("sms", 1)):
        again = recorder.copies_sent_again(kind)
        assert len(again) <= in_flight, (kind, len(again))
        assert [k for k, times in again.items() if min(times) > intake_killed_at + 1.0] == [], kind


async def _now(client: httpx.AsyncClient, url: str) -> Any:
    from datetime import datetime

    r = await client.get(f"{url}/v1/clock", headers=auth("admin"))
    return datetime.fromisoformat(r.json()["now"])


async def _is(awaitable: Any, value: Any) -> bool:
    return bool((await awaitable) == value)
