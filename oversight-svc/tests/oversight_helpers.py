"""Test helpers: put other services' events on the real broker, read oversight's outbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaProducer
from sqlalchemy import select

from bancheng_services.testing import RunningService
from bancheng_shared.contracts import EventEnvelope
from bancheng_shared.contracts.envelope import EVENT_TOPIC, EventPayload, make_event
from bancheng_shared.topics import topic_name

T0 = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)  # Monday 09:00 Asia/Shanghai


def at(hours: float = 0, days: float = 0) -> datetime:
    """A time relative to T0."""
    return T0 + timedelta(hours=hours, days=days)


def ev(payload: EventPayload, ticket: str, producer: str = "test", when: datetime | None = None) -> EventEnvelope:
    """An envelope for a payload."""
    return make_event(payload, ticket_id=ticket, producer=producer, occurred_at=when)


async def produce(bootstrap: str, prefix: str, envs: list[EventEnvelope]) -> None:
    """Publish envelopes to their topics, keyed by ticket, in order."""
    p = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await p.start()
    try:
        for e in envs:
            await p.send_and_wait(topic_name(EVENT_TOPIC[e.type], prefix), e.to_bytes(), key=e.ticket_id.encode())
    finally:
        await p.stop()


async def outbox_events(svc: RunningService, type_: str | None = None) -> list[EventEnvelope]:
    """Events oversight wrote to its outbox (what it publishes)."""
    ob = svc.runtime.plumbing.outbox
    async with svc.runtime.sm() as s:
        rows = (await s.execute(select(ob.c.value, ob.c.event_type).order_by(ob.c.id))).all()
    out = [EventEnvelope.from_bytes(r.value) for r in rows if r.event_type]
    return [e for e in out if type_ is None or e.type == type_]


def by_unit(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Stats rows keyed by unit."""
    return {r["unit"]: r for r in rows}
