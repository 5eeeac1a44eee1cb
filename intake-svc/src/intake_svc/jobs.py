"""intake's background loops: the callback deliverer, the SMS sender, the merge index refresh (wired in main.py)."""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import httpx
import structlog

from bancheng_shared import leases
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

    def __init__(self, rt: Runtime, ctx: Intake, me: str | None = None) -> None:
        self.rt = rt
        self.ctx = ctx
        self.wake = asyncio.Event()
        self.me = me or leases.new_replica_id("intake-callbacks@")
        s = ctx.settings
        # DNS and the POST each wait up to the timeout
        self.lease_s = max(s.callback_lease_s, 3 * s.callback_timeout_s)

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
            claimed = await deliveries.claim(uow.session, uow.now(), batch, me=self.me, lease_s=self.lease_s)
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
            held = await deliveries.record_try(uow.session, row.id, values, me=self.me, at=now,
                                               status_code=sent.status_code, error=sent.error, duration_ms=took_ms)
        if not held:
            log.warning("callback_lease_lost", delivery_id=row.id, ticket_no=row.ticket_no,
                        delivered=sent.error is None)
            return
        log.info("callback_delivery", delivery_id=row.id, event_type=row.event_type, ticket_no=row.ticket_no,
                 status=values.get("status", "retry"), http_status=sent.status_code, attempts=row.attempts + 1,
                 reason=sent.error)


class SmsSender:
    """Hands pending messages to the gateway: each claimed with a lease (replicas never send one twice at the same
    time; a killed replica's messages are taken over when its lease expires), the answer recorded in the statement
    that ends the claim, a failure retried with exponential backoff and jitter, parked after the last try."""

    def __init__(self, rt: Runtime, ctx: Intake, me: str | None = None) -> None:
        self.rt = rt
        self.ctx = ctx
        self.me = me or leases.new_replica_id("intake-sms@")
        s = ctx.settings
        self.lease_s = max(s.sms_lease_s, 3 * s.sms_timeout_s)

    async def run(self) -> None:
        """Forever: send what is due, then wait for the poll interval."""
        while True:
            try:
                if not await self.run_once():
                    await asyncio.sleep(self.ctx.settings.sms_poll_s)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("sms_loop_failed")
                await asyncio.sleep(self.ctx.settings.sms_poll_s)

    async def run_once(self, batch: int = 50) -> int:
        """Claim due messages and hand each to the gateway once; returns how many were tried."""
        async with self.rt.unit_of_work() as uow:
            rows = await sms_outbox.claim(uow.session, batch, uow.now(), me=self.me, lease_s=self.lease_s)
        for r in rows:
            await self._send(r)
        return len(rows)

    async def _send(self, r: Any) -> None:
        s, ctx = self.ctx.settings, self.ctx
        to = ctx.vault.decrypt(r.recipient_enc, "phone")
        msg = {"to": to, "unit_code": r.unit_code, "text": r.text, "ticket_no": r.ticket_no, "kind": r.kind,
               "id": r.id}
        try:
            await ctx.sms.send(msg)
            error = None
        except Exception as exc:
            error = sms.redact(f"{type(exc).__name__}: {exc}", to)[:500]
        async with self.rt.unit_of_work() as uow:
            values = sms.after_send(attempts=r.attempts + 1, error=error, now=uow.now(),
                                    max_attempts=s.sms_max_attempts, base_s=s.sms_backoff_base_s,
                                    max_s=s.sms_backoff_max_s, jitter=random.random())
            held = await sms_outbox.finish(uow.session, r.id, self.me, values)
        if not held:
            # the lease ran out while the gateway answered: the replica that took the message over records it
            log.warning("sms_lease_lost", sms_id=r.id, kind=r.kind, ticket_no=r.ticket_no, sent=error is None)
        elif error is not None:
            log.warning("sms_failed", sms_id=r.id, kind=r.kind, ticket_no=r.ticket_no, to=r.recipient_masked,
                        attempts=r.attempts + 1, status=values["status"], next_attempt_at=values["next_attempt_at"],
                        error=error)


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
