"""Transactional outbox: rows written in the caller's transaction, published by a relay in order."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from sqlalchemy import bindparam, delete, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from bancheng_shared import metrics
from bancheng_shared.contracts.envelope import EventEnvelope
from bancheng_shared.db import transaction
from bancheng_shared.kafka import ensure_topics
from bancheng_shared.plumbing import Plumbing
from bancheng_shared.topics import EPOCH_TOPIC, all_broker_topics, topic_name

log = structlog.get_logger("bancheng.outbox")


def utcnow() -> datetime:
    """Now, in UTC."""
    return datetime.now(UTC)


async def add_events(
    session: AsyncSession, plumbing: Plumbing, events: Sequence[EventEnvelope], topic: str
) -> None:
    """Write events to the outbox in the caller's transaction (key = ticket id)."""
    if not events:
        return
    now = utcnow()
    await session.execute(
        insert(plumbing.outbox),
        [
            {
                "event_id": str(e.event_id),
                "event_type": e.type,
                "topic": topic,
                "key": e.ticket_id,
                "value": e.to_bytes(),
                "headers": {"type": e.type, "correlation_id": e.correlation_id},
                "created_at": now,
                "sent_at": None,
            }
            for e in events
        ],
    )


async def add_raw(
    session: AsyncSession, plumbing: Plumbing, topic: str, key: str, value: bytes, headers: dict[str, str]
) -> None:
    """Write a non-envelope record (a dead letter) to the outbox."""
    await session.execute(
        insert(plumbing.outbox).values(
            event_id=None,
            event_type=headers.get("type"),
            topic=topic,
            key=key,
            value=value,
            headers=headers,
            created_at=utcnow(),
            sent_at=None,
        )
    )


