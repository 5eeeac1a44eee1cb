"""The tickets as stored: one ticket with its steps, repeats and follow-ups, the person's proof, the PII log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from intake_svc.adapters.pii_vault import PiiVault
from intake_svc.adapters.tables import follow_ups, pii_access_log, repeats, submissions, tickets, timeline
from intake_svc.domain.public_lookup import phone_proves, token_hash
from intake_svc.domain.timeline import FOLLOW_UP_LABEL


async def ticket(session: AsyncSession, ticket_no: str) -> Any:
    """A ticket's row, or None."""
    return (await session.execute(select(tickets).where(tickets.c.ticket_no == ticket_no))).first()


async def steps(session: AsyncSession, ticket_no: str, *, public_only: bool = False) -> list[Any]:
    """A ticket's timeline, in order (only the steps the person may see with `public_only`)."""
    q = select(timeline).where(timeline.c.ticket_no == ticket_no)
    if public_only:
        q = q.where(timeline.c.public == 1)
    return list((await session.execute(q.order_by(timeline.c.at, timeline.c.id))).all())


async def repeats_of(session: AsyncSession, ticket_no: str) -> list[Any]:
    """The repeats merged into a ticket, in order."""
    return list((await session.execute(select(repeats).where(repeats.c.ticket_no == ticket_no)
                                       .order_by(repeats.c.seq))).all())


async def follow_ups_of(session: AsyncSession, ticket_no: str) -> list[Any]:
    """What the person added, in order."""
    return list((await session.execute(select(follow_ups).where(follow_ups.c.ticket_no == ticket_no)
                                       .order_by(follow_ups.c.id))).all())


async def ticket_of_token(session: AsyncSession, token: str) -> str | None:
    """The ticket a tracking token belongs to."""
    row = (await session.execute(select(submissions.c.ticket_no)
                                 .where(submissions.c.token_hash == token_hash(token)))).first()
    return row.ticket_no if row is not None else None


async def proven(session: AsyncSession, vault: PiiVault, ticket_no: str, *, phone_last4: str | None,
                 token: str | None) -> Any:
    """The ticket's row when the proof opens it (its tracking token, or the last four digits of a phone that
    asked about it), else None."""
    row = await ticket(session, ticket_no)
    if row is None or not (phone_last4 or token):
        return None
    if token and await ticket_of_token(session, token) == ticket_no:
        return row
    if phone_last4:
        phones = [vault.decrypt(row.phone_enc, "phone")]
        phones += [vault.decrypt(r.phone_enc, "phone") for r in (await session.execute(
            select(repeats.c.phone_enc).where(repeats.c.ticket_no == ticket_no,
                                              repeats.c.phone_enc.is_not(None)))).all()]
        if phone_proves(phones, phone_last4):
            return row
    return None


async def add_follow_up(session: AsyncSession, ticket_no: str, *, content: str, added_by: str, now: datetime) -> int:
    """Store a follow-up and its timeline step; how many the ticket has now."""
    await session.execute(insert(follow_ups).values(ticket_no=ticket_no, content=content, added_by=added_by,
                                                    added_at=now))
    await session.execute(insert(timeline).values(ticket_no=ticket_no, at=now, event_type="FollowUpAdded",
                                                  label=FOLLOW_UP_LABEL, public=1))
    return int((await session.execute(select(func.count()).select_from(follow_ups)
                                      .where(follow_ups.c.ticket_no == ticket_no))).scalar_one())


async def log_pii_access(session: AsyncSession, *, at: datetime, key_id: str, key_name: str, role: str,
                         ticket_no: str, fields: list[str], route: str) -> None:
    """Record a full read of complainant data."""
    await session.execute(insert(pii_access_log).values(at=at, key_id=key_id, key_name=key_name, role=role,
                                                        ticket_no=ticket_no, fields=fields, route=route))
