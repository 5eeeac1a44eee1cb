"""回头看 in the database: re-checks owed for closed rounds, the queue, the answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from oversight_svc.adapters.tables import rechecks, rounds, tickets
from oversight_svc.adapters.writes import Op, upsert_op


async def closed_round(session: AsyncSession, ticket_no: str, rnd: int | None) -> Any:
    """The round a closing concerns (the one named, else the ticket's current one), with its unit and cohort."""
    if rnd is None:
        rnd = (await session.execute(select(tickets.c.round).where(tickets.c.ticket_no == ticket_no))).scalar()
    if rnd is None:
        return None
    return (await session.execute(select(rounds.c.round, rounds.c.unit, rounds.c.resolve_unit, rounds.c.dispatch_day)
                                  .where(rounds.c.ticket_no == ticket_no, rounds.c.round == rnd))).first()


async def exists(session: AsyncSession, ticket_no: str, rnd: int) -> bool:
    """Whether a round already owes (or had) its re-check."""
    return (await session.execute(select(rechecks.c.round).where(rechecks.c.ticket_no == ticket_no,
                                                                 rechecks.c.round == rnd))).first() is not None


def owed_op(session: AsyncSession, row: dict[str, Any]) -> Op | None:
    """A re-check owed (a closing seen again keeps the first)."""
    return upsert_op(session, rechecks, ["ticket_no", "round"], row, update=[])


async def latest(session: AsyncSession, ticket_no: str) -> Any:
    """A ticket's latest re-check, or None (locked on PostgreSQL against a concurrent recording)."""
    return (await session.execute(select(rechecks).where(rechecks.c.ticket_no == ticket_no)
                                  .order_by(rechecks.c.round.desc()).limit(1).with_for_update())).first()


async def record(session: AsyncSession, ticket_no: str, rnd: int, values: dict[str, Any]) -> None:
    """Store a re-check's answers."""
    await session.execute(update(rechecks).where(rechecks.c.ticket_no == ticket_no, rechecks.c.round == rnd)
                          .values(**values))


async def queue(session: AsyncSession, *, due: bool | None, now: datetime, done: bool | None, unit: str | None,
                limit: int, offset: int) -> list[Any]:
    """Re-checks, oldest due first: open ones due by now (or not yet), done or open, of a unit."""
    q = select(rechecks)
    if due is not None:
        q = q.where(rechecks.c.due_at <= now if due else rechecks.c.due_at > now, rechecks.c.done_at.is_(None))
    if done is not None:
        q = q.where(rechecks.c.done_at.is_not(None) if done else rechecks.c.done_at.is_(None))
    if unit is not None:
        q = q.where(rechecks.c.unit == unit)
    return list((await session.execute(q.order_by(rechecks.c.due_at, rechecks.c.ticket_no)
                                       .limit(limit).offset(offset))).all())


def view(r: Any) -> dict[str, Any]:
    """A re-check as the API shows it."""
    return {"ticket_no": r.ticket_no, "round": r.round, "unit": r.unit, "dispatch_day": r.dispatch_day,
            "closed_at": r.closed_at, "due_at": r.due_at, "done_at": r.done_at, "resolved": r.resolved,
            "satisfaction": r.satisfaction, "relapsed": r.relapsed, "redo": r.redo, "notes": r.notes}
