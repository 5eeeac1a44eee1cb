"""Idempotent consumer: one DB transaction per batch, handled event ids stored with the effect,
offsets committed after the DB commit, poisoned events dead-lettered through the outbox."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson
import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from sqlalchemy import insert, select
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bancheng_shared import metrics
from bancheng_shared.contracts.envelope import EventEnvelope
from bancheng_shared.db import keys_found, transaction
from bancheng_shared.ops_metrics import LagGauge
from bancheng_shared.outbox import add_raw
from bancheng_shared.plumbing import Plumbing
from bancheng_shared.topics import dlq_name, topic_name

if TYPE_CHECKING:
    from bancheng_shared.unit_of_work import UnitOfWork

log = structlog.get_logger("bancheng.consumer")

# An envelope's handler works through a unit of work bound to the batch's transaction (see UnitOfWork.bound)
Handler = Callable[["UnitOfWork", EventEnvelope], Awaitable[None]]
BatchHandler = Callable[["UnitOfWork", list[EventEnvelope]], Awaitable[None]]
# (session, cause, after-commit list) -> a unit of work bound to the batch's transaction
UnitFactory = Callable[[AsyncSession, EventEnvelope | None, list[Callable[[], None]]], "UnitOfWork"]


def _bare_unit(session: AsyncSession, cause: EventEnvelope | None, after: list[Callable[[], None]]) -> UnitOfWork:
    """A unit on the batch's session for a consumer built without a service runtime (it cannot emit)."""
    from bancheng_shared.unit_of_work import UnitOfWork

    return UnitOfWork.bound(None, session, cause=cause, after=after)


def _seen_query(plumbing: Plumbing, sm: async_sessionmaker[AsyncSession]) -> Any:
    """The inbox ids among a batch's (parameter `ids`; one statement whatever the batch's size, see db.keys_found)."""
    bind = sm.kw.get("bind")
    col = plumbing.inbox.c.event_id
    return keys_found(select(col), col, "ids", bind is not None and bind.dialect.name == "postgresql")


# a transaction PostgreSQL rolled back to break a deadlock or a serialization conflict (SQLSTATE 40P01, 40001):
# nothing is wrong with the events, the batch is applied again (never dead-lettered)
_RETRY_SQLSTATES = frozenset({"40P01", "40001"})


def database_unwell(exc: BaseException) -> bool:
    """Whether a failure is the database's (unreachable, timed out, a deadlock or serialization conflict it broke),
    not an event's: the batch is retried as a whole."""
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    return isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) in _RETRY_SQLSTATES


class _HandlerFailed(Exception):
    """A handler raised during the optimistic pass of a batch (the batch is applied again, isolated)."""


