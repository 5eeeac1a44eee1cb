"""Broker helpers: create topics explicitly (the embedded broker auto-creates them with 4 partitions)."""

from __future__ import annotations

import asyncio

import structlog
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

log = structlog.get_logger("bancheng.kafka")


async def ensure_topics(bootstrap: str, topics: list[str], partitions: int = 12, timeout_s: float = 30) -> None:
    """Create the topics that do not exist yet, with the partition count wanted; wait for the broker."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        try:
            admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
            await admin.start()
            break
        except Exception:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.2)
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if missing:
            try:
                await admin.create_topics(
                    [NewTopic(name=t, num_partitions=partitions, replication_factor=1) for t in missing]
                )
            except TopicAlreadyExistsError:
                pass
            log.info("topics_created", topics=missing, partitions=partitions)
    finally:
        await admin.close()
