"""Operating gauges: what is waiting and how old it is.

Database-backed gauges (the outbox backlog, dead letters, and what a service adds as probes: sla's clocks,
intake's SMS and callbacks) are computed when Prometheus scrapes /metrics, at most once per
`ops_metrics_cache_s`; they read the database, so they survive restarts and agree across replicas.
Consumer lag per partition is set by the consumers themselves from what the broker told them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client import Counter, Gauge
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bancheng_shared.plumbing import Plumbing

if TYPE_CHECKING:
    from bancheng_shared.runtime import Runtime

log = structlog.get_logger("bancheng.ops_metrics")

OUTBOX_UNSENT = Gauge("bancheng_outbox_unsent", "Outbox rows not yet published to the broker", ["service"])
OUTBOX_OLDEST_UNSENT_AGE = Gauge(
    "bancheng_outbox_oldest_unsent_age_seconds", "Age of the oldest unpublished outbox row (0 when none)", ["service"])
DEAD_LETTERS = Gauge(
    "bancheng_dead_letters",
    "Dead letters this service wrote to a DLQ topic and still retains (outbox rows, kept for the outbox retention)",
    ["service", "topic"])
CONSUMER_LAG = Gauge(
    "bancheng_consumer_lag",
    "Records on a partition not yet handled by the group (high watermark minus the committed position)",
    ["service", "group", "topic", "partition"])
PROBE_ERRORS = Counter("bancheng_ops_metrics_errors_total", "Failed refreshes of the database-backed gauges",
                       ["service"])

# A service's own gauges: set from one read-only session (see OpsGauges)
Probe = Callable[[AsyncSession], Awaitable[None]]
DEAD_LETTER_TYPE = "DeadLetter"  # the outbox event_type of a dead letter (consumer._dead_letter's header)


def age_s(oldest: datetime | None, now: datetime) -> float:
    """Seconds since `oldest` (0 when there is none)."""
    return 0.0 if oldest is None else max(0.0, (now - oldest).total_seconds())


def outbox_probe(service: str, plumbing: Plumbing) -> Probe:
    """The outbox backlog (through the unsent index) and the retained dead letters per DLQ topic."""
    o = plumbing.outbox
    unsent = select(func.count(), func.min(o.c.created_at)).where(o.c.sent_at.is_(None))
    # no index on event_type: a scan of the retained outbox, paid at most once per cache period
    dead = select(o.c.topic, func.count()).where(o.c.event_type == DEAD_LETTER_TYPE).group_by(o.c.topic)
    seen_topics: set[str] = set()

    async def probe(session: AsyncSession) -> None:
        n, oldest = (await session.execute(unsent)).one()
        OUTBOX_UNSENT.labels(service).set(n)
        OUTBOX_OLDEST_UNSENT_AGE.labels(service).set(age_s(oldest, datetime.now(UTC)))
        counts: dict[str, int] = {topic: n for topic, n in await session.execute(dead)}
        for topic in seen_topics - counts.keys():  # pruned by retention: report 0, not the last count
            DEAD_LETTERS.labels(service, topic).set(0)
        for topic, count in counts.items():
            DEAD_LETTERS.labels(service, topic).set(count)
        seen_topics.update(counts)

    return probe


class OpsGauges:
    """Refreshes the database-backed gauges of one service, at most once per `ttl_s` (scrapes in between read
    the last values; a failed refresh keeps them and counts the error)."""

    def __init__(self, runtime: Runtime, probes: Sequence[Probe] = (), ttl_s: float | None = None) -> None:
        self.rt = runtime
        self.probes = [outbox_probe(runtime.service, runtime.plumbing), *probes]
        self.ttl_s = runtime.settings.ops_metrics_cache_s if ttl_s is None else ttl_s
        self._at = float("-inf")
        self._lock = asyncio.Lock()

    async def refresh(self) -> None:
        """Run the probes unless they ran within the cache period."""
        if time.monotonic() - self._at < self.ttl_s:
            return
        async with self._lock:
            if time.monotonic() - self._at < self.ttl_s:
                return  # a concurrent scrape refreshed while this one waited
            try:
                async with self.rt.sm() as session:
                    for probe in self.probes:
                        await probe(session)
            except Exception as exc:  # a scrape must answer: stale gauges and an error count, not a 500
                PROBE_ERRORS.labels(self.rt.service).inc()
                log.warning("ops_metrics_refresh_failed", service=self.rt.service, error=repr(exc))
            self._at = time.monotonic()


# how long a lag report waits for a partition's position before leaving that partition's figure as it was
POSITION_WAIT_S = 0.05


class LagGauge:
    """Consumer lag per assigned partition of one consumer group, from the high watermark of the last fetch."""

    def __init__(self, service: str, group: str, every_s: float = 1.0) -> None:
        self.service = service
        self.group = group
        self.every_s = every_s
        self._at = float("-inf")
        self._reported: set[TopicPartition] = set()

    async def report(self, consumer: AIOKafkaConsumer) -> None:
        """Set the lag of every assigned partition; call where position equals the committed offset."""
        if time.monotonic() - self._at < self.every_s:
            return
        reported: set[TopicPartition] = set()
        for tp in consumer.assignment():
            high = consumer.highwater(tp)
            if high is None:  # not fetched yet: unknown, not zero
                continue
            try:
                # a position being reset (e.g. after the broker came back empty) waits for the broker; the lag
                # is unknown meanwhile, and the consumer's loop must go on to its next poll
                position = await asyncio.wait_for(consumer.position(tp), timeout=POSITION_WAIT_S)
            except TimeoutError:
                if tp in self._reported:  # still assigned: its last figure stands
                    reported.add(tp)
                continue
            CONSUMER_LAG.labels(self.service, self.group, tp.topic, str(tp.partition)).set(max(0, high - position))
            reported.add(tp)
        if reported:  # the first figures as soon as a fetch brought them, then once per period
            self._at = time.monotonic()
        for tp in self._reported - reported:  # revoked in a rebalance: another member reports it now
            CONSUMER_LAG.remove(self.service, self.group, tp.topic, str(tp.partition))
        self._reported = reported
