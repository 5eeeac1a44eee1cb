"""The backup and restore drill of deploy/README.md section 6, for real on PostgreSQL: a stack with its own
embedded broker takes a stream of tickets; each of the four databases is dumped with pg_dump -Fc, dropped,
created again and restored with pg_restore; the broker comes back empty; the services restart. Every ticket is
then in every service exactly once, and new tickets still flow."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from bancheng_services.broker import EmbeddedBroker
from bancheng_services.stack import SERVICES, Stack, drop_postgres_database, ensure_postgres_database
from bancheng_services.testing import (
    auth,
    eventually,
    postgres_base_url,
    postgres_template,
    running_system,
)
from bancheng_shared.db import make_engine
from bancheng_shared.kafka import ensure_topics
from bancheng_shared.topics import all_broker_topics

pytestmark = pytest.mark.timeout(240)

# one row per ticket in each service's own store
PER_TICKET = {"intake": "tickets", "triage": "work_orders", "sla": "clocks", "oversight": "tickets"}


def _require_postgres() -> str:
    base = postgres_base_url()
    missing = "PostgreSQL unreachable at TEST_DATABASE_URL / 127.0.0.1:5432" if base is None else \
        "pg_dump / pg_restore not installed" if not (shutil.which("pg_dump") and shutil.which("pg_restore")) else ""
    if missing:
        if os.environ.get("BANCHENG_REQUIRE_POSTGRES"):
            pytest.fail(f"PostgreSQL is required (BANCHENG_REQUIRE_POSTGRES): {missing}")
        pytest.skip(missing)
    assert base is not None
    return base


def libpq(url: str) -> str:
    """The libpq URI of a SQLAlchemy URL (what pg_dump and pg_restore take)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
async def drill(tmp_path: Path) -> AsyncIterator[tuple[Stack, EmbeddedBroker]]:
    """The four services as processes on fresh PostgreSQL databases, with a broker of their own."""
    _require_postgres()
    broker = EmbeddedBroker()
    broker.start()
    try:
        async with running_system(broker.bootstrap, tmp_path, postgres_template("drill"), ready_timeout_s=60,
                                  extra_env={"{P}BROKER_EPOCH_CHECK_S": "1", "{P}OPS_METRICS_CACHE_S": "0"}) as stack:
            yield stack, broker
    finally:
        broker.stop()


async def post_ticket(client: httpx.AsyncClient, url: str, i: int) -> str:
    body = {"channel": "hotline", "content": f"第{i}号楼下水道堵塞，污水漫到路面上，已经三天了",
            "location": {"region_code": f"3399{1 + i % 6:02d}{1 + i % 4:03d}"}}
    for _ in range(20):
        try:
            r = await client.post(f"{url}/v1/tickets", json=body,
                                  headers={**auth("operator"), "Idempotency-Key": f"drill-{i}"})
            if r.status_code in (200, 201):
                return str(r.json()["ticket_no"])
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.2)
    raise AssertionError(f"ticket {i} could not be registered")


async def stream(client: httpx.AsyncClient, stack: Stack, numbers: range) -> list[str]:
    sem = asyncio.Semaphore(8)

    async def one(i: int) -> str:
        async with sem:
            return await post_ticket(client, stack.procs["intake"].url, i)

    return list(await asyncio.gather(*(one(i) for i in numbers)))


async def settled(client: httpx.AsyncClient, stack: Stack, tickets: list[str]) -> None:
    """Every ticket dispatched with a clock and counted, every outbox published and every consumer caught up."""
    async def flowed() -> bool:
        for t in tickets:
            r = await client.get(f"{stack.procs['intake'].url}/v1/tickets/{t}", headers=auth("operator"))
            if r.status_code != 200 or not r.json().get("deadline"):
                return False
        r = await client.get(f"{stack.procs['oversight'].url}/v1/stats/units", headers=auth("leader"),
                             params={"from": "2000-01-01", "to": "2100-01-01"})
        return sum(int(row.get("dispatched") or 0) for row in r.json()) == len(tickets)

    await eventually(flowed, timeout_s=60, interval_s=0.5)

    async def quiet() -> bool:
        for name in SERVICES:
            samples = [s for f in text_string_to_metric_families(
                (await client.get(f"{stack.procs[name].url}/metrics")).text) for s in f.samples]
            unsent = [s.value for s in samples if s.name == "bancheng_outbox_unsent"]
            lags = [s.value for s in samples if s.name == "bancheng_consumer_lag"]
            assert not any(s.value for s in samples if s.name == "bancheng_ops_metrics_errors_total"), name
            if unsent != [0] or not lags or any(lags):
                return False
        return True

    await eventually(quiet, timeout_s=60, interval_s=0.5)