class IdempotentConsumer:
    """Consumes topics in batches and applies handlers exactly once per event id."""

    def __init__(
        self,
        *,
        service: str,
        topics: list[str],
        handlers: dict[str, Handler],
        unit: UnitFactory | None = None,
        sessionmaker: async_sessionmaker[AsyncSession],
        plumbing: Plumbing,
        bootstrap: str,
        group_id: str,
        topic_prefix: str = "",
        batch_size: int = 500,
        after_commit: Callable[[], None] | None = None,
        session_timeout_ms: int = 6000,
        heartbeat_ms: int = 1000,
        batch_handler: BatchHandler | None = None,
        linger_ms: int = 0,
    ) -> None:
        self.linger_s = linger_ms / 1000
        # batch_handler, when given, applies all of a batch's new events of the handled types at once (the
        # handlers dict stays the per-event path, used when a batch has to be applied event by event)
        self.batch_handler = batch_handler
        self.session_timeout_ms = session_timeout_ms
        self.heartbeat_ms = heartbeat_ms
        self.service = service
        self.base_topics = topics
        self.topics = [topic_name(t, topic_prefix) for t in topics]
        self.prefix = topic_prefix
        self.handlers = handlers
        self.unit: UnitFactory = unit or _bare_unit
        self.sm = sessionmaker
        self.p = plumbing
        self.bootstrap = bootstrap
        self.group_id = group_id
        self.batch_size = batch_size
        self.after_commit = after_commit
        self._consumer: AIOKafkaConsumer | None = None
        self.last_broker_contact: datetime | None = None
        self.lag = LagGauge(service, group_id)
        # records whose batch committed (handled, or dropped as already handled): tests wait for this state
        self.records_processed = 0
        # built once: a batch only brings parameters
        self._seen_query = _seen_query(plumbing, sessionmaker)
        self._inbox_insert = insert(plumbing.inbox)

    async def _start(self) -> AIOKafkaConsumer:
        consumer = AIOKafkaConsumer(
            *self.topics,
            bootstrap_servers=self.bootstrap,
            group_id=self.group_id,
            enable_auto_commit=False,
            # The embedded broker reports wrong "latest" offsets; the inbox makes earliest safe.
            auto_offset_reset="earliest",
            max_poll_records=self.batch_size,
            fetch_max_bytes=16 * 1024 * 1024,
            max_partition_fetch_bytes=4 * 1024 * 1024,
            session_timeout_ms=self.session_timeout_ms,
            heartbeat_interval_ms=self.heartbeat_ms,
            client_id=f"{self.service}-consumer",
        )
        # Known before start() returns: a task cancelled while joining the group must still be stopped by
        # stop(), or aiokafka's heartbeat and fetch tasks live on as a zombie group member.
        self._consumer = consumer
        try:
            await consumer.start()
        except Exception:
            self._consumer = None
            await consumer.stop()
            raise
        return consumer

    async def run(self) -> None:
        """Consume until cancelled; a failed batch is retried from its first offsets."""
        backoff = 0.2
        while True:
            try:
                consumer = self._consumer or await self._start()
                await self.lag.report(consumer)  # here every position is the committed offset
                batch = await consumer.getmany(timeout_ms=200, max_records=self.batch_size)
                self.last_broker_contact = datetime.now(UTC)
                if not batch:
                    continue
                batch = await self._linger(consumer, batch)
                try:
                    await self.process(batch)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.error("batch_failed", service=self.service, error=repr(exc), retry_in=backoff)
                    metrics.CONSUMER_ERRORS.labels(self.service).inc()
                    for tp, records in batch.items():
                        consumer.seek(tp, records[0].offset)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                await consumer.commit({tp: recs[-1].offset + 1 for tp, recs in batch.items()})
                backoff = 0.2
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("consumer_error", service=self.service, error=repr(exc), retry_in=backoff)
                metrics.CONSUMER_ERRORS.labels(self.service).inc()
                consumer_, self._consumer = self._consumer, None
                if consumer_ is not None:
                    try:
                        await consumer_.stop()
                    except Exception:
                        pass
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def _linger(self, consumer: AIOKafkaConsumer,
                      batch: dict[TopicPartition, list[ConsumerRecord]]) -> dict[TopicPartition, list[ConsumerRecord]]:
        """A small batch waits `linger_s` for more records, once: under a steady load a transaction per poll
        would otherwise carry one or two events, and its fixed cost dominates theirs."""
        n = sum(len(v) for v in batch.values())
        if not self.linger_s or n >= self.batch_size // 2:
            return batch
        await asyncio.sleep(self.linger_s)
        more = await consumer.getmany(timeout_ms=0, max_records=self.batch_size - n)
        for tp, recs in more.items():  # a partition's later records follow its earlier ones
            batch.setdefault(tp, []).extend(recs)
        return batch

    async def stop(self) -> None:
        """Leave the group."""
        if self._consumer is not None:
            try:
                await self._consumer.stop()
            finally:
                self._consumer = None

    async def process(self, batch: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        """Apply one batch in one transaction.

        First all events without savepoints (two statements per event saved), through the batch handler at
        once when there is one; if a handler fails, that attempt is rolled back whole and the batch is applied
        again event by event, each in its own savepoint, so the failing event is dead-lettered and the others
        keep their effects.
        """
        records = [r for recs in batch.values() for r in recs]
        parsed: list[tuple[ConsumerRecord, EventEnvelope | None, str | None]] = []
        for rec in records:
            try:
                parsed.append((rec, EventEnvelope.from_bytes(rec.value), None))
            except Exception as exc:
                parsed.append((rec, None, f"malformed envelope: {exc}"))
        after: list[Callable[[], None]] = []
        try:
            counted = await self._apply(parsed, isolate=False, after=after)
        except _HandlerFailed:
            after.clear()  # that attempt was rolled back
            counted = await self._apply(parsed, isolate=True, after=after)
        for kind, env in counted:
            if kind == "duplicate":
                metrics.EVENTS_DUPLICATE.labels(self.service, env.type).inc()
            else:
                metrics.EVENTS_CONSUMED.labels(self.service, env.type).inc()
                metrics.EVENT_AGE.labels(self.service).observe(
                    max(0.0, (datetime.now(UTC) - env.occurred_at).total_seconds()))
        self.records_processed += len(records)
        if self.after_commit is not None:
            self.after_commit()
        for fn in after:
            fn()

    async def _apply(self, parsed: list[tuple[ConsumerRecord, EventEnvelope | None, str | None]],
                     isolate: bool, after: list[Callable[[], None]]) -> list[tuple[str, EventEnvelope]]:
        """One transaction over the batch; with `isolate`, each event in a savepoint (failures dead-lettered).

        Without it, a handler's failure raises _HandlerFailed (the transaction is rolled back). Returns what
        to count once the transaction committed.
        """
        ids = [str(e.event_id) for _, e, _ in parsed if e is not None]
        now = datetime.now(UTC)
        counted: list[tuple[str, EventEnvelope]] = []
        async with transaction(self.sm) as session:
            seen: set[str] = set()
            for chunk_start in range(0, len(ids), 500):
                res = await session.execute(self._seen_query, {"ids": ids[chunk_start : chunk_start + 500]})
                seen.update(res.scalars())
            inbox_rows: list[dict[str, Any]] = []
            fresh: list[EventEnvelope] = []
            for rec, env, parse_error in parsed:
                if env is None:
                    await self._dead_letter(session, rec, parse_error or "unparseable")
                    continue
                eid = str(env.event_id)
                if eid in seen:
                    counted.append(("duplicate", env))
                    continue
                seen.add(eid)
                handler = self.handlers.get(env.type)
                if handler is None:
                    continue
                dead = False
                if self.batch_handler is not None and not isolate:
                    fresh.append(env)  # applied together below
                    inbox_rows.append({"event_id": eid, "event_type": env.type, "topic": rec.topic,
                                       "handled_at": now, "dead_lettered": False})
                    counted.append(("consumed", env))
                    continue
                with structlog.contextvars.bound_contextvars(ticket_id=env.ticket_id,
                                                             correlation_id=env.correlation_id):
                    if not isolate:
                        try:
                            async with self.unit(session, env, after) as uow:
                                await handler(uow, env)
                        except Exception as exc:
                            if database_unwell(exc):
                                raise  # the database is unwell, not the event: retry the batch
                            raise _HandlerFailed from exc
                    else:
                        try:
                            async with session.begin_nested(), self.unit(session, env, after) as uow:
                                await handler(uow, env)
                        except Exception as exc:
                            if database_unwell(exc):
                                raise
                            dead = True
                            log.error("event_dead_lettered", service=self.service, event_type=env.type,
                                      ticket_id=env.ticket_id, correlation_id=env.correlation_id, error=repr(exc))
                            await self._dead_letter(session, rec, f"{type(exc).__name__}: {exc}")
                inbox_rows.append({"event_id": eid, "event_type": env.type, "topic": rec.topic, "handled_at": now,
                                   "dead_lettered": dead})
                if not dead:
                    counted.append(("consumed", env))
            if fresh:
                assert self.batch_handler is not None
                try:
                    async with self.unit(session, None, after) as uow:
                        await self.batch_handler(uow, fresh)
                except Exception as exc:
                    if database_unwell(exc):
                        raise
                    raise _HandlerFailed from exc
            if inbox_rows:
                await session.execute(self._inbox_insert, inbox_rows)
        return counted

    async def _dead_letter(self, session: AsyncSession, rec: ConsumerRecord, reason: str) -> None:
        metrics.EVENTS_DEAD_LETTERED.labels(self.service).inc()
        base = rec.topic[len(self.prefix) :] if self.prefix and rec.topic.startswith(self.prefix) else rec.topic
        value = orjson.dumps(
            {
                "reason": reason,
                "consumer": self.service,
                "source_topic": rec.topic,
                "partition": rec.partition,
                "offset": rec.offset,
                "original": (rec.value or b"").decode("utf-8", errors="replace"),
                "dead_lettered_at": datetime.now(UTC).isoformat(),
            }
        )
        key = (rec.key or b"").decode("utf-8", errors="replace") or "unknown"
        await add_raw(
            session, self.p, dlq_name(base), key, value, {"type": "DeadLetter", "consumer": self.service}
        )
