"""Platforms in (their secrets and automatic callbacks), callback subscriptions and the replay of a delivery."""

from __future__ import annotations

import uuid
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from bancheng_shared.principal import Principal
from bancheng_shared.unit_of_work import UnitOfWork
from intake_svc.adapters import callbacks as subscriptions
from intake_svc.adapters import platforms as registered
from intake_svc.context import Intake
from intake_svc.domain import callbacks, platforms, targets
from intake_svc.domain.commands import (
    CreateSubscription,
    DeleteSubscription,
    RegisterPlatform,
    ReplayDelivery,
    UpdateSubscription,
)
from intake_svc.domain.timeline import FOLLOWED_TYPES
from intake_svc.models_hooks import DeliveryOut, PlatformRegistered, SubscriptionOut
from intake_svc.queries_hooks import delivery_view, subscription_view


def _subscription(ctx: Intake, who: Principal, *, name: str, url: str, event_types: list[str], secret: str,
                  now: datetime, platform: str | None = None, url_field: str = "url") -> dict[str, Any]:
    """A new subscription's row (unknown event types and targets the policy refuses are refused)."""
    return dict(id=str(uuid.uuid4()), owner_key_id=who.key_id, owner_role=who.role.value, name=name,
                url=targets.check_url(url, ctx.delivery.targets, field=url_field),
                event_types=callbacks.check_event_types(event_types, FOLLOWED_TYPES),
                secret_enc=ctx.vault.encrypt(secret, "subscription"), platform=platform, active=True,
                created_at=now, updated_at=now)


async def register_platform(cmd: RegisterPlatform, uow: UnitOfWork, ctx: Intake) -> PlatformRegistered:
    """Set a platform's secret and (optionally) where its status callbacks go (replacing its earlier ones)."""
    platforms.check_name(cmd.platform)
    async with uow:
        s, now = uow.session, uow.now()
        sub = None
        if cmd.callback_url:
            sub = _subscription(ctx, cmd.actor, name=f"platform {cmd.platform} callbacks", url=cmd.callback_url,
                                event_types=list(cmd.callback_events), secret=cmd.callback_secret or cmd.secret,
                                now=now, platform=cmd.platform, url_field="callback_url")
        row = await registered.platform(s, cmd.platform)
        if row is not None and row.subscription_id:
            await subscriptions.remove_subscription(s, row.subscription_id, park_pending=False)
        if sub is not None:
            await subscriptions.add_subscription(s, sub)
        sub_id = sub["id"] if sub is not None else None
        await registered.save_platform(s, cmd.platform, dict(
            secret_enc=ctx.vault.encrypt(cmd.secret, "platform"), subscription_id=sub_id, active=True, updated_at=now,
        ), exists=row is not None, now=now)
    return PlatformRegistered(platform=cmd.platform, callback_subscription_id=sub_id)


async def create_subscription(cmd: CreateSubscription, uow: UnitOfWork, ctx: Intake) -> SubscriptionOut:
    """Register a URL for some event types, with the secret deliveries are signed with."""
    now = uow.now()
    sub = _subscription(ctx, cmd.actor, name=cmd.name, url=cmd.url, event_types=list(cmd.event_types),
                        secret=cmd.secret, now=now)
    async with uow:
        await subscriptions.add_subscription(uow.session, sub)
    return subscription_view(SimpleNamespace(**sub), ctx, now)


async def update_subscription(cmd: UpdateSubscription, uow: UnitOfWork, ctx: Intake) -> SubscriptionOut:
    """Change url, event types, secret (the replaced one keeps signing during the overlap) or active."""
    callbacks.check_subscription_id(cmd.subscription_id)
    changes: dict[str, Any] = {}
    if cmd.name is not None:
        changes["name"] = cmd.name
    if cmd.url is not None:
        changes["url"] = targets.check_url(cmd.url, ctx.delivery.targets)
    if cmd.event_types is not None:
        changes["event_types"] = callbacks.check_event_types(list(cmd.event_types), FOLLOWED_TYPES)
    if cmd.active is not None:
        changes["active"] = cmd.active
    async with uow:
        s, now = uow.session, uow.now()
        row = await subscriptions.subscription(s, cmd.subscription_id)
        callbacks.check_owner(cmd.actor, cmd.subscription_id, row.owner_key_id if row is not None else None)
        if cmd.secret is not None:
            old = callbacks.decode_secrets(ctx.vault.decrypt(row.secret_enc, "subscription") or "")
            overlap = ctx.delivery.secret_overlap_s if cmd.previous_secret_valid_s is None \
                else cmd.previous_secret_valid_s
            ring = callbacks.rotate(old, cmd.secret, now=now, overlap_s=overlap)
            changes["secret_enc"] = ctx.vault.encrypt(callbacks.encode_secrets(ring), "subscription")
        changes["updated_at"] = now
        await subscriptions.change_subscription(s, cmd.subscription_id, changes)
        return subscription_view(await subscriptions.subscription(s, cmd.subscription_id), ctx, now)


async def delete_subscription(cmd: DeleteSubscription, uow: UnitOfWork, ctx: Intake) -> None:
    """Remove a subscription; its undelivered deliveries are parked (kept in the log)."""
    callbacks.check_subscription_id(cmd.subscription_id)
    async with uow:
        row = await subscriptions.subscription(uow.session, cmd.subscription_id)
        callbacks.check_owner(cmd.actor, cmd.subscription_id, row.owner_key_id if row is not None else None)
        await subscriptions.remove_subscription(uow.session, cmd.subscription_id)


async def replay_delivery(cmd: ReplayDelivery, uow: UnitOfWork, ctx: Intake) -> DeliveryOut:
    """Send a delivery again (parked or delivered): a fresh series of tries from now."""
    async with uow:
        s = uow.session
        row = await subscriptions.delivery(s, cmd.delivery_id)
        if row is None:
            raise callbacks.unknown_delivery(cmd.delivery_id)
        sub = await subscriptions.subscription(s, row.subscription_id)
        if sub is None:
            raise callbacks.replay_of_deleted()
        callbacks.check_owner(cmd.actor, row.subscription_id, sub.owner_key_id)
        await subscriptions.restart_delivery(s, cmd.delivery_id, uow.now())
        row = await subscriptions.delivery(s, cmd.delivery_id)
        uow.after_commit(ctx.wake_deliverer)
    return delivery_view(row)
