"""The read side of the hooks: subscriptions and deliveries (each caller its own), Open311 service requests within
the caller's scope (no events, no writes)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select

from bancheng_shared.principal import Principal, Role
from bancheng_shared.runtime import Runtime
from intake_svc.adapters import tickets as stored
from intake_svc.adapters.tables import deliveries, delivery_attempts, submissions, subscriptions, tickets
from intake_svc.context import Intake
from intake_svc.domain import callbacks, open311
from intake_svc.models_hooks import DeliveryAttempt, DeliveryLogged, DeliveryOut, SubscriptionOut

# ---------------------------------------------------------------- subscriptions and deliveries


def subscription_view(row: Any, ctx: Intake, now: datetime) -> SubscriptionOut:
    """A subscription as shown (never its secrets; when a replaced secret stops signing)."""
    secrets = callbacks.decode_secrets(ctx.vault.decrypt(row.secret_enc, "subscription") or "")
    return SubscriptionOut(id=row.id, name=row.name, url=row.url, event_types=row.event_types, platform=row.platform,
                           active=row.active, created_at=row.created_at, updated_at=row.updated_at,
                           previous_secret_expires_at=secrets.previous_expires_at(now))


def delivery_view(row: Any) -> DeliveryOut:
    """A delivery as the log shows it."""
    return DeliveryOut.model_validate(row, from_attributes=True)


async def list_subscriptions(rt: Runtime, ctx: Intake, who: Principal) -> list[SubscriptionOut]:
    """The caller's subscriptions (an admin sees all)."""
    q = select(subscriptions).order_by(subscriptions.c.created_at)
    if who.role != Role.admin:
        q = q.where(subscriptions.c.owner_key_id == who.key_id)
    now = rt.clock.now()
    async with rt.sm() as session:
        return [subscription_view(r, ctx, now) for r in (await session.execute(q)).all()]


async def _owned(session: Any, who: Principal, sub_id: str) -> Any:
    callbacks.check_subscription_id(sub_id)
    row = (await session.execute(select(subscriptions).where(subscriptions.c.id == sub_id))).first()
    callbacks.check_owner(who, sub_id, row.owner_key_id if row is not None else None)
    return row


async def get_subscription(rt: Runtime, ctx: Intake, who: Principal, sub_id: str) -> SubscriptionOut:
    """One subscription of the caller's."""
    async with rt.sm() as session:
        return subscription_view(await _owned(session, who, sub_id), ctx, rt.clock.now())


async def list_deliveries(rt: Runtime, who: Principal, *, subscription_id: str | None, status: str | None,
                          limit: int) -> list[DeliveryLogged]:
    """The delivery log, newest first, with each delivery's attempts."""
    q = select(deliveries).order_by(deliveries.c.id.desc()).limit(limit)
    async with rt.sm() as session:
        if subscription_id:
            await _owned(session, who, subscription_id)
            q = q.where(deliveries.c.subscription_id == subscription_id)
        elif who.role != Role.admin:
            mine = select(subscriptions.c.id).where(subscriptions.c.owner_key_id == who.key_id)
            q = q.where(deliveries.c.subscription_id.in_(mine))
        if status:
            q = q.where(deliveries.c.status == status)
        rows = (await session.execute(q)).all()
        tries: dict[int, list[DeliveryAttempt]] = {r.id: [] for r in rows}
        if rows:
            for a in (await session.execute(select(delivery_attempts).where(
                    delivery_attempts.c.delivery_id.in_(list(tries))).order_by(delivery_attempts.c.id))).all():
                tries[a.delivery_id].append(DeliveryAttempt(at=a.at, status_code=a.status_code, error=a.error,
                                                            duration_ms=a.duration_ms))
    return [DeliveryLogged(**delivery_view(r).model_dump(), attempt_log=tries[r.id]) for r in rows]


# ---------------------------------------------------------------- Open311


def _scoped(q: Any, scope: open311.Scope, who: Principal) -> Any:
    if scope == open311.Scope.unit:
        return q.where(tickets.c.unit == who.unit_code)
    if scope == open311.Scope.own:
        return q.where(tickets.c.ticket_no.in_(select(submissions.c.ticket_no)
                                               .where(submissions.c.caller == who.key_id)))
    return q


async def open311_requests(rt: Runtime, who: Principal, *, ids: Sequence[str] | None = None,
                           start: datetime | None = None, end: datetime | None = None,
                           codes: Sequence[str] | None = None, status_in: Sequence[str] | None = None,
                           status_not_in: Sequence[str] | None = None) -> list[Any]:
    """Tickets as GeoReport asks for them, within the caller's scope: by ids, or by receipt window, service codes
    and status (at most 1000, newest first)."""
    q = _scoped(select(tickets).order_by(tickets.c.ticket_no.desc()).limit(open311.MAX_REQUESTS),
                open311.scope_of(who), who)
    if ids is not None:
        q = q.where(tickets.c.ticket_no.in_(list(ids)))
    else:
        if start:
            q = q.where(tickets.c.received_at >= start)
        if end:
            q = q.where(tickets.c.received_at <= end)
        if codes is not None:
            q = q.where((tickets.c.category.in_(codes))
                        | (tickets.c.category.is_(None) & tickets.c.category_hint.in_(codes)))
        if status_in is not None:
            q = q.where(tickets.c.status.in_(status_in))
        if status_not_in is not None:
            q = q.where(tickets.c.status.not_in(status_not_in))
    async with rt.sm() as session:
        return list((await session.execute(q)).all())


async def open311_request(rt: Runtime, who: Principal, ticket_no: str) -> Any:
    """One ticket's row within the caller's scope, or None."""
    q = _scoped(select(tickets).where(tickets.c.ticket_no == ticket_no), open311.scope_of(who), who)
    async with rt.sm() as session:
        return (await session.execute(q)).first()


async def ticket_of_token(rt: Runtime, token: str) -> str | None:
    """The ticket a tracking token belongs to."""
    async with rt.sm() as session:
        return await stored.ticket_of_token(session, token)
