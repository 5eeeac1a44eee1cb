"""Callbacks out: the subscriptions and deliveries tables, queueing deliveries, claiming due ones with a lease,
and the signed HTTP POST of one delivery."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bancheng_shared.contracts.envelope import EventEnvelope
from bancheng_shared.db import is_postgres, upsert_statement
from intake_svc.adapters.tables import deliveries, delivery_attempts, subscriptions, tickets
from intake_svc.domain import callbacks
from intake_svc.domain.signing import sign

_ACTIVE = select(subscriptions).where(subscriptions.c.active.is_(True))
_SUBMITTED = select(tickets.c.platform, tickets.c.submitted_by)


async def subscription(session: AsyncSession, sub_id: str) -> Any:
    """One subscription, or None."""
    return (await session.execute(select(subscriptions).where(subscriptions.c.id == sub_id))).first()


async def add_subscription(session: AsyncSession, values: dict[str, Any]) -> None:
    """Store a new subscription."""
    await session.execute(insert(subscriptions).values(**values))


async def change_subscription(session: AsyncSession, sub_id: str, changes: dict[str, Any]) -> None:
    """Change some columns of a subscription."""
    await session.execute(update(subscriptions).where(subscriptions.c.id == sub_id).values(**changes))


async def remove_subscription(session: AsyncSession, sub_id: str, *, park_pending: bool = True) -> None:
    """Delete a subscription; its undelivered deliveries are parked (kept in the log)."""
    await session.execute(delete(subscriptions).where(subscriptions.c.id == sub_id))
    if park_pending:
        await session.execute(update(deliveries).where(deliveries.c.subscription_id == sub_id,
                                                       deliveries.c.status == "pending")
                              .values(status="parked", last_error="subscription deleted"))


async def delivery(session: AsyncSession, delivery_id: int) -> Any:
    """One delivery, or None."""
    return (await session.execute(select(deliveries).where(deliveries.c.id == delivery_id))).first()


async def restart_delivery(session: AsyncSession, delivery_id: int, now: datetime) -> None:
    """A fresh series of tries from now."""
    await session.execute(update(deliveries).where(deliveries.c.id == delivery_id).values(
        status="pending", attempts=0, next_attempt_at=now, last_error=None))


async def enqueue(session: AsyncSession, events: Sequence[EventEnvelope], now: datetime) -> int:
    """Queue each event for every active subscription that receives it (once per subscription and event)."""
    # read once per consumer transaction (a batch of events), not once per event
    subs = session.info.get("active_subscriptions")
    if subs is None:
        subs = session.info["active_subscriptions"] = (await session.execute(_ACTIVE)).all()
    if not subs:
        return 0
    rows: list[dict[str, Any]] = []
    for env in events:
        wanted = [s for s in subs if callbacks.wants(s, env.type)]
        if not wanted:
            continue
        ticket = (await session.execute(_SUBMITTED.where(tickets.c.ticket_no == env.ticket_no))).first()
        body = env.to_bytes()
        rows += [dict(subscription_id=s.id, event_id=str(env.event_id), event_type=env.type, ticket_no=env.ticket_no,
                      body=body, status="pending", attempts=0, next_attempt_at=now, created_at=now)
                 for s in wanted if callbacks.receives(s, ticket)]
    n = 0
    ignore = upsert_statement(session, deliveries, ["subscription_id", "event_id"])
    for row in rows:  # one by one: how many were new tells whether to wake the deliverer
        n += int(getattr(await session.execute(ignore, row), "rowcount", 0) == 1)
    return n


async def claim(session: AsyncSession, now: datetime, batch: int, lease_s: float) -> list[tuple[Any, Any]]:
    """Due deliveries with their subscriptions, leased so that no other replica tries them meanwhile."""
    q = (select(deliveries).where(deliveries.c.status == "pending", deliveries.c.next_attempt_at <= now)
         .order_by(deliveries.c.next_attempt_at).limit(batch))
    if is_postgres(session):
        q = q.with_for_update(skip_locked=True)
    rows = (await session.execute(q)).all()
    if not rows:
        return []
    # lease: another replica will not pick these up until the try must have finished
    await session.execute(update(deliveries).where(deliveries.c.id.in_([r.id for r in rows]))
                          .values(next_attempt_at=now + timedelta(seconds=lease_s)))
    subs: dict[str, Any] = {}
    for r in rows:
        if r.subscription_id not in subs:
            subs[r.subscription_id] = await subscription(session, r.subscription_id)
    return [(r, subs[r.subscription_id]) for r in rows]


async def record_try(session: AsyncSession, delivery_id: int, values: dict[str, Any], *, at: datetime,
                     status_code: int | None, error: str | None, duration_ms: float) -> None:
    """The delivery's new state and the attempt in its log."""
    await session.execute(update(deliveries).where(deliveries.c.id == delivery_id).values(**values))
    await session.execute(insert(delivery_attempts).values(delivery_id=delivery_id, at=at, status_code=status_code,
                                                           error=error, duration_ms=round(duration_ms, 2)))


async def post(client: httpx.AsyncClient, url: str, body: bytes, *, secret: str, row: Any) -> tuple[int | None,
                                                                                                     str | None]:
    """POST one delivery, signed; the HTTP status and the error (None when the receiver answered 2xx)."""
    ts = str(int(time.time()))
    headers = {"Content-Type": "application/json", "X-Bancheng-Timestamp": ts,
               "X-Bancheng-Signature": f"sha256={sign(secret, ts, body)}",
               "X-Bancheng-Event-Id": row.event_id, "X-Bancheng-Event-Type": row.event_type,
               "X-Bancheng-Delivery": str(row.id)}
    try:
        resp = await client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500]
    return resp.status_code, None if 200 <= resp.status_code < 300 else f"HTTP {resp.status_code}"
