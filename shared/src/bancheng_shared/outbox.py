"""Transactional outbox: rows written in the caller's transaction, published by a relay in order."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping, Sequence
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import structlog
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import BigInteger, Integer, and_, bindparam, func, insert, not_, or_, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from bancheng_shared import metrics
from bancheng_shared.broker_epoch import CONFIRMED, EPOCH, GENERATION, Confirmed, read_epoch, read_or_claim_epoch
from bancheng_shared.contracts.envelope import EventEnvelope
from bancheng_shared.db import insert_statement, is_postgres, transaction
from bancheng_shared.plumbing import Plumbing, purge
from bancheng_shared.topics import EPOCH_TOPIC, topic_name

log = structlog.get_logger("bancheng.outbox")

RecoveryMode = Literal["unconfirmed", "all"]
# PostgreSQL, on the relay leader's own connection (see OutboxRelay._poll)
_INDEX_ORDER_ONLY = text("SET enable_bitmapscan = off")


def utcnow() -> datetime:
    """Now, in UTC."""
    return datetime.now(UTC)


def outbox_rows(events: Sequence[EventEnvelope], topic: str) -> list[dict[str, Any]]:
    """The outbox rows of events (key = ticket id), for insert_statement(plumbing.outbox)."""
    now = utcnow()
    return [
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
    ]


async def add_events(
    session: AsyncSession, plumbing: Plumbing, events: Sequence[EventEnvelope], topic: str
) -> None:
    """Write events to the outbox in the caller's transaction (key = ticket id)."""
    if events:
        await session.execute(insert_statement(plumbing.outbox), outbox_rows(events, topic))


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

    Each sent row keeps the partition and offset the broker gave it and the broker generation it went to (a
    number this database counts up at every empty broker). Every `confirm_interval_s` the relay reads the
    committed offsets of the consumer groups that read its topics (`readers`: base topic -> group ids) and,
    once the broker's epoch is checked to be still the one this database knows, stores per partition the
    lowest of them: every row below it was handled by every group. A group that never committed on a
    partition confirms nothing there; groups not running still count (their offsets stay on the broker).

    When the broker comes back empty (its epoch marker changed), rows not confirmed that way are published
    again (`recovery="all"`: every retained row, as before); consumers drop what they already handled.
    Only the relay leader writes (on PostgreSQL one replica relays at a time, by advisory lock), so per-ticket
    order holds with several replicas.
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
        inbox_retention: timedelta | None = None,
        epoch_check_s: float = 5.0,
        partitions: int = 12,
        readers: Mapping[str, Sequence[str]] | None = None,
        recovery: RecoveryMode = "unconfirmed",
        confirm_interval_s: float = 10.0,
        group_prefix: str = "",
    ) -> None:
        self.partitions = partitions
        self.readers = {t: tuple(groups) for t, groups in (readers or {}).items()}
        self.recovery = recovery
        self.confirm_interval_s = confirm_interval_s
        # groups discovered on the broker count when their name has this prefix and they committed on a topic here
        self.group_prefix = group_prefix
        self._generation: int | None = None
        self._admin: AIOKafkaAdminClient | None = None
        self.service = service
        self.sm = sessionmaker
        self.p = plumbing
        self.bootstrap = bootstrap
        self.prefix = topic_prefix
        self.batch_size = batch_size
        self.poll_interval_s = poll_interval_s
        self.retention = retention
        self.inbox_retention = inbox_retention
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
        self._mark_sent = (update(o).where(o.c.id == bindparam("b_id"))
                           .values(sent_at=bindparam("b_now", type_=o.c.sent_at.type), sent_partition=bindparam("b_p"),
                                   sent_offset=bindparam("b_o"), sent_generation=bindparam("b_g")))
        # PostgreSQL: one statement over arrays instead of a statement per row (a batch is up to 500 rows)
        placed = func.unnest(
            bindparam("ids", type_=ARRAY(BigInteger)), bindparam("parts", type_=ARRAY(Integer)),
            bindparam("offsets", type_=ARRAY(BigInteger))).table_valued("id", "p", "o").render_derived()
        self._mark_sent_pg = (update(o).where(o.c.id == placed.c.id)
                              .values(sent_at=bindparam("now", type_=o.c.sent_at.type), sent_partition=placed.c.p,
                                      sent_offset=placed.c.o, sent_generation=bindparam("generation")))

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
        last_confirm = 0.0
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
                if self.readers and now - last_confirm >= self.confirm_interval_s:
                    last_confirm = now
                    try:
                        await self._confirm()
                    except Exception as exc:  # the next round tries again; publishing goes on meanwhile
                        log.warning("outbox_confirm_failed", service=self.service, error=repr(exc))
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
        await self._let_leadership_go()
        await self._drop_admin()
        if self._producer is not None:
            try:
                await self._producer.stop()
            finally:
                self._producer = None

    async def publish_once(self) -> int:
        """Publish one batch of unsent rows; returns how many were sent."""
        assert self._producer is not None
        rows = await self._poll()
        if not rows:
            return 0
        futures = []
        for row in rows:
            headers = [(k, str(v).encode()) for k, v in (row.headers or {}).items()]
            fut = await self._producer.send(
                topic_name(row.topic, self.prefix), value=row.value, key=row.key.encode(), headers=headers
            )
            futures.append(fut)
        placed = await asyncio.gather(*futures)
        now = self.last_broker_contact = utcnow()
        if self._generation is None:
            async with self.sm() as session:
                self._generation = int(await _get_state(session, self.p, GENERATION) or 0)
        async with transaction(self.sm) as session:
            if is_postgres(session):
                await session.execute(self._mark_sent_pg, {
                    "ids": [r.id for r in rows], "parts": [md.partition for md in placed],
                    "offsets": [md.offset for md in placed], "now": now, "generation": self._generation})
            else:
                await session.execute(self._mark_sent, [
                    {"b_id": r.id, "b_now": now, "b_p": md.partition, "b_o": md.offset, "b_g": self._generation}
                    for r, md in zip(rows, placed, strict=True)])
        metrics.EVENTS_PUBLISHED.labels(self.service).inc(len(rows))
        return len(rows)

    def _on_postgres(self) -> bool:
        return is_postgres(self.sm.kw.get("bind"))

    async def _poll(self) -> Sequence[Any]:
        """The next unsent rows, in id order (up to a batch); none while another replica's relay leads.

        PostgreSQL: read through the leader's own connection, the one holding the lock, so a poll that succeeds
        shows the lock is still this relay's. One that fails (the connection died, and its lock with it) lets the
        leadership go; the relay contends again. The poll is an ordinary index scan of ix_outbox_unsent, in id
        order: it marks the entries rows left when they were sent as dead, once, and later polls skip them (without
        statistics the planner picks a bitmap scan, which marks nothing and visits every such row's page on every
        poll until a vacuum)."""
        if not self._on_postgres():
            async with self.sm() as session:
                return (await session.execute(self._unsent)).all()
        if not await self._hold_leadership():
            return []
        assert self._leader_conn is not None
        try:
            return (await self._leader_conn.execute(self._unsent)).all()
        except Exception:
            await self._let_leadership_go()
            raise

    async def _let_leadership_go(self) -> None:
        leader, self._leader_conn = self._leader_conn, None
        if leader is not None:
            with suppress(Exception):  # a connection that died cannot be closed cleanly
                await leader.close()

    async def _hold_leadership(self) -> bool:
        # SQLite: one process owns the file. PostgreSQL: a session-level advisory lock on a pinned
        # connection elects one relay among the replicas (its polls prove it still holds it, see _poll).
        if not self._on_postgres():
            return True
        if self._leader_conn is not None:
            return True
        engine = self.sm.kw["bind"]
        # autocommit: a transaction left open on it would hold the database's oldest snapshot for as long as this
        # relay leads, and no dead row version could be pruned, vacuumed or skipped by an index scan meanwhile
        # (measured: the outbox poll walked every row sent since the relay started)
        conn = await (await engine.connect()).execution_options(isolation_level="AUTOCOMMIT")
        key = int(uuid.uuid5(uuid.NAMESPACE_DNS, f"bancheng-relay-{self.service}").int % (2**62))
        try:
            if (await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key})).scalar():
                await conn.execute(_INDEX_ORDER_ONLY)  # this connection only polls
                self._leader_conn = conn
                return True
        except Exception:
            await conn.close()
            raise
        await conn.close()
        return False

    async def _purge(self) -> None:
        now = utcnow()
        handled_before = now - self.inbox_retention if self.inbox_retention is not None else None
        gone = await purge(self.sm, self.p, sent_before=now - self.retention, handled_before=handled_before)
        if any(gone):
            log.info("retention_purged", service=self.service, outbox_rows=gone[0], inbox_rows=gone[1])

    async def _check_epoch(self) -> None:
        epoch = await read_or_claim_epoch(self.bootstrap, self.prefix, self.partitions)
        if epoch is None:
            return
        async with transaction(self.sm) as session:
            known = await _get_state(session, self.p, EPOCH)
            generation = int(await _get_state(session, self.p, GENERATION) or 0)
            if known != epoch:
                await _set_state(session, self.p, EPOCH, epoch)
            if known is not None and known != epoch:
                republished = await self._reset_unconfirmed(session, generation)
                generation += 1
                await _set_state(session, self.p, GENERATION, str(generation))
                log.warning("broker_epoch_changed_republishing", service=self.service, old=known, new=epoch,
                            recovery=self.recovery, rows=republished, generation=generation)
                metrics.REPUBLISHED.labels(self.service).inc(republished)
        self._generation = generation  # after the commit: rows sent from now on belong to it

    async def _reset_unconfirmed(self, session: AsyncSession, generation: int) -> int:
        """Mark unsent again every sent row some reader may not have seen; returns how many."""
        o = self.p.outbox
        confirmed = Confirmed.load(await _get_state(session, self.p, CONFIRMED), generation)
        await _set_state(session, self.p, CONFIRMED, Confirmed(generation + 1).dump())
        where: list[ColumnElement[bool]] = [o.c.sent_at.is_not(None)]
        if self.recovery != "all":
            # rows still sent from an older generation were confirmed then (the rest was sent again since)
            kept: list[ColumnElement[bool]] = [and_(o.c.sent_generation.is_not(None), o.c.sent_generation < generation)]
            below = [and_(o.c.topic == topic, o.c.sent_partition == partition, o.c.sent_offset < offset)
                     for topic, parts in confirmed.offsets.items() for partition, offset in parts.items()]
            if below and confirmed.verified_at is not None:
                # sent_at: a row sent after the offsets were read may have gone to a broker already emptied
                kept.append(and_(o.c.sent_generation == generation, o.c.sent_offset.is_not(None),
                                 o.c.sent_at <= confirmed.verified_at, or_(*below)))
            where.append(not_(or_(*kept)))
        res = await session.execute(update(o).where(*where).values(sent_at=None))
        return int(res.rowcount or 0)  # type: ignore[attr-defined]

    async def _confirm(self) -> None:
        """Store what every reader group committed past, if the broker is still the one this database knows."""
        read_at = utcnow()
        try:
            committed = await self._lowest_committed()
        except Exception:
            await self._drop_admin()  # a broker that went away leaves a client worth nothing
            raise
        if not any(committed.values()):
            return
        # offsets read from a broker that has since come back empty (or came back before we noticed) must not
        # be matched against the old broker's offsets: the epoch read after them must still be ours
        epoch = await read_epoch(self.bootstrap, topic_name(EPOCH_TOPIC, self.prefix))
        async with transaction(self.sm) as session:
            if epoch is None or epoch != await _get_state(session, self.p, EPOCH):
                return
            generation = int(await _get_state(session, self.p, GENERATION) or 0)
            confirmed = Confirmed.load(await _get_state(session, self.p, CONFIRMED), generation)
            for topic, parts in committed.items():
                mine = confirmed.offsets.setdefault(topic, {})
                for partition, offset in parts.items():
                    # a group reset backwards re-reads events it handled: what it confirmed stays confirmed
                    mine[partition] = max(mine.get(partition, 0), offset)
            confirmed.verified_at = read_at
            await _set_state(session, self.p, CONFIRMED, confirmed.dump())

    async def _lowest_committed(self) -> dict[str, dict[int, int]]:
        """Per base topic and partition, the lowest offset committed by every group reading it (or nothing)."""
        if self._admin is None:
            admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=10000,
                                        client_id=f"{self.service}-relay-admin")
            await admin.start()
            self._admin = admin
        admin = self._admin
        tps = [TopicPartition(topic_name(t, self.prefix), p) for t in self.readers for p in range(self.partitions)]
        declared = {g for groups in self.readers.values() for g in groups}
        listed = {g for g, *_ in await admin.list_consumer_groups()}
        by_group: dict[str, dict[tuple[str, int], int]] = {}
        for group in sorted(declared | {g for g in listed if g.startswith(self.group_prefix)}):
            # explicit partitions: the embedded broker cannot answer the "all partitions" form
            got = await admin.list_consumer_group_offsets(group, partitions=tps)
            by_group[group] = {(tp.topic, tp.partition): om.offset for tp, om in got.items()}
        out: dict[str, dict[int, int]] = {}
        for topic in self.readers:
            name = topic_name(topic, self.prefix)
            # the declared readers, and any other group that committed on this topic (an operator's tool, a
            # consumer added since): all must have passed an event for it to count as seen
            groups = [offsets for g, offsets in by_group.items()
                      if g in self.readers[topic] or any(t == name and o >= 0 for (t, _p), o in offsets.items())]
            out[topic] = {}
            for p in range(self.partitions):
                seen = [offsets.get((name, p), -1) for offsets in groups]
                if seen and min(seen) >= 0:
                    out[topic][p] = min(seen)
        return out

    async def _drop_admin(self) -> None:
        admin, self._admin = self._admin, None
        if admin is not None:
            try:
                await admin.close()
            except Exception:
                pass


async def _get_state(session: AsyncSession, p: Plumbing, name: str) -> str | None:
    return (await session.execute(select(p.state.c.value).where(p.state.c.name == name))).scalar()


async def _set_state(session: AsyncSession, p: Plumbing, name: str, value: str) -> None:
    res = await session.execute(update(p.state).where(p.state.c.name == name).values(value=value))
    if not res.rowcount:  # type: ignore[attr-defined]
        await session.execute(insert(p.state).values(name=name, value=value))
