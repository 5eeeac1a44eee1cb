"""intake's background loops: the callback deliverer, the SMS sender, the merge index refresh (wired in main.py)."""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import httpx
import structlog

from bancheng_shared.runtime import Runtime
from intake_svc.adapters import callbacks as deliveries
from intake_svc.adapters import sms as sms_outbox
from intake_svc.context import Intake
from intake_svc.domain import callbacks, sms

log = structlog.get_logger("intake.jobs")


class Deliverer:
    """Sends due deliveries (claimed with a lease, so replicas do not double-send) and records each try: signed with
    every valid secret of the subscription, to an address the target policy allowed after DNS resolution, retried
    with exponential backoff and jitter."""

    def __init__(self, rt: Runtime, ctx: Intake) -> None:
        self.rt = rt
        self.ctx = ctx
        self.wake = asyncio.Event()

    async def run(self) -> None:
        """Forever: send what is due, then wait for the poll interval or a wake-up."""
        s = self.ctx.settings
        async with deliveries.client(s.callback_timeout_s) as client:
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

    async def run_once(self, client: httpx.AsyncClient, batch: int = 50) -> int:
        """Try each due delivery once; returns how many were tried."""
        async with self.rt.unit_of_work() as uow:
            claimed = await deliveries.claim(uow.session, uow.now(), batch,
                                             lease_s=self.ctx.settings.callback_timeout_s * 3)
        if claimed:
            await asyncio.gather(*(self._try(client, row, sub) for row, sub in claimed))
        return len(claimed)

    def _secrets(self, sub: Any) -> list[str] | None:
        try:
            plain = self.ctx.vault.decrypt(sub.secret_enc, "subscription")
        except Exception:
            return None
        return callbacks.decode_secrets(plain).valid(self.rt.clock.now()) if plain else None

    async def _try(self, client: httpx.AsyncClient, row: Any, sub: Any) -> None:
        started = time.perf_counter()
        subscribed = sub is not None and sub.active
        secrets = self._secrets(sub) if subscribed else None
        if not subscribed:
            sent = deliveries.Sent(None, "subscription deleted or inactive")
        elif not secrets:
            sent = deliveries.Sent(None, "the subscription's secret cannot be read")
        else:
            sent = await deliveries.post(client, sub.url, row.body, secrets=secrets, row=row,
                                         policy=self.ctx.delivery.targets, timestamp=str(int(time.time())),
                                         timeout_s=self.ctx.settings.callback_timeout_s)
        took_ms = (time.perf_counter() - started) * 1000
        async with self.rt.unit_of_work() as uow:
            now = uow.now()
            values = callbacks.after_try(attempts=row.attempts + 1, error=sent.error, status_code=sent.status_code,
                                         subscribed=subscribed, now=now, policy=self.ctx.delivery,
                                         jitter=random.random(), refused=sent.refused)
            await deliveries.record_try(uow.session, row.id, values, at=now, status_code=sent.status_code,
                                        error=sent.error, duration_ms=took_ms)
        log.info("callback_delivery", delivery_id=row.id, event_type=row.event_type, ticket_no=row.ticket_no,
                 status=values.get("status", "retry"), http_status=sent.status_code, attempts=row.attempts + 1,
                 reason=sent.error)


async def send_sms(rt: Runtime, ctx: Intake, batch: int = 50) -> int:
    """Hand pending messages to the gateway once each; returns how many were tried."""
    s = ctx.settings
    async with rt.sm() as session:
        rows = await sms_outbox.pending(session, batch, rt.clock.now())
    for r in rows:
        to = ctx.vault.decrypt(r.recipient_enc, "phone")
        msg = {"to": to, "unit_code": r.unit_code, "text": r.text, "ticket_no": r.ticket_no, "kind": r.kind,
               "id": r.id}
        try:
            await ctx.sms.send(msg)
            error = None
        except Exception as exc:
            error = sms.redact(f"{type(exc).__name__}: {exc}", to)[:500]
        async with rt.unit_of_work() as uow:
            values = sms.after_send(attempts=r.attempts + 1, error=error, now=uow.now(),
                                    max_attempts=s.sms_max_attempts, base_s=s.sms_backoff_base_s,
                                    max_s=s.sms_backoff_max_s)
            await sms_outbox.mark(uow.session, r.id, values)
        if error is not None:
            log.warning("sms_failed", sms_id=r.id, kind=r.kind, ticket_no=r.ticket_no, to=r.recipient_masked,
                        attempts=r.attempts + 1, status=values["status"], next_attempt_at=values["next_attempt_at"],
                        error=error)
    return len(rows)


async def sms_loop(rt: Runtime, ctx: Intake) -> None:
    """Forever: send pending messages, then wait for the poll interval."""
    while True:
        try:
            if not await send_sms(rt, ctx):
                await asyncio.sleep(ctx.settings.sms_poll_s)
        except Exception:
            log.exception("sms_loop_failed")
            await asyncio.sleep(ctx.settings.sms_poll_s)


async def refresh_index(rt: Runtime, ctx: Intake) -> None:
    """Forever: tickets other replicas registered become merge candidates here within merge_refresh_s."""
    s = ctx.settings
    while True:
        try:
            async with rt.sm() as session:
                await ctx.index.refresh(session, s.merge_index_days)
        except Exception:
            log.exception("merge_index_refresh_failed")
        await asyncio.sleep(s.merge_refresh_s)