class OutboxRelay:
    """Publishes unsent outbox rows in id order, marks them sent, and keeps them for the retention period.

    When the broker comes back empty (its epoch marker changed), every retained row is published
    again; consumers drop what they already handled. On PostgreSQL one replica relays at a time
    (advisory lock), so per-ticket order holds with several replicas.
    """

    def __init__(
        self,
        *,
        service: str,
        sessionmaker: async_sessionmaker[AsyncSession],
        plumbing: Plumbing,
        bootstrap: str,
        topic_prefix: str = "",
        batch_size: int = 500,
        poll_interval_s: float = 0.2,
        retention: timedelta = timedelta(days=7),
        epoch_check_s: float = 5.0,
        partitions: int = 12,
    ) -> None:
        self.partitions = partitions
        self.service = service
        self.sm = sessionmaker
        self.p = plumbing
        self.bootstrap = bootstrap
        self.prefix = topic_prefix
        self.batch_size = batch_size
        self.poll_interval_s = poll_interval_s
        self.retention = retention
        self.epoch_check_s = epoch_check_s
        self._wake = asyncio.Event()
        self._producer: AIOKafkaProducer | None = None
        self.last_broker_contact: datetime | None = None
        self._stopping = False
        self._leader_conn: AsyncConnection | None = None
        # built once: the relay runs them every poll
        o = plumbing.outbox
        self._unsent = (select(o.c.id, o.c.topic, o.c.key, o.c.value, o.c.headers, o.c.created_at)
                        .where(o.c.sent_at.is_(None)).order_by(o.c.id).limit(batch_size))
        self._mark_sent = (update(o).where(o.c.id.in_(bindparam("ids", expanding=True)))
                           .values(sent_at=bindparam("now", type_=o.c.sent_at.type)))

    def wake(self) -> None:
        """Tell the relay new rows were committed (saves a poll interval of latency)."""
        self._wake.set()

    async def _new_producer(self) -> AIOKafkaProducer:
        if self._producer is not None:
            try:
                await self._producer.stop()
            except Exception:  # the old one is being discarded anyway
                pass
        producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap,
            acks="all",
            linger_ms=2,
            max_batch_size=256 * 1024,
            max_request_size=4 * 1024 * 1024,
            client_id=f"{self.service}-relay",
        )
        self._producer = producer  # stop() must reach it even if start() is cancelled half way
        try:
            await producer.start()
        except Exception:
            self._producer = None
            await producer.stop()
            raise
        self.last_broker_contact = utcnow()
        return producer

    async def run(self) -> None:
        """Relay until cancelled; survives broker outages by retrying with backoff."""
        backoff = 0.2
        last_epoch_check = 0.0
        last_purge = 0.0
        loop = asyncio.get_running_loop()
        while not self._stopping:
            try:
                if self._producer is None:
                    await self._new_producer()
                if not await self._hold_leadership():
                    await asyncio.sleep(2.0)
                    continue
                now = loop.time()
                if now - last_epoch_check >= self.epoch_check_s:
                    await self._check_epoch()
                    last_epoch_check = now
                if now - last_purge >= 60:
                    await self._purge()
                    last_purge = now
                sent = await self.publish_once()
                backoff = 0.2
                if sent < self.batch_size:
                    self._wake.clear()
                    # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that
                    # arrives as the event is set, and the relay would never stop
                    try:
                        async with asyncio.timeout(self.poll_interval_s):
                            await self._wake.wait()
                    except TimeoutError:
                        pass
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("relay_error", service=self.service, error=repr(exc), retry_in=backoff)
                metrics.RELAY_ERRORS.labels(self.service).inc()
                # Cached metadata may point at partitions of a broker that is gone: start afresh.
                producer, self._producer = self._producer, None
                if producer is not None:
                    try:
                        await producer.stop()
                    except Exception:
                        pass
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def stop(self) -> None:
        """Stop the producer and give up relay leadership."""
        self._stopping = True
        leader, self._leader_conn = self._leader_conn, None
        if leader is not None:
            await leader.close()
        if self._producer is not None:
            try:
                await self._producer.stop()
            finally:
                self._producer = None

    async def publish_once(self) -> int:
        """Publish one batch of unsent rows; returns how many were sent."""
        assert self._producer is not None
        async with self.sm() as session:
            rows = (await session.execute(self._unsent)).all()
        if not rows:
            return 0
        futures = []
        for row in rows:
            headers = [(k, str(v).encode()) for k, v in (row.headers or {}).items()]
            fut = await self._producer.send(
                topic_name(row.topic, self.prefix), value=row.value, key=row.key.encode(), headers=headers
            )
            futures.append(fut)
        await asyncio.gather(*futures)
        self.last_broker_contact = utcnow()
        ids = [r.id for r in rows]
        async with transaction(self.sm) as session:
            await session.execute(self._mark_sent, {"ids": ids, "now": utcnow()})
        metrics.EVENTS_PUBLISHED.labels(self.service).inc(len(rows))
        return len(rows)

    async def _hold_leadership(self) -> bool:
        # SQLite: one process owns the file. PostgreSQL: a session-level advisory lock on a pinned
        # connection elects one relay among the replicas.
        engine = self.sm.kw.get("bind")
        if engine is None or engine.dialect.name != "postgresql":
            return True
        if self._leader_conn is not None:
            return True
        conn = await engine.connect()
        key = int(uuid.uuid5(uuid.NAMESPACE_DNS, f"bancheng-relay-{self.service}").int % (2**62))
        got = (await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key})).scalar()
        if got:
            self._leader_conn = conn
            return True
        await conn.close()
        return False

    async def _purge(self) -> None:
        cutoff = utcnow() - self.retention
        async with transaction(self.sm) as session:
            await session.execute(
                delete(self.p.outbox).where(
                    self.p.outbox.c.sent_at.is_not(None), self.p.outbox.c.sent_at < cutoff
                )
            )

    async def _check_epoch(self) -> None:
        epoch = await read_or_claim_epoch(self.bootstrap, self.prefix, self.partitions)
        if epoch is None:
            return
        async with transaction(self.sm) as session:
            known = (
                await session.execute(
                    select(self.p.state.c.value).where(self.p.state.c.name == "broker_epoch")
                )
            ).scalar()
            if known == epoch:
                return
            if known is None:
                await session.execute(insert(self.p.state).values(name="broker_epoch", value=epoch))
            else:
                await session.execute(
                    update(self.p.state).where(self.p.state.c.name == "broker_epoch").values(value=epoch)
                )
            if known is not None:
                res = await session.execute(
                    update(self.p.outbox).where(self.p.outbox.c.sent_at.is_not(None)).values(sent_at=None)
                )
                log.warning(
                    "broker_epoch_changed_republishing",
                    service=self.service,
                    old=known,
                    new=epoch,
                    rows=res.rowcount,  # type: ignore[attr-defined]
                )
                metrics.REPUBLISHED.labels(self.service).inc(res.rowcount or 0)  # type: ignore[attr-defined]


async def read_or_claim_epoch(bootstrap: str, prefix: str = "", partitions: int = 12) -> str | None:
    """The broker's epoch: the first record of the epoch topic, written by whoever finds it empty.

    A memory-only broker that restarts loses this record, so a changed epoch means "came back empty".
    """
    topic = topic_name(EPOCH_TOPIC, prefix)
    epoch = await _read_epoch(bootstrap, topic)
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
    return await _read_epoch(bootstrap, topic)


async def _read_epoch(bootstrap: str, topic: str) -> str | None:
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
