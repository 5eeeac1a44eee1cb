"""Replay benchmark: what each service's consumers cost per ticket, in process, on a recorded event stream.

`record` runs the whole stack once, drives N tickets through it and saves every event of every topic (JSON
lines). `replay` builds one service's app on a fresh SQLite file, without broker, relay or consumer loops, and
feeds the recorded records of the topics it consumes to its consumers' own `process` (the production code:
inbox, savepoints, handlers, outbox rows), batch by batch as the broker would hand them over. It reports the
CPU time per ticket and events per second: a figure that does not depend on the broker, on the other
services or on what else the machine is doing, so a change to a handler can be measured before and after.
"""

from __future__ import annotations

import asyncio
import base64
import importlib
import json
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from bancheng_services.stack import SERVICES, Stack, drop_postgres_database, ensure_postgres_database
from bancheng_shared.migrate import upgrade
from bancheng_shared.topics import ALL_TOPICS, topic_name

DEFAULT_RECORDING = Path(".bench") / "events.jsonl"


async def read_topics(stack: Stack, idle_s: float = 3.0) -> list[dict[str, Any]]:
    """Every record of the system's topics (from the earliest), until none arrives for idle_s."""
    names = {topic_name(t, stack.topic_prefix): t for t in ALL_TOPICS}
    consumer = AIOKafkaConsumer(*names, bootstrap_servers=stack.kafka_bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None)
    await consumer.start()
    out: list[dict[str, Any]] = []
    try:
        last = time.monotonic()
        while time.monotonic() - last < idle_s:
            batch = await consumer.getmany(timeout_ms=500, max_records=5000)
            for tp, recs in batch.items():
                for r in recs:
                    out.append({"topic": names[tp.topic], "partition": tp.partition, "offset": r.offset,
                                "key": (r.key or b"").decode(), "value": base64.b64encode(r.value or b"").decode()})
                last = time.monotonic()
    finally:
        await consumer.stop()
    return out


def save(records: list[dict[str, Any]], path: Path) -> None:
    """Write a recording (one JSON object per line)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")


def load(path: Path) -> list[dict[str, Any]]:
    """Read a recording."""
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def _settings(module: str, url: str) -> Any:
    mod = importlib.import_module(f"{module}.settings")
    cls = next(getattr(mod, n) for n in dir(mod) if n.endswith("Settings") and n != "ServiceSettings")
    # the replay's database is thrown away afterwards: a per-process PII key is enough (intake refuses to start
    # without a configured key otherwise)
    extra = {"pii_ephemeral_key_allowed": True} if module == "intake_svc" else {}
    return cls(database_url=url, relay_enabled=False, consumers_enabled=False, kafka_bootstrap="127.0.0.1:9",
               log_level="WARNING", scheduler_enabled=False, **extra)


async def replay(service: str, records: list[dict[str, Any]], db_template: str = "") -> dict[str, Any]:
    """Apply the recorded records of the service's topics through its consumers; CPU and wall figures.

    On a fresh SQLite file, or with db_template (a PostgreSQL URL with {service}) on a fresh database of that
    server, dropped afterwards."""
    from bancheng_services.demo import seed_directory

    spec = SERVICES[service]
    tmp = Path(tempfile.mkdtemp(prefix=f"bancheng-replay-{service}-"))
    url = f"sqlite+aiosqlite:///{tmp / 'replay.db'}"
    if db_template:
        url = db_template.replace("{service}", f"replay_{service}_{uuid.uuid4().hex[:8]}")
    try:
        await ensure_postgres_database(url)
        await asyncio.to_thread(upgrade, spec["migrations"], url)
        if service == "triage":
            await seed_directory(url)
        app = importlib.import_module(f"{spec['module']}.main").create_app(_settings(spec["module"], url))
        rt = app.state.runtime
        handled = 0
        tickets: set[str] = set()
        async with app.router.lifespan_context(app):
            cpu0, wall0 = time.process_time(), time.perf_counter()
            for consumer in rt.consumers:
                wanted = set(consumer.base_topics)
                mine = [r for r in records if r["topic"] in wanted]
                # as the broker hands them over: up to batch_size records per poll, partitions interleaved
                for start in range(0, len(mine), consumer.batch_size):
                    batch: dict[TopicPartition, list[ConsumerRecord]] = {}
                    for r in mine[start : start + consumer.batch_size]:
                        tp = TopicPartition(topic_name(r["topic"], consumer.prefix), r["partition"])
                        value = base64.b64decode(r["value"])
                        batch.setdefault(tp, []).append(ConsumerRecord(
                            topic=tp.topic, partition=tp.partition, offset=r["offset"], timestamp=0,
                            timestamp_type=0, key=r["key"].encode(), value=value, checksum=None,
                            serialized_key_size=len(r["key"]), serialized_value_size=len(value), headers=()))
                        tickets.add(r["key"])
                    await consumer.process(batch)
                    handled += sum(len(v) for v in batch.values())
            cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        return {"events": handled, "tickets": len(tickets),
                "cpu_ms_per_ticket": round(cpu / max(1, len(tickets)) * 1000, 3),
                "events_per_cpu_s": round(handled / cpu, 1) if cpu else None, "wall_s": round(wall, 2)}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        await drop_postgres_database(url)
