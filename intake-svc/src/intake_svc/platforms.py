"""Platforms in: per-platform secrets, signed requests (timestamp + body), replay protection."""

from __future__ import annotations

import hmac
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from bancheng_shared.auth import Principal
from bancheng_shared.problems import Problem
from intake_svc import callbacks, service
from intake_svc.context import Intake
from intake_svc.models import PlatformItem, PlatformRegister, SubscriptionCreate, TicketCreated
from intake_svc.store import platforms, seen_signatures, subscriptions

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{1,63}$")


def _bad_signature(detail: str) -> Problem:
    return Problem(401, detail, type_="bad-signature")


async def register_platform(ctx: Intake, who: Principal, name: str, body: PlatformRegister) -> dict[str, Any]:
    """Set a platform's secret and (optionally) where its status callbacks go."""
    if not NAME.match(name):
        raise service.field_problem("platform", "lower-case letters, digits, '-' or '_' (2-64)")
    now = datetime.now(UTC)
    async with ctx.rt.sm() as session, session.begin():
        row = (await session.execute(select(platforms).where(platforms.c.name == name))).first()
        sub_id = row.subscription_id if row else None
        if sub_id:
            await session.execute(delete(subscriptions).where(subscriptions.c.id == sub_id))
            sub_id = None
        if body.callback_url:
            sub = await callbacks.create_subscription(
                ctx, who, SubscriptionCreate(name=f"platform {name} callbacks", url=body.callback_url,
                                             event_types=body.callback_events,
                                             secret=body.callback_secret or body.secret),
                platform=name, session=session)
            sub_id = sub["id"]
        values = dict(secret_enc=ctx.vault.encrypt(body.secret, "platform"), subscription_id=sub_id, active=True,
                      updated_at=now)
        if row:
            await session.execute(update(platforms).where(platforms.c.name == name).values(**values))
        else:
            await session.execute(insert(platforms).values(name=name, created_at=now, **values))
    return {"platform": name, "callback_subscription_id": sub_id}


async def _secret(ctx: Intake, name: str) -> str | None:
    async with ctx.rt.sm() as session:
        row = (await session.execute(select(platforms).where(platforms.c.name == name,
                                                             platforms.c.active.is_(True)))).first()
    if row is not None:
        return ctx.vault.decrypt(row.secret_enc, "platform")
    return ctx.settings.platform_secrets.get(name)


async def receive_item(ctx: Intake, who: Principal, name: str, raw: bytes, timestamp: str | None,
                       signature: str | None, correlation_id: str) -> TicketCreated:
    """Verify the signature, refuse stale or replayed ones, then register the item (idempotent on its id)."""
    secret = await _secret(ctx, name)
    if secret is None:
        raise Problem(404, f"unknown platform {name!r}", type_="unknown-platform")
    if not timestamp or not timestamp.isdigit():
        raise _bad_signature("X-Bancheng-Timestamp header missing or not unix seconds")
    if not signature:
        raise _bad_signature("X-Bancheng-Signature header missing")
    skew = abs(time.time() - int(timestamp))
    if skew > ctx.settings.platform_max_skew_s:
        raise Problem(401, f"timestamp is {int(skew)} s off; at most {ctx.settings.platform_max_skew_s} s allowed",
                      type_="stale-timestamp")
    given = signature.removeprefix("sha256=").strip().lower()
    expected = callbacks.sign(secret, timestamp, raw)
    if not hmac.compare_digest(given, expected):
        raise _bad_signature("signature does not match the body and timestamp")
    try:
        item = PlatformItem.model_validate_json(raw)
    except ValidationError as exc:
        errors = [{"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]} for e in exc.errors()]
        if any(e["type"] == "json_invalid" for e in exc.errors()):
            raise Problem(400, "malformed JSON body", type_="malformed-json") from exc
        raise Problem(422, "; ".join(f"{e['field']}: {e['message']}" for e in errors), type_="validation",
                      errors=errors) from exc
    # the signature is recorded first and in its own transaction: a replay is refused even while the
    # first request is still being registered
    now = datetime.now(UTC)
    try:
        async with ctx.rt.sm() as session, session.begin():
            await session.execute(insert(seen_signatures).values(signature=expected, platform=name, seen_at=now))
            # signatures older than the skew window can never be accepted again: forget them
            await session.execute(delete(seen_signatures).where(
                seen_signatures.c.seen_at < now - timedelta(seconds=2 * ctx.settings.platform_max_skew_s)))
    except IntegrityError as exc:
        raise Problem(409, "this signature was already used (replay refused); sign again with a new timestamp",
                      type_="replayed-signature") from exc
    try:
        return await service.register_ticket(ctx, item.as_ticket(), caller=who, idempotency_key=None,
                                             correlation_id=correlation_id, platform=name)
    except Exception:
        # the request failed: it wrote nothing, so its signature may be used again
        async with ctx.rt.sm() as session, session.begin():
            await session.execute(delete(seen_signatures).where(seen_signatures.c.signature == expected))
        raise
