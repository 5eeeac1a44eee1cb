"""What a running service holds: its settings, database, outbox relay and consumers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bancheng_shared import sqlite_session
from bancheng_shared.consumer import BatchHandler, Handler, IdempotentConsumer
from bancheng_shared.contracts.envelope import EventEnvelope
from bancheng_shared.db import make_engine, make_sessionmaker
from bancheng_shared.outbox import OutboxRelay
from bancheng_shared.plumbing import Plumbing
from bancheng_shared.settings import ServiceSettings
from bancheng_shared.topics import READERS, SERVICE_TOPIC
from bancheng_shared.unit_of_work import Clock, SimulatedClock, SystemClock, UnitOfWork

log = structlog.get_logger("bancheng.runtime")


@dataclass
class Runtime:
    """One service process's plumbing, shared by its routes, use cases and handlers."""

    service: str
    settings: ServiceSettings
    plumbing: Plumbing
    engine: AsyncEngine
    sm: async_sessionmaker[AsyncSession]
    relay: OutboxRelay
    topic: str = ""  # the topic this service publishes on
    clock: Clock = field(default_factory=SystemClock)  # simulated (PUT /v1/clock) where allowed
    consumers: list[IdempotentConsumer] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    def build(cls, service: str, settings: ServiceSettings, plumbing: Plumbing) -> Runtime:
        """Engine, sessions and relay for a service from its settings."""
        engine = make_engine(settings.database_url, sqlite_inline=settings.sqlite_inline)
        sm = make_sessionmaker(engine)
        relay = OutboxRelay(
            service=service,
            sessionmaker=sm,
            plumbing=plumbing,
            bootstrap=settings.kafka_bootstrap,
            topic_prefix=settings.topic_prefix,
            batch_size=settings.outbox_batch_size,
            poll_interval_s=settings.outbox_poll_interval_s,
            retention=timedelta(hours=settings.outbox_retention_hours),
            inbox_retention=timedelta(hours=settings.inbox_retention_hours),
            epoch_check_s=settings.broker_epoch_check_s,
            partitions=settings.topic_partitions,
            readers={topic: [f"{settings.consumer_group_prefix}{g}" for g in READERS[topic]]
                     for topic in [SERVICE_TOPIC.get(service, "")] if topic in READERS},
            recovery=settings.broker_recovery,
            confirm_interval_s=settings.outbox_confirm_interval_s,
            group_prefix=settings.consumer_group_prefix,
        )
        clock: Clock = SimulatedClock() if settings.simulated_time_allowed else SystemClock()
        return cls(service=service, settings=settings, plumbing=plumbing, engine=engine, sm=sm, relay=relay,
                   topic=SERVICE_TOPIC.get(service, ""), clock=clock)

    def add_consumer(self, name: str, topics: list[str], handlers: dict[str, Handler],
                     batch_handler: BatchHandler | None = None) -> IdempotentConsumer:
        """Register a consumer group of this service over some topics (see IdempotentConsumer for batch_handler)."""
        group = self.settings.consumer_group or f"{self.settings.consumer_group_prefix}{self.service}"
        consumer = IdempotentConsumer(
            service=self.service,
            topics=topics,
            handlers=handlers,
            unit=self._bound_unit,
            sessionmaker=self.sm,
            plumbing=self.plumbing,
            bootstrap=self.settings.kafka_bootstrap,
            group_id=f"{group}.{name}",
            topic_prefix=self.settings.topic_prefix,
            batch_size=self.settings.consumer_batch_size,
            after_commit=self.relay.wake,
            session_timeout_ms=self.settings.consumer_session_timeout_ms,
            heartbeat_ms=self.settings.consumer_heartbeat_ms,
            batch_handler=batch_handler,
            linger_ms=self.settings.consumer_linger_ms,
        )
        self.consumers.append(consumer)
        return consumer

    def _bound_unit(self, session: AsyncSession, cause: EventEnvelope | None,
                    after: list[Callable[[], None]]) -> UnitOfWork:
        return UnitOfWork.bound(self, session, cause=cause, after=after)

    def unit_of_work(self, correlation_id: str | None = None) -> UnitOfWork:
        """A new unit of work (enter it with `async with`) on this service's database."""
        return UnitOfWork(self, correlation_id=correlation_id)

    def spawn(self, fn: Callable[[], Awaitable[None]]) -> None:
        """Run a background loop for the life of the service."""
        self.tasks.append(asyncio.create_task(fn()))  # type: ignore[arg-type]

    async def start(self) -> None:
        """Start the relay and consumers (as configured)."""
        if self.settings.relay_enabled:
            self.spawn(self.relay.run)
        if self.settings.consumers_enabled:
            for c in self.consumers:
                self.spawn(c.run)

    async def stop(self) -> None:
        """Cancel background loops, close clients and the engine."""
        self.relay._stopping = True
        pending = set(self.tasks)
        # a loop may swallow one cancellation (asyncio.wait_for on 3.11 can): cancel again until all are done
        for _ in range(100):
            if not pending:
                break
            for t in pending:
                t.cancel()
            _done, pending = await asyncio.wait(pending, timeout=0.1)
        if pending:
            log.warning("background_tasks_did_not_stop", service=self.service, tasks=len(pending))
        self.tasks.clear()
        for c in self.consumers:
            await c.stop()
        await self.relay.stop()
        await self.engine.dispose()
        sqlite_session.dispose_twin(self.engine)

    def broker_seen_recently(self, within_s: float = 30.0) -> bool:
        """True when the relay or a consumer talked to the broker lately."""
        stamps = [self.relay.last_broker_contact, *(c.last_broker_contact for c in self.consumers)]
        latest = max((s for s in stamps if s is not None), default=None)
        return latest is not None and datetime.now(UTC) - latest < timedelta(seconds=within_s)
