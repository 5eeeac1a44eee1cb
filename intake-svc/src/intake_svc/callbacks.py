"""Callbacks out: subscriptions, signed deliveries with exponential backoff, the delivery log, replay."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import structlog
from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bancheng_shared.auth import Principal, Role
from bancheng_shared.contracts import EventEnvelope
from bancheng_shared.contracts.envelope import REGISTRY
from bancheng_shared.problems import Problem
from intake_svc.context import Intake
from intake_svc.models import SubscriptionCreate, SubscriptionUpdate
from intake_svc.store import deliveries, delivery_attempts, insert_ignore, subscriptions, tickets

log = structlog.get_logger("intake.callbacks")
KNOWN_EVENTS = frozenset(t for t, _v in REGISTRY)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 hex over `timestamp.body` (the scheme both directions use)."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def backoff_s(attempts: int, base: float, cap: float) -> float:
    """Seconds before the next try after `attempts` failures: base · 2^(attempts-1), capped."""
    return float(min(cap, base * (2 ** max(0, attempts - 1))))


def _check_types(types: list[str]) -> list[str]:
    unknown = [t for t in types if t != "*" and t not in KNOWN_EVENTS]
    if unknown:
        raise Problem(422, "event_types: unknown event types " + ", ".join(unknown), type_="validation",
                      errors=[{"field": "event_types", "message": "unknown: " + ", ".join(unknown)}])
    return sorted(set(types))


def _view(row: Any) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "url": row.url, "event_types": row.event_types,
            "platform": row.platform, "active": row.active, "created_at": row.created_at,
            "updated_at": row.updated_at}


async def create_subscription(ctx: Intake, who: Principal, body: SubscriptionCreate,
                              platform: str | None = None, session: AsyncSession | None = None) -> dict[str, Any]:
    """Register a URL for some event types, with the secret deliveries are signed with."""
    now = datetime.now(UTC)
    values = dict(id=str(uuid.uuid4()), owner_key_id=who.key_id, owner_role=who.role.value, name=body.name,
                  url=str(body.url), event_types=_check_types(body.event_types),
                  secret_enc=ctx.vault.encrypt(body.secret, "subscription"), platform=platform, active=True,
                  created_at=now, updated_at=now)
    if session is not None:
        await session.execute(insert(subscriptions).values(**values))
    else:
        async with ctx.rt.sm() as s, s.begin():
            await s.execute(insert(subscriptions).values(**values))
    return _view(type("Row", (), values))


async def _owned(session: AsyncSession, sub_id: str, who: Principal) -> Any:
    row = (await session.execute(select(subscriptions).where(subscriptions.c.id == sub_id))).first()
    if row is None or (who.role != Role.admin and row.owner_key_id != who.key_id):
        raise Problem(404, f"no subscription {sub_id!r}", type_="unknown-subscription")
    return row


async def list_subscriptions(ctx: Intake, who: Principal) -> list[dict[str, Any]]:
    """The caller's subscriptions (an admin sees all)."""
    q = select(subscriptions).order_by(subscriptions.c.created_at)
    if who.role != Role.admin:
        q = q.where(subscriptions.c.owner_key_id == who.key_id)
    async with ctx.rt.sm() as session:
        return [_view(r) for r in (await session.execute(q)).all()]


async def get_subscription(ctx: Intake, who: Principal, sub_id: str) -> dict[str, Any]:
    """One subscription."""
    async with ctx.rt.sm() as session:
        return _view(await _owned(session, sub_id, who))


async def update_subscription(ctx: Intake, who: Principal, sub_id: str, body: SubscriptionUpdate) -> dict[str, Any]:
    """Change url, event types, secret or active."""
    changes: dict[str, Any] = {}
    if body.name is not None:
        changes["name"] = body.name
    if body.url is not None:
        changes["url"] = str(body.url)
    if body.event_types is not None:
        changes["event_types"] = _check_types(body.event_types)
    if body.secret is not None:
        changes["secret_enc"] = ctx.vault.encrypt(body.secret, "subscription")
    if body.active is not None:
        changes["active"] = body.active
    async with ctx.rt.sm() as session, session.begin():
        await _owned(session, sub_id, who)
        changes["updated_at"] = datetime.now(UTC)
        await session.execute(update(subscriptions).where(subscriptions.c.id == sub_id).values(**changes))
        return _view(await _owned(session, sub_id, who))


