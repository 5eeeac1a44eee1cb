"""Ticket facts and rounds as oversight learns them from the events, tier copies, return visits.

Statements are built once (see writes); a round is read once per event and not read back.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bancheng_shared.db import is_postgres, update_statement
from oversight_svc.adapters.tables import copies, rounds, tickets, units, visits
from oversight_svc.adapters.writes import Op, run, upsert, upsert_op

_ROUND_KEY = (rounds.c.ticket_no == bindparam("k_ticket_no")) & (rounds.c.round == bindparam("k_round"))
_SELECT_ROUND = select(rounds).where(_ROUND_KEY)


def _round_claim() -> Any:
    # PostgreSQL: the round created if missing, locked and returned in one round trip (instead of a locked read,
    # an insert and the read again for a new round); the no-op update is what locks and returns an existing row
    ins = pg_insert(rounds).values(ticket_no=bindparam("k_ticket_no"), round=bindparam("k_round"))
    return ins.on_conflict_do_update(index_elements=["ticket_no", "round"],
                                     set_={"round": ins.excluded.round}).returning(*rounds.c)


_ROUND_CLAIM = _round_claim()
_ROUND_VISITS = select(visits.c.unit, visits.c.resolved, visits.c.satisfaction, visits.c.redo).where(
    visits.c.ticket_no == bindparam("ticket_no"), visits.c.round == bindparam("round"))
_TICKET = select(tickets).where(tickets.c.ticket_no == bindparam("ticket_no"))
_COPY_EXISTS = select(copies.c.copy_id).where(
    copies.c.ticket_no == bindparam("ticket_no"), copies.c.purpose == bindparam("purpose"),
    copies.c.round == bindparam("round"))
_LATEST_RESULT = (select(rounds).where(rounds.c.ticket_no == bindparam("ticket_no"), rounds.c.resolved_at.is_not(None))
                  .order_by(rounds.c.round.desc()).limit(1))
_LATEST_RESULT_LOCKED = _LATEST_RESULT.with_for_update()
_INSERT_VISIT = insert(visits)


def _clock_upsert(ins: Any) -> Any:
    # does not touch the returned columns, so they show the round as it was
    c = rounds.c
    return ins.on_conflict_do_update(
        index_elements=["ticket_no", "round"],
        set_={"accept_due": ins.excluded.accept_due, "resolve_due": ins.excluded.resolve_due,
              "unit": func.coalesce(c.unit, ins.excluded.unit)},
    ).returning(c.dispatch_day, c.signed_at, c.sign_unit, c.sign_in_time, c.resolved_at, c.resolve_unit,
                c.resolve_in_time, c.extended)


_CLOCK_UPSERT = {True: _clock_upsert(pg_insert(rounds)), False: _clock_upsert(sqlite_insert(rounds))}


def ticket_op(session: AsyncSession, ticket_no: str, updated_at: datetime, **cols: Any) -> Op | None:
    """Keep facts of a ticket (creating its row)."""
    return upsert_op(session, tickets, ["ticket_no"], {"ticket_no": ticket_no, "updated_at": updated_at, **cols})


def units_op(session: AsyncSession, rows: list[dict[str, Any]], *, update: list[str] | None = None) -> Op | None:
    """Learn units (code, and name, region, level where known); `update=[]` only adds unknown ones."""
    return upsert_op(session, units, ["unit"], rows, update=update)


async def ticket(session: AsyncSession, ticket_no: str) -> Any:
    """A ticket's facts, or None."""
    return (await session.execute(_TICKET, {"ticket_no": ticket_no})).first()


async def get_round(session: AsyncSession, ticket_no: str, rnd: int) -> Any:
    """A ticket round's row, created empty first when the round is not known yet; locked on PostgreSQL (a fact
    and the round's dispatch read and count it one after the other, never both from the same state)."""
    key = {"k_ticket_no": ticket_no, "k_round": rnd}
    if is_postgres(session):
        return (await session.execute(_ROUND_CLAIM, key)).one()
    row = (await session.execute(_SELECT_ROUND, key)).first()
    if row is None:
        await upsert(session, rounds, ["ticket_no", "round"], {"ticket_no": ticket_no, "round": rnd}, update=[])
        row = (await session.execute(_SELECT_ROUND, key)).one()
    return row


async def round_visits(session: AsyncSession, ticket_no: str, rnd: int) -> list[Any]:
    """The return visits stored for a round (reached or not)."""
    return list((await session.execute(_ROUND_VISITS, {"ticket_no": ticket_no, "round": rnd})).all())


def set_round_op(ticket_no: str, rnd: int, **vals: Any) -> Op:
    """Set columns of an existing ticket round."""
    return (update_statement(rounds, sorted(vals), ["ticket_no", "round"]),
            {**vals, "k_ticket_no": ticket_no, "k_round": rnd})


def put_round_op(session: AsyncSession, ticket_no: str, rnd: int, **vals: Any) -> Op | None:
    """Set columns of a ticket round, creating it if needed (one upsert instead of an insert and an update)."""
    return upsert_op(session, rounds, ["ticket_no", "round"], {"ticket_no": ticket_no, "round": rnd, **vals})


async def set_clock(session: AsyncSession, ticket_no: str, rnd: int, unit: str | None,
                    accept_due: datetime | None, resolve_due: datetime | None) -> Any:
    """Set a round's deadlines (and its unit if none is known), creating the round if needed; returns what was
    judged for it (dispatch day; sign and result: time, unit, in time; extended) as it was before.

    One statement instead of insert, read and update."""
    row = {"ticket_no": ticket_no, "round": rnd, "unit": unit, "accept_due": accept_due, "resolve_due": resolve_due}
    return (await session.execute(_CLOCK_UPSERT[is_postgres(session)], row)).one()


async def copy_exists(session: AsyncSession, ticket_no: str, purpose: str, rnd: int) -> bool:
    """Whether this copy (ticket, purpose, round) was recorded already."""
    key = {"ticket_no": ticket_no, "purpose": purpose, "round": rnd}
    return (await session.execute(_COPY_EXISTS, key)).first() is not None


def copy_op(session: AsyncSession, row: dict[str, Any]) -> Op | None:
    """Record a copy once per ticket, purpose and round (a copy issued again is left alone)."""
    return upsert_op(session, copies, ["ticket_no", "purpose", "round"], row, update=[])


async def latest_result(session: AsyncSession, ticket_no: str) -> Any:
    """A ticket's latest round with a result, locked for the visit on PostgreSQL (None without one)."""
    q = _LATEST_RESULT_LOCKED if is_postgres(session) else _LATEST_RESULT
    return (await session.execute(q, {"ticket_no": ticket_no})).first()


async def add_visit(session: AsyncSession, ticket_no: str, visit: dict[str, Any], *, mark_visited: bool) -> None:
    """Store a return visit; a visit that reached the person closes the round's visit."""
    await run(session, [(_INSERT_VISIT, {"ticket_no": ticket_no, **visit}),
                        set_round_op(ticket_no, visit["round"], visited_at=visit["visited_at"])
                        if mark_visited else None])
