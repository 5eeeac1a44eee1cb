"""SMS: messages are written to the sms_outbox table in the caller's transaction; a gateway sends them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

import httpx
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bancheng_shared.db import upsert_statement
from intake_svc.adapters.tables import sms_outbox
from intake_svc.settings import IntakeSettings


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
        """POST the message; a non-2xx answer raises."""
        async with httpx.AsyncClient(timeout=self.timeout_s) as client:
            r = await client.post(self.url, json=message, headers=self.headers)
            r.raise_for_status()


def gateway_from_settings(settings: IntakeSettings) -> SmsGateway:
    """The HTTP gateway when a URL is configured, else record-only."""
    if settings.sms_gateway_url:
        return HttpSmsGateway(settings.sms_gateway_url, settings.sms_gateway_token)
    return RecordOnlyGateway()


async def queue(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Write messages to the outbox in the caller's transaction, once per dedupe key (one statement)."""
    if rows:
        await session.execute(upsert_statement(session, sms_outbox, ["dedupe_key"]), rows)


def message(*, kind: str, dedupe_key: str, ticket_no: str, text: str, status: str, now: datetime,
            unit_code: str | None = None, recipient_enc: str | None = None,
            recipient_masked: str | None = None) -> dict[str, Any]:
    """An outbox row."""
    return dict(kind=kind, dedupe_key=dedupe_key, ticket_no=ticket_no, unit_code=unit_code,
                recipient_enc=recipient_enc, recipient_masked=recipient_masked, text=text, status=status,
                attempts=0, created_at=now, next_attempt_at=None)


async def pending(session: AsyncSession, batch: int, now: datetime) -> list[Any]:
    """The oldest messages waiting for the gateway whose backoff is over."""
    q = (select(sms_outbox).where(sms_outbox.c.status == "pending",
                                  or_(sms_outbox.c.next_attempt_at.is_(None), sms_outbox.c.next_attempt_at <= now))
         .order_by(sms_outbox.c.id).limit(batch))
    return list((await session.execute(q)).all())


async def mark(session: AsyncSession, message_id: int, values: dict[str, Any]) -> None:
    """Record what the gateway answered."""
    await session.execute(update(sms_outbox).where(sms_outbox.c.id == message_id).values(**values))