async def delete_subscription(ctx: Intake, who: Principal, sub_id: str) -> None:
    """Remove a subscription; its undelivered deliveries are parked (kept in the log)."""
    async with ctx.rt.sm() as session, session.begin():
        await _owned(session, sub_id, who)
        await session.execute(delete(subscriptions).where(subscriptions.c.id == sub_id))
        await session.execute(update(deliveries).where(deliveries.c.subscription_id == sub_id,
                                                       deliveries.c.status == "pending")
                              .values(status="parked", last_error="subscription deleted"))


def _delivery_view(row: Any) -> dict[str, Any]:
    return {k: getattr(row, k) for k in ("id", "subscription_id", "event_id", "event_type", "ticket_no", "status",
                                         "attempts", "next_attempt_at", "last_status_code", "last_error",
                                         "created_at", "delivered_at")}


async def list_deliveries(ctx: Intake, who: Principal, sub_id: str | None, status: str | None,
                          limit: int) -> list[dict[str, Any]]:
    """The delivery log, newest first, with each delivery's attempts."""
    q = select(deliveries).order_by(deliveries.c.id.desc()).limit(limit)
    async with ctx.rt.sm() as session:
        if sub_id:
            await _owned(session, sub_id, who)
            q = q.where(deliveries.c.subscription_id == sub_id)
        elif who.role != Role.admin:
            mine = select(subscriptions.c.id).where(subscriptions.c.owner_key_id == who.key_id)
            q = q.where(deliveries.c.subscription_id.in_(mine))
        if status:
            q = q.where(deliveries.c.status == status)
        rows = (await session.execute(q)).all()
        out = []
        for r in rows:
            v = _delivery_view(r)
            v["attempt_log"] = [
                {"at": a.at, "status_code": a.status_code, "error": a.error, "duration_ms": a.duration_ms}
                for a in (await session.execute(select(delivery_attempts).where(
                    delivery_attempts.c.delivery_id == r.id).order_by(delivery_attempts.c.id))).all()
            ]
            out.append(v)
    return out


async def replay_delivery(ctx: Intake, who: Principal, delivery_id: int) -> dict[str, Any]:
    """Send a delivery again (parked or delivered): a fresh series of tries from now."""
    async with ctx.rt.sm() as session, session.begin():
        row = (await session.execute(select(deliveries).where(deliveries.c.id == delivery_id))).first()
        if row is None:
            raise Problem(404, f"no delivery {delivery_id}", type_="unknown-delivery")
        sub = (await session.execute(select(subscriptions).where(subscriptions.c.id == row.subscription_id))).first()
        if sub is None:
            raise Problem(409, "the delivery's subscription was deleted", type_="subscription-deleted")
        await _owned(session, row.subscription_id, who)
        await session.execute(update(deliveries).where(deliveries.c.id == delivery_id).values(
            status="pending", attempts=0, next_attempt_at=datetime.now(UTC), last_error=None))
        row = (await session.execute(select(deliveries).where(deliveries.c.id == delivery_id))).one()
    return _delivery_view(row)


async def enqueue_deliveries(ctx: Intake, session: AsyncSession, env: EventEnvelope) -> int:
    """Queue the event for every active subscription that wants it (once per subscription and event)."""
    # read once per consumer transaction (a batch of events), not once per event
    subs = session.info.get("active_subscriptions")
    if subs is None:
        subs = session.info["active_subscriptions"] = (
            await session.execute(select(subscriptions).where(subscriptions.c.active.is_(True)))).all()
    wanted = [s for s in subs if "*" in s.event_types or env.type in s.event_types]
    if not wanted:
        return 0
    ticket = (await session.execute(select(tickets.c.platform, tickets.c.submitted_by)
                                    .where(tickets.c.ticket_no == env.ticket_id))).first()
    body = env.to_bytes()
    now = datetime.now(UTC)
    n = 0
    for s in wanted:
        if s.platform is not None and (ticket is None or ticket.platform != s.platform):
            continue  # a platform's own callbacks carry only its own items
        if s.owner_role == Role.platform.value and s.platform is None and (
            ticket is None or ticket.submitted_by != s.owner_key_id
        ):
            continue  # a platform key's subscription sees only tickets it submitted
        n += await insert_ignore(session, deliveries, dict(
            subscription_id=s.id, event_id=str(env.event_id), event_type=env.type, ticket_no=env.ticket_id,
            body=body, status="pending", attempts=0, next_attempt_at=now, created_at=now,
        ), ["subscription_id", "event_id"])
    return n


