"""Registering a handed-down work order: once per channel id (the hotspot id, a unique submission key)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select

from bancheng_shared.principal import Principal
from bancheng_shared.unit_of_work import UnitOfWork
from intake_svc.adapters.registrar import Registrar
from intake_svc.adapters.tables import submissions
from intake_svc.domain import idempotency
from intake_svc.domain.public_lookup import token_hash
from intake_svc.models import TicketCreate


async def register(registrar: Registrar, uow: UnitOfWork, body: TicketCreate, *, caller: Principal, source: str,
                   routing: dict[str, Any], now: datetime) -> tuple[str, Callable[[], None]] | None:
    """The new ticket's number and what to run after commit, or None when this channel id was registered before."""
    channel, external_id = body.channel.value, body.external_id
    hit = (await uow.session.execute(select(submissions.c.ticket_no).where(
        submissions.c.channel == channel, submissions.c.source == source,
        submissions.c.external_id == external_id))).first()
    if hit is not None:
        return None
    ticket_no, index_it = await registrar.create_split(uow, body, caller=caller, submitted_by=caller.key_id,
                                                       platform=None, now=now, routing=routing)
    token = secrets.token_urlsafe(18)  # nobody tracks it with a token: the submission row keeps the id unique
    await uow.session.execute(insert(submissions), [dict(
        caller=caller.key_id, idempotency_key=None, channel=channel, source=source, external_id=external_id,
        request_hash=idempotency.fingerprint(body.model_dump(mode="json"), None), ticket_no=ticket_no, merged=False,
        similarity=None, repeat_count=0, token_hash=token_hash(token),
        token_enc=registrar.vault.encrypt(token, "token"), created_at=now)])
    return ticket_no, index_it
