"""SMS: messages are written to the sms_outbox table in the caller's transaction; a gateway adapter sends them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from intake_svc.settings import IntakeSettings
from intake_svc.store import insert_ignore, sms_outbox


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


async def queue_sms(session: AsyncSession, gateway: SmsGateway, *, kind: str, dedupe_key: str, ticket_no: str,
                    text: str, recipient_enc: str | None = None, recipient_masked: str | None = None,
                    unit_code: str | None = None) -> None:
    """Write one message to the outbox (once per dedupe key) in the caller's transaction."""
    await insert_ignore(session, sms_outbox, dict(
        kind=kind, dedupe_key=dedupe_key, ticket_no=ticket_no, unit_code=unit_code, recipient_enc=recipient_enc,
        recipient_masked=recipient_masked, text=text, status="recorded" if gateway.records_only else "pending",
        attempts=0, created_at=datetime.now(UTC),
    ), ["dedupe_key"])


async def send_pending(sm: Any, gateway: SmsGateway, vault: Any, batch: int = 50, max_attempts: int = 5) -> int:
    """Hand pending messages to the gateway once each; returns how many were tried."""
    from sqlalchemy import select, update

    async with sm() as session:
        rows = (await session.execute(select(sms_outbox).where(sms_outbox.c.status == "pending")
                                      .order_by(sms_outbox.c.id).limit(batch))).all()
    for r in rows:
        msg = {"to": vault.decrypt(r.recipient_enc, "phone"), "unit_code": r.unit_code, "text": r.text,
               "ticket_no": r.ticket_no, "kind": r.kind, "id": r.id}
        try:
            await gateway.send(msg)
            values: dict[str, Any] = {"status": "sent", "sent_at": datetime.now(UTC), "attempts": r.attempts + 1}
        except Exception as exc:
            values = {"attempts": r.attempts + 1, "last_error": f"{type(exc).__name__}: {exc}"[:500],
                      "status": "failed" if r.attempts + 1 >= max_attempts else "pending"}
        async with sm() as session, session.begin():
            await session.execute(update(sms_outbox).where(sms_outbox.c.id == r.id).values(**values))
    return len(rows)


async def list_sms(sm: Any, ticket_no: str | None, unit_code: str | None, limit: int) -> list[dict[str, Any]]:
    """The SMS outbox, newest first (recipients masked)."""
    from sqlalchemy import select

    q = select(sms_outbox).order_by(sms_outbox.c.id.desc()).limit(limit)
    if ticket_no:
        q = q.where(sms_outbox.c.ticket_no == ticket_no)
    if unit_code:
        q = q.where(sms_outbox.c.unit_code == unit_code)
    async with sm() as session:
        rows = (await session.execute(q)).all()
    return [{"id": r.id, "kind": r.kind, "ticket_no": r.ticket_no, "unit_code": r.unit_code,
             "to": r.recipient_masked, "text": r.text, "status": r.status, "attempts": r.attempts,
             "last_error": r.last_error, "created_at": r.created_at, "sent_at": r.sent_at} for r in rows]