async def rows_per_ticket(stack: Stack, tickets: list[str]) -> dict[str, dict[str, int]]:
    """How many rows each service's store holds per ticket (its own table of tickets)."""
    out: dict[str, dict[str, int]] = {}
    for name, table in PER_TICKET.items():
        engine = make_engine(stack.db_url(name))
        try:
            async with engine.connect() as conn:
                col = text("ticket_no")
                rows = (await conn.execute(select(col, func.count()).select_from(text(table)).group_by(col))).all()
        finally:
            await engine.dispose()
        out[name] = {t: n for t, n in rows}
    return out


async def republished(client: httpx.AsyncClient, stack: Stack) -> dict[str, float]:
    """Outbox rows each relay published again after finding the broker empty (its Prometheus counter)."""
    out: dict[str, float] = {}
    for name in SERVICES:
        families = text_string_to_metric_families((await client.get(f"{stack.procs[name].url}/metrics")).text)
        out[name] = sum(s.value for f in families for s in f.samples if s.name == "bancheng_outbox_republished_total")
    return out


def run(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True, timeout=60)


def phase(started: float, what: str) -> None:
    print(f"drill {time.monotonic() - started:6.1f}s {what}")  # shown with -s: where the drill's time goes


async def test_dump_wipe_restore_with_an_empty_broker_loses_nothing_and_doubles_nothing(
        drill: tuple[Stack, EmbeddedBroker], tmp_path: Path) -> None:
    stack, broker = drill
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=10) as client:
        tickets = await stream(client, stack, range(40))
        await settled(client, stack, tickets)
        phase(started, "settled")
        before = await rows_per_ticket(stack, tickets)
        for name in SERVICES:
            assert {t: before[name].get(t) for t in tickets} == dict.fromkeys(tickets, 1), name

        # the runbook (deploy/README.md section 6): dump each database, custom format
        dumps = {name: tmp_path / f"bancheng-{name}.dump" for name in SERVICES}
        for name, path in dumps.items():
            run("pg_dump", "-Fc", "-f", str(path), "-d", libpq(stack.db_url(name)))
        # the disaster: services, databases and broker gone
        stack.stop()
        for name in SERVICES:
            await drop_postgres_database(stack.db_url(name))
        broker.restart()  # memory only: it comes back empty
        phase(started, "dumped, wiped")
        # the restore: empty databases, pg_restore, topics, services
        for name, path in dumps.items():
            await ensure_postgres_database(stack.db_url(name))
            run("pg_restore", "--exit-on-error", "--no-owner", "-d", libpq(stack.db_url(name)), str(path))
        await ensure_topics(stack.kafka_bootstrap, all_broker_topics(stack.topic_prefix), stack.partitions)
        stack.start_all()
        await stack.wait_ready(timeout_s=60)

        phase(started, "restored, ready")
        # new tickets flow through the restored stack, after whatever the relays republished
        more = await stream(client, stack, range(40, 50))
        await settled(client, stack, tickets + more)
        phase(started, "settled again; republished " + str(await republished(client, stack)))
        after = await rows_per_ticket(stack, tickets + more)
        for name in SERVICES:
            assert {t: after[name].get(t) for t in tickets + more} == dict.fromkeys(tickets + more, 1), name
        for t in tickets[::8] + more[::4]:  # the timeline: each step once, none lost, none twice
            r = await client.get(f"{stack.procs['intake'].url}/v1/tickets/{t}", headers=auth("operator"))
            steps = [s["event"] for s in r.json()["timeline"]]
            assert [steps.count(e) for e in ("TicketReceived", "TicketDispatched", "ClockStarted")] == [1, 1, 1], steps
