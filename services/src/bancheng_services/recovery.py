"""Broker recovery, measured: what the relays send again after the broker comes back empty, and how long the
stack takes to settle (`bancheng bench --only recovery`; tests/test_broker_recovery.py uses the same waits).

Settled: every relay has seen the new broker (its database counts one more broker generation), no outbox row is
left unsent, and every consumer group that reads a topic has committed past the last record the relay put on
each of its partitions in that generation (the relay records where each row went, so the end of each partition
is known without asking the broker, whose "latest" offsets the embedded one gets wrong).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import func, select

from bancheng_services.stack import SERVICES, Stack, plumbing_of
from bancheng_shared.broker_epoch import CONFIRMED, GENERATION
from bancheng_shared.db import make_engine
from bancheng_shared.topics import READERS, SERVICE_TOPIC, topic_name


@dataclass
class OutboxView:
    """One service's outbox as the recovery figures need it."""

    rows: int = 0
    unsent: int = 0
    generation: int = 0
    sent_in: dict[int, int] = field(default_factory=dict)  # generation -> rows last sent in it
    republished: int = 0  # rows written before `written_before` and sent in the current generation
    ends: dict[int, int] = field(default_factory=dict)  # partition of the service's topic -> next offset
    confirmed: dict[int, int] = field(default_factory=dict)  # partition -> offset every reader committed past


async def outbox_view(stack: Stack, name: str, written_before: datetime | None = None) -> OutboxView:
    """Read a service's outbox and relay state (ends: of its topic, in the current generation)."""
    p = plumbing_of(SERVICES[name]["module"])
    o = p.outbox
    topic = SERVICE_TOPIC[f"{name}-svc"]
    engine = make_engine(stack.db_url(name))
    try:
        async with engine.connect() as conn:
            state = dict((await conn.execute(select(p.state.c.name, p.state.c.value))).all())
            view = OutboxView(generation=int(state.get(GENERATION) or 0))
            for gen, unsent, n in (await conn.execute(
                    select(o.c.sent_generation, o.c.sent_at.is_(None), func.count())
                    .group_by(o.c.sent_generation, o.c.sent_at.is_(None)))):
                view.rows += n
                if unsent:
                    view.unsent += n
                else:
                    view.sent_in[gen or 0] = view.sent_in.get(gen or 0, 0) + n
            view.ends = {int(part): int(last) + 1 for part, last in (await conn.execute(
                select(o.c.sent_partition, func.max(o.c.sent_offset))
                .where(o.c.topic == topic, o.c.sent_at.is_not(None), o.c.sent_generation == view.generation)
                .group_by(o.c.sent_partition)))}
            if written_before is not None:
                view.republished = int((await conn.execute(select(func.count()).select_from(o).where(
                    o.c.sent_at.is_not(None), o.c.sent_generation == view.generation,
                    o.c.created_at < written_before))).scalar_one())
            raw = orjson.loads(state[CONFIRMED]) if state.get(CONFIRMED) else {}
            if raw.get("generation") == view.generation:
                view.confirmed = {int(k): int(v) for k, v in raw.get("offsets", {}).get(topic, {}).items()}
            return view
    finally:
        await engine.dispose()


async def lagging_groups(stack: Stack, views: dict[str, OutboxView]) -> list[str]:
    """The reader groups that have not committed past every record the relays put on the broker."""
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.kafka_bootstrap, request_timeout_ms=10000)
    await admin.start()
    behind: list[str] = []
    try:
        for name, view in views.items():
            topic = topic_name(SERVICE_TOPIC[f"{name}-svc"], stack.topic_prefix)
            tps = [TopicPartition(topic, part) for part in view.ends]
            for group in READERS[SERVICE_TOPIC[f"{name}-svc"]] if tps else ():
                # a stack's processes name their groups after its topic prefix (Stack.env_for)
                got = await admin.list_consumer_group_offsets(f"{stack.topic_prefix}{group}", partitions=tps)
                if any(got[tp].offset < view.ends[tp.partition] for tp in tps):
                    behind.append(f"{group} on {topic}")
    finally:
        await admin.close()
    return behind


async def views_of(stack: Stack, written_before: datetime | None = None) -> dict[str, OutboxView]:
    """Every service's outbox view."""
    return {name: await outbox_view(stack, name, written_before) for name in SERVICES}


async def wait_confirmed(stack: Stack, timeout_s: float = 180) -> None:
    """Until every relay has stored that all readers committed past everything it sent."""
    deadline = time.monotonic() + timeout_s
    while True:
        views = await views_of(stack)
        if all(v.unsent == 0 and all(v.confirmed.get(p, 0) >= end for p, end in v.ends.items())
               for v in views.values()):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"the relays did not confirm everything within {timeout_s}s")
        await asyncio.sleep(0.5)


async def wait_settled(stack: Stack, generations: dict[str, int], written_before: datetime,
                       timeout_s: float = 600) -> dict[str, OutboxView]:
    """Until every relay is in its generation, has sent everything, and every reader group has caught up."""
    deadline = time.monotonic() + timeout_s
    while True:
        views = await views_of(stack, written_before)
        if all(v.generation == generations[n] and v.unsent == 0 for n, v in views.items()):
            if not await lagging_groups(stack, views):
                return views
        if time.monotonic() > deadline:
            raise TimeoutError(f"the stack did not settle within {timeout_s}s")
        await asyncio.sleep(0.5)


def run_recovery(args: argparse.Namespace, template: str | None = None) -> dict[str, Any]:
    """N tickets through a fresh stack; then the broker wiped under the running stack twice, over the same retained
    outbox: first with every retained row republished (the behaviour before), then, the services restarted with
    the other setting and the readers' offsets confirmed again, only the rows not confirmed. Returns, for both,
    the rows sent again and the seconds from the wipe until settled."""
    from bancheng_services.bench import drive, fresh_stack

    if args.kafka_bootstrap:
        return {"skipped": "needs the embedded broker: it is wiped"}
    with fresh_stack(args, "recovery", template) as (stack, broker):
        assert broker is not None
        figures: dict[str, Any] = {"tickets": args.tickets}
        for mode in ("all", "unconfirmed"):
            stack.extra_env["{P}BROKER_RECOVERY"] = mode
            stack.start_all()
            asyncio.run(stack.wait_ready(timeout_s=180))
            if mode == "all":
                figures["e2e_completed"] = asyncio.run(
                    drive(stack, args.tickets, args.concurrency, args.batch, rate=args.rate))["e2e_completed"]
            asyncio.run(wait_confirmed(stack))
            before = asyncio.run(views_of(stack))
            figures["retained_outbox_rows"] = sum(v.rows for v in before.values())
            start, wiped = time.perf_counter(), datetime.now(UTC)
            broker.restart()  # memory only: topics, records and committed offsets are gone
            views = asyncio.run(wait_settled(stack, {n: v.generation + 1 for n, v in before.items()}, wiped))
            figures[f"{mode}_settle_s"] = round(time.perf_counter() - start, 1)
            figures[f"{mode}_republished"] = sum(v.republished for v in views.values())
            stack.stop()
        return figures
