"""The broker's epoch and what its readers confirmed: how a relay tells that the broker came back empty (the epoch
topic's first record changed) and which sent rows every reader group had already committed past on it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bancheng_shared.kafka import ensure_topics
from bancheng_shared.topics import EPOCH_TOPIC, all_broker_topics, topic_name

# plumbing_state names: the broker's epoch this database last saw, the count of empty brokers it has seen (rows
# sent record it), and what the readers had confirmed on the current one
EPOCH = "broker_epoch"
GENERATION = "broker_generation"
CONFIRMED = "outbox_confirmed"


@dataclass
class Confirmed:
    """What the readers had committed past, per base topic and partition, on the broker of one generation."""

    generation: int
    offsets: dict[str, dict[int, int]] = field(default_factory=dict)
    verified_at: datetime | None = None

    @classmethod
    def load(cls, raw: str | None, generation: int) -> Confirmed:
        """The stored record if it is of this generation, else an empty one."""
        data = orjson.loads(raw) if raw else {}
        if data.get("generation") != generation:
            return cls(generation)
        return cls(generation, {t: {int(p): int(o) for p, o in parts.items()} for t, parts in data["offsets"].items()},
                   datetime.fromisoformat(data["verified_at"]) if data.get("verified_at") else None)

    def dump(self) -> str:
        """As stored in plumbing_state."""
        return orjson.dumps({"generation": self.generation, "offsets": self.offsets,
                             "verified_at": self.verified_at.isoformat() if self.verified_at else None},
                            option=orjson.OPT_NON_STR_KEYS).decode()


async def read_or_claim_epoch(bootstrap: str, prefix: str = "", partitions: int = 12) -> str | None:
    """The broker's epoch: the first record of the epoch topic, written by whoever finds it empty.

    A memory-only broker that restarts loses this record, so a changed epoch means "came back empty".
    """
    topic = topic_name(EPOCH_TOPIC, prefix)
    epoch = await read_epoch(bootstrap, topic)
    if epoch is not None:
        return epoch
    # No epoch: a new (or emptied) broker. Recreate the topics before anything auto-creates them.
    await ensure_topics(bootstrap, all_broker_topics(prefix), partitions)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        await producer.start()
        await producer.send_and_wait(topic, value=str(uuid.uuid4()).encode(), key=b"epoch", partition=0)
    finally:
        await producer.stop()
    # Several claimants may race; the first record wins for everyone.
    return await read_epoch(bootstrap, topic)


async def read_epoch(bootstrap: str, topic: str) -> str | None:
    """The first record of the epoch topic (None: the topic or its record is missing)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        await consumer.start()
        tp = TopicPartition(topic, 0)
        parts = await _partitions(consumer, topic)
        if not parts:
            return None
        consumer.assign([tp])
        consumer.seek(tp, 0)
        batch = await consumer.getmany(tp, timeout_ms=500, max_records=1)
        records: list[Any] = batch.get(tp, [])
        return records[0].value.decode() if records else None
    finally:
        await consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    parts = consumer.partitions_for_topic(topic)
    if parts is None:
        await consumer._client.force_metadata_update()
        parts = consumer.partitions_for_topic(topic)
    return parts or set()