class Deliverer:
    """The background loop that sends due deliveries (claimed with a lease, so replicas do not double-send)."""

    def __init__(self, ctx: Intake) -> None:
        self.ctx = ctx
        self.wake = asyncio.Event()

    async def run(self) -> None:
        """Forever: send what is due, then wait for the poll interval or a wake-up."""
        s = self.ctx.settings
        async with httpx.AsyncClient(timeout=s.callback_timeout_s) as client:
            while True:
                try:
                    sent = await self.run_once(client)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("delivery_loop_error")
                    sent = 0
                if sent:
                    continue
                try:
                    await asyncio.wait_for(self.wake.wait(), timeout=s.callback_poll_s)
                except TimeoutError:
                    pass
                self.wake.clear()

    async def _claim(self, batch: int) -> list[Any]:
        s = self.ctx.settings
        now = datetime.now(UTC)
        async with self.ctx.rt.sm() as session, session.begin():
            q = (select(deliveries).where(deliveries.c.status == "pending", deliveries.c.next_attempt_at <= now)
                 .order_by(deliveries.c.next_attempt_at).limit(batch))
            if session.get_bind().dialect.name == "postgresql":
                q = q.with_for_update(skip_locked=True)
            rows = (await session.execute(q)).all()
            if rows:
                # lease: another replica will not pick these up until the try must have finished
                lease = now + timedelta(seconds=s.callback_timeout_s * 3)
                await session.execute(update(deliveries).where(deliveries.c.id.in_([r.id for r in rows]))
                                      .values(next_attempt_at=lease))
            subs = {}
            for r in rows:
                if r.subscription_id not in subs:
                    subs[r.subscription_id] = (await session.execute(
                        select(subscriptions).where(subscriptions.c.id == r.subscription_id))).first()
        return [(r, subs[r.subscription_id]) for r in rows]

    async def run_once(self, client: httpx.AsyncClient, batch: int = 50) -> int:
        """Try each due delivery once; returns how many were tried."""
        claimed = await self._claim(batch)
        if claimed:
            await asyncio.gather(*(self._try(client, r, sub) for r, sub in claimed))
        return len(claimed)

    async def _try(self, client: httpx.AsyncClient, row: Any, sub: Any) -> None:
        s = self.ctx.settings
        code: int | None = None
        error: str | None = None
        started = time.perf_counter()
        if sub is None or not sub.active:
            error = "subscription deleted or inactive"
        else:
            ts = str(int(time.time()))
            secret = self.ctx.vault.decrypt(sub.secret_enc, "subscription") or ""
            headers = {"Content-Type": "application/json", "X-Bancheng-Timestamp": ts,
                       "X-Bancheng-Signature": f"sha256={sign(secret, ts, row.body)}",
                       "X-Bancheng-Event-Id": row.event_id, "X-Bancheng-Event-Type": row.event_type,
                       "X-Bancheng-Delivery": str(row.id)}
            try:
                resp = await client.post(sub.url, content=row.body, headers=headers)
                code = resp.status_code
                if not 200 <= code < 300:
                    error = f"HTTP {code}"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"[:500]
        took = (time.perf_counter() - started) * 1000
        now = datetime.now(UTC)
        attempts = row.attempts + 1
        if error is None:
            values: dict[str, Any] = dict(status="delivered", attempts=attempts, last_status_code=code,
                                          last_error=None, delivered_at=now)
        elif attempts >= s.callback_max_attempts or sub is None or not sub.active:
            values = dict(status="parked", attempts=attempts, last_status_code=code, last_error=error)
        else:
            wait = backoff_s(attempts, s.callback_backoff_base_s, s.callback_backoff_max_s)
            values = dict(attempts=attempts, last_status_code=code, last_error=error,
                          next_attempt_at=now + timedelta(seconds=wait))
        async with self.ctx.rt.sm() as session, session.begin():
            await session.execute(update(deliveries).where(deliveries.c.id == row.id).values(**values))
            await session.execute(insert(delivery_attempts).values(delivery_id=row.id, at=now, status_code=code,
                                                                   error=error, duration_ms=round(took, 2)))
        log.info("callback_delivery", delivery_id=row.id, event_type=row.event_type, ticket_id=row.ticket_no,
                 status=values.get("status", "retry"), http_status=code, attempts=attempts)


def body_json(row: Any) -> Any:
    """The delivered envelope as JSON."""
    return orjson.loads(row.body)
