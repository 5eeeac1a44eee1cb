"""The broker comes back empty under the running stack: the relays send again only what some consumer group had not
committed past, and every ticket still reaches every service exactly once."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from bancheng_services.bench import ticket_body
from bancheng_services.broker import EmbeddedBroker
from bancheng_services.recovery import views_of, wait_confirmed, wait_settled
from bancheng_services.stack import SERVICES, Stack
from bancheng_services.testing import (
    auth,
    eventually,
    postgres_template,
    running_system,
)
from bancheng_shared.topics import READERS

pytestmark = pytest.mark.timeout(420)


def test_the_readers_each_relay_waits_for_are_the_consumer_groups_the_services_declare(tmp_path: Path) -> None:
    declared: dict[str, set[str]] = {}
    for name, spec in SERVICES.items():
        main = importlib.import_module(f"{spec['module']}.main")
        settings_mod = importlib.import_module(f"{spec['module']}.settings")
        cls = next(getattr(settings_mod, n) for n in dir(settings_mod)
                   if n.endswith("Settings") and n != "ServiceSettings")
        extra = {"pii_ephemeral_key_allowed": True} if name == "intake" else {}
        app = main.create_app(cls(database_url=f"sqlite+aiosqlite:///{tmp_path / name}.db", **extra))
        for consumer in app.state.runtime.consumers:
            for topic in consumer.base_topics:
                declared.setdefault(topic, set()).add(consumer.group_id)
    assert declared == {topic: set(groups) for topic, groups in READERS.items()}


@pytest.fixture
async def stack_on_own_broker(db_backend: str, tmp_path: Path) -> AsyncIterator[tuple[Stack, EmbeddedBroker]]:
    """The four services as processes on a broker of their own (the test wipes it), confirming every second."""
    broker = EmbeddedBroker()
    broker.start()
    template = postgres_template("rec") if db_backend == "postgresql" else ""
    try:
        async with running_system(broker.bootstrap, tmp_path, template, topic_prefix="r.",
                                  extra_env={"{P}BROKER_EPOCH_CHECK_S": "1",
                                             "{P}OUTBOX_CONFIRM_INTERVAL_S": "1"}) as stack:
            yield stack, broker
    finally:
        broker.stop()


async def post_tickets(client: httpx.AsyncClient, stack: Stack, numbers: range) -> list[str]:
    """Register tickets (8 at a time); their ticket numbers."""
    sem = asyncio.Semaphore(8)

    async def one(i: int) -> str:
        async with sem:
            r = await client.post(f"{stack.procs['intake'].url}/v1/tickets", json=ticket_body(i),
                                  headers={**auth("operator"), "Idempotency-Key": f"rec-{i}"})
            assert r.status_code in (200, 201), r.text
            return str(r.json()["ticket_no"])

    return list(await asyncio.gather(*(one(i) for i in numbers)))


async def timelines(client: httpx.AsyncClient, stack: Stack, ticket_nos: list[str]) -> list[dict]:
    """Each ticket as intake shows it (its timeline of events from every service)."""
    url = stack.procs["intake"].url
    got = await asyncio.gather(*(client.get(f"{url}/v1/tickets/{t}", headers=auth("operator")) for t in ticket_nos))
    return [r.json() if r.status_code == 200 else {} for r in got]


async def all_with_clock(client: httpx.AsyncClient, stack: Stack, ticket_nos: list[str]) -> bool:
    """Every ticket dispatched with its clock started (triage and sla have handled it)."""
    return all(t.get("deadline") for t in await timelines(client, stack, ticket_nos))


async def dispatched_in_oversight(client: httpx.AsyncClient, stack: Stack) -> int:
    """Dispatches oversight has counted."""
    r = await client.get(f"{stack.procs['oversight'].url}/v1/stats/units", headers=auth("leader"),
                         params={"from": "2000-01-01", "to": "2100-01-01"})
    return sum(int(row.get("dispatched") or 0) for row in r.json())


async def test_an_empty_broker_gets_only_the_unconfirmed_events_and_every_ticket_reaches_every_service_once(
    stack_on_own_broker: tuple[Stack, EmbeddedBroker],
) -> None:
    stack, broker = stack_on_own_broker
    n, m = 200, 30
    async with httpx.AsyncClient(timeout=15) as client:
        first = await post_tickets(client, stack, range(n))
        await eventually(lambda: all_with_clock(client, stack, first), timeout_s=180, interval_s=1.0)
        await wait_confirmed(stack)  # every relay has stored that all readers committed past all of it
        stack.kill("oversight")  # oversight's group stops: its committed offsets still count
        later = await post_tickets(client, stack, range(n, n + m))
        await eventually(lambda: all_with_clock(client, stack, later), timeout_s=120, interval_s=1.0)
        before = await views_of(stack)
        retained = sum(v.rows for v in before.values())

        wiped = datetime.now(UTC)
        broker.restart()  # memory only: topics, records and committed offsets are gone
        stack.start("oversight")
        views = await wait_settled(stack, {name: v.generation + 1 for name, v in before.items()}, wiped,
                                   timeout_s=240)
        republished = {name: v.republished for name, v in views.items()}
        # oversight had not seen the later tickets' events: those (on the topics it reads) were sent again, and
        # little else; the first tickets' events, confirmed by every group, were not
        assert 0 < sum(republished.values()) < retained // 3, (republished, retained)
        assert republished["intake"] >= m and republished["triage"] >= m and republished["sla"] >= m, republished

        tickets = await timelines(client, stack, first + later)
        for t in tickets:
            events = [s["event"] for s in t["timeline"]]
            assert events.count("TicketReceived") == 1, t["ticket_no"]
            assert events.count("TicketDispatched") == 1, (t["ticket_no"], events)
            assert events.count("ClockStarted") == 1, (t["ticket_no"], events)
        await eventually(lambda: _equals(dispatched_in_oversight(client, stack), n + m), timeout_s=60)
        for t in (first + later)[:: max(1, (n + m) // 25)]:
            r = await client.get(f"{stack.procs['sla'].url}/v1/clocks/{t}", headers=auth("work_team"))
            assert r.status_code == 200 and len(r.json()["rounds"]) == 1


async def _equals(awaitable, value) -> bool:
    return (await awaitable) == value
