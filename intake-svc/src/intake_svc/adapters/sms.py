"""SMS: messages are written to the sms_outbox table in the caller's transaction; a gateway sends them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

import httpx
from prometheus_client import Counter
from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bancheng_shared import leases
from bancheng_shared.db import upsert_statement
from intake_svc.adapters.tables import sms_outbox, unit_contacts
from intake_svc.settings import IntakeSettings

# a unit's SMS without a number: parked as `no_recipient`, released when a dispatch brings the unit's number
NO_RECIPIENT_TOTAL = Counter("bancheng_intake_sms_no_recipient_total",
                             "Units' SMS parked for want of a number (parked), and released later (released)",
                             ["outcome"])


class SmsGateway(Protocol):
    """Sends one message; raises on failure."""

    records_only: bool

    async def send(self, message: dict[str, Any]) -> None:
        """Hand one message (to, unit_code, text, ticket_no) to the gateway."""


class RecordOnlyGateway:
    """The embedded default: messages stay in sms_outbox as `recorded` for operators to read back."""

    records_only = True

    async def send(self, message: dict[str, Any]) -> None:
        """Nothing to send."""


class HttpSmsGateway:
    """POSTs each message as JSON to a configured SMS gateway (e.g. the city's SMS platform)."""

    records_only = False

    def __init__(self, url: str, token: str = "", timeout_s: float = 10.0) -> None:
        self.url = url
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.timeout_s = timeout_s

    async def send(self, message: dict[str, Any]) -> None:
        """POST the message; a non-2xx answer raises. The message's outbox key goes as Idempotency-Key: a gateway
        that honours it drops the copy a replica sends after another one's lease expired mid-send."""
        headers = {**self.headers, "Idempotency-Key": f"bancheng-sms-{message['id']}"}
        async with httpx.AsyncClient(timeout=self.timeout_s) as client:
            r = await client.post(self.url, json=message, headers=headers)
            r.raise_for_status()


def gateway_from_settings(settings: IntakeSettings) -> SmsGateway:
    """The HTTP gateway when a URL is configured, else record-only."""
    if settings.sms_gateway_url:
        return HttpSmsGateway(settings.sms_gateway_url, settings.sms_gateway_token, settings.sms_timeout_s)
    return RecordOnlyGateway()


async def queue(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Write messages to the outbox in the caller's transaction, once per dedupe key (one statement)."""
    if rows:
        await session.execute(upsert_statement(session, sms_outbox, ["dedupe_key"]), rows)


def message(*, kind: str, dedupe_key: str, ticket_no: str, text: str, status: str, now: datetime,
            unit_code: str | None = None, recipient_enc: str | None = None,
            recipient_masked: str | None = None, reason: str | None = None) -> dict[str, Any]:
    """An outbox row (`reason`: why it is parked)."""
    return dict(kind=kind, dedupe_key=dedupe_key, ticket_no=ticket_no, unit_code=unit_code,
                recipient_enc=recipient_enc, recipient_masked=recipient_masked, text=text, status=status,
                attempts=0, last_error=reason, created_at=now, next_attempt_at=None)


async def claim(session: AsyncSession, batch: int, now: datetime, *, me: str, lease_s: float) -> list[Any]:
    """The oldest messages waiting for the gateway whose backoff is over and which no replica holds, leased to
    `me` (leases.claim: replicas never hand the same message over at the same time)."""
    due = and_(sms_outbox.c.status == "pending",
               or_(sms_outbox.c.next_attempt_at.is_(None), sms_outbox.c.next_attempt_at <= now))
    return await leases.claim(session, sms_outbox, due, order_by=sms_outbox.c.id, batch=batch, me=me, now=now,
                              lease_s=lease_s)


async def finish(session: AsyncSession, message_id: int, me: str, values: dict[str, Any]) -> bool:
    """Record what the gateway answered and end the claim (False: the lease expired and another replica holds it)."""
    return await leases.finish(session, sms_outbox, message_id, me, values)


async def mark(session: AsyncSession, message_id: int, values: dict[str, Any]) -> None:
    """Record what the gateway answered."""
    await session.execute(update(sms_outbox).where(sms_outbox.c.id == message_id).values(**values))


async def keep_numbers(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Store the units' SMS numbers of a ticket (ticket_no, unit_code, phone_enc, phone_masked, updated_at), the
    latest dispatch's replacing an earlier one (one statement; one row per ticket and unit)."""
    if rows:
        await session.execute(upsert_statement(session, unit_contacts, ["ticket_no", "unit_code"],
                                               ["phone_enc", "phone_masked", "updated_at"]), rows)


async def numbers(session: AsyncSession, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], Any]:
    """The stored (phone_enc, phone_masked) of these (ticket_no, unit_code) that have a number."""
    if not pairs:
        return {}
    q = select(unit_contacts.c.ticket_no, unit_contacts.c.unit_code, unit_contacts.c.phone_enc,
               unit_contacts.c.phone_masked).where(
        unit_contacts.c.ticket_no.in_(sorted({t for t, _ in pairs})), unit_contacts.c.phone_enc.is_not(None))
    rows = (await session.execute(q)).all()  # a ticket has a few units: the pairs are picked here
    return {(r.ticket_no, r.unit_code): r for r in rows if (r.ticket_no, r.unit_code) in pairs}


async def parked(session: AsyncSession, status: str, ticket_nos: list[str]) -> list[Any]:
    """The messages parked with this status (e.g. no_recipient) of these tickets (few: the status index finds them)."""
    if not ticket_nos:
        return []
    q = select(sms_outbox.c.id, sms_outbox.c.ticket_no, sms_outbox.c.unit_code).where(
        sms_outbox.c.status == status, sms_outbox.c.ticket_no.in_(sorted(set(ticket_nos))))
    return list((await session.execute(q)).all())
