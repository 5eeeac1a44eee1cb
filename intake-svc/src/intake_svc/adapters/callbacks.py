"""Callbacks out: the subscriptions and deliveries tables, queueing deliveries, claiming due ones with a lease,
and the signed HTTP POST of one delivery to an address checked after DNS resolution (SSRF guard)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bancheng_shared import leases
from bancheng_shared.contracts.envelope import EventEnvelope
from bancheng_shared.db import upsert_statement
from bancheng_shared.errors import Problem
from intake_svc.adapters.tables import deliveries, delivery_attempts, subscriptions, tickets
from intake_svc.domain import callbacks, targets
from intake_svc.domain.signing import callback_headers

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
        shown = callbacks.withheld(env.type, env.payload)
        body = (env if shown is None else env.model_copy(update={"payload": shown})).to_bytes()
        rows += [dict(subscription_id=s.id, event_id=str(env.event_id), event_type=env.type, ticket_no=env.ticket_no,
                      body=body, status="pending", attempts=0, next_attempt_at=now, created_at=now)
                 for s in wanted if callbacks.receives(s, ticket)]
    n = 0
    ignore = upsert_statement(session, deliveries, ["subscription_id", "event_id"])
    for row in rows:  # one by one: how many were new tells whether to wake the deliverer
        n += int(getattr(await session.execute(ignore, row), "rowcount", 0) == 1)
    return n


async def claim(session: AsyncSession, now: datetime, batch: int, *, me: str,
                lease_s: float) -> list[tuple[Any, Any]]:
    """Due deliveries with their subscriptions, leased to `me` (leases.claim) so that no other replica tries them
    meanwhile; a killed replica's deliveries are due again once their lease expired."""
    due = and_(deliveries.c.status == "pending", deliveries.c.next_attempt_at <= now)
    rows = await leases.claim(session, deliveries, due, order_by=deliveries.c.next_attempt_at, batch=batch, me=me,
                              now=now, lease_s=lease_s)
    subs: dict[str, Any] = {}
    for r in rows:
        if r.subscription_id not in subs:
            subs[r.subscription_id] = await subscription(session, r.subscription_id)
    return [(r, subs[r.subscription_id]) for r in rows]


async def record_try(session: AsyncSession, delivery_id: int, values: dict[str, Any], *, me: str, at: datetime,
                     status_code: int | None, error: str | None, duration_ms: float) -> bool:
    """The delivery's new state and the attempt in its log, ending the claim; False (nothing written): the lease
    had expired and another replica holds the delivery now."""
    if not await leases.finish(session, deliveries, delivery_id, me, values):
        return False
    await session.execute(insert(delivery_attempts).values(delivery_id=delivery_id, at=at, status_code=status_code,
                                                           error=error, duration_ms=round(duration_ms, 2)))
    return True


def client(timeout_s: float) -> httpx.AsyncClient:
    """The deliverer's HTTP client: no redirects followed (a 3xx is a failed try), no proxy from the environment,
    no kept-alive connections (each delivery connects to the address checked for it)."""
    return httpx.AsyncClient(timeout=timeout_s, follow_redirects=False, trust_env=False,
                             limits=httpx.Limits(max_keepalive_connections=0))


@dataclass(frozen=True)
class Sent:
    """How one try went: the receiver's HTTP status, a short reason when it failed (never the receiver's body),
    and whether the target was refused by the policy (then it is not retried)."""

    status_code: int | None
    error: str | None
    refused: bool = False


async def resolve(host: str, port: int) -> list[str]:
    """Every address a host name resolves to (an IP literal resolves to itself)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def post(client: httpx.AsyncClient, url: str, body: bytes, *, secrets: list[str], row: Any,
               policy: targets.TargetPolicy, timestamp: str, timeout_s: float) -> Sent:
    """POST one delivery, signed, to the address its host resolves to now, after the policy allowed it."""
    try:
        targets.check_url(url, policy)
        target = httpx.URL(url)
        host = target.raw_host.decode("ascii")
        port = target.port or (443 if target.scheme == "https" else 80)
    except Problem as p:
        return Sent(None, f"refused: {p.detail.removeprefix('url: ')}"[:500], refused=True)
    except (httpx.InvalidURL, UnicodeError, ValueError):
        return Sent(None, "refused: not a valid URL", refused=True)
    try:
        addresses = await asyncio.wait_for(resolve(host, port), timeout_s)
    except (OSError, TimeoutError, UnicodeError):
        return Sent(None, "DNS lookup failed")
    address, reason = targets.choose_address(host, addresses, policy)
    if address is None:
        return Sent(None, f"refused: {reason}"[:500], refused=True)
    headers = {"Content-Type": "application/json", "Host": target.netloc.decode("ascii"),
               **callback_headers(secrets, msg_id=row.event_id, timestamp=timestamp, body=body),
               "X-Bancheng-Event-Id": row.event_id, "X-Bancheng-Event-Type": row.event_type,
               "X-Bancheng-Delivery": str(row.id)}
    extensions = {"sni_hostname": host} if target.scheme == "https" else None
    try:
        # streamed and never read: the receiver's body is neither downloaded nor logged
        async with client.stream("POST", target.copy_with(host=address), content=body, headers=headers,
                                 extensions=extensions) as resp:
            code = resp.status_code
    except httpx.TimeoutException:
        return Sent(None, "timeout")
    except httpx.ConnectError:
        return Sent(None, "connection failed")
    except httpx.HTTPError as exc:
        return Sent(None, f"request failed ({type(exc).__name__})")
    if 200 <= code < 300:
        return Sent(code, None)
    if 300 <= code < 400:
        return Sent(code, f"HTTP {code}: redirects are not followed")
    return Sent(code, f"HTTP {code}")
