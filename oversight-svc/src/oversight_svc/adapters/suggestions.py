"""Process-improvement suggestions in the database: store, load (locked for the answer), list with filters, and the
per-department counts of a period in one grouped statement."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bancheng_shared.db import is_postgres
from bancheng_shared.errors import Problem
from oversight_svc.adapters.tables import cases, suggestions, tickets, units
from oversight_svc.domain.suggestions import OVERDUE, RAISED

_ONE = select(suggestions).where(suggestions.c.suggestion_id == bindparam("suggestion_id"))
_ONE_LOCKED = _ONE.with_for_update()
_TICKET = select(tickets.c.ticket_no).where(tickets.c.ticket_no == bindparam("ref"))
_CASE = select(cases.c.case_id).where(cases.c.case_id == bindparam("ref"))
_UNIT = select(units.c.unit).where(units.c.unit == bindparam("unit"))
_INSERT = insert(suggestions)


async def source_known(session: AsyncSession, source: str, ref: str) -> bool:
    """A ticket or a case oversight knows (a window visit is only its reference)."""
    q = {"ticket": _TICKET, "case": _CASE}.get(source)
    return q is None or (await session.execute(q, {"ref": ref})).first() is not None


async def unit_known(session: AsyncSession, unit: str) -> bool:
    """A unit oversight knows (from dispatches, cases and accountability)."""
    return (await session.execute(_UNIT, {"unit": unit})).first() is not None


async def add(session: AsyncSession, row: dict[str, Any]) -> None:
    """Store a raised suggestion."""
    await session.execute(_INSERT, row)


async def load(session: AsyncSession, suggestion_id: str, *, lock: bool = False) -> Any:
    """A suggestion (locked for the answer on PostgreSQL), or 404."""
    q = _ONE_LOCKED if lock and is_postgres(session) else _ONE
    row = (await session.execute(q, {"suggestion_id": suggestion_id})).first()
    if row is None:
        raise Problem(404, f"suggestion {suggestion_id!r} is unknown", type_="unknown-suggestion")
    return row


async def set_answer(session: AsyncSession, suggestion_id: str, values: dict[str, Any]) -> None:
    """Store the department's answer."""
    await session.execute(update(suggestions).where(suggestions.c.suggestion_id == suggestion_id).values(**values))


def _in_region(region: str) -> Any:
    return suggestions.c.department.in_(select(units.c.unit).where(units.c.region_code.like(f"{region}%")))


async def listed(session: AsyncSession, *, now: datetime, department: str | None, status: str | None,
                 source: str | None, lo: datetime | None, hi: datetime | None, limit: int, offset: int) -> list[Any]:
    """Suggestions raised in [lo, hi) (when given), newest first; `overdue`: raised and past due at now."""
    q = select(suggestions).order_by(suggestions.c.raised_at.desc(), suggestions.c.suggestion_id)
    if department:
        q = q.where(suggestions.c.department == department)
    if status == OVERDUE:
        q = q.where(suggestions.c.status == RAISED, suggestions.c.due_at < now)
    elif status:
        q = q.where(suggestions.c.status == status)
    if source:
        q = q.where(suggestions.c.source == source)
    if lo is not None and hi is not None:
        q = q.where(suggestions.c.raised_at >= lo, suggestions.c.raised_at < hi)
    return list((await session.execute(q.limit(limit).offset(offset))).all())


async def period_groups(session: AsyncSession, lo: datetime, hi: datetime, now: datetime, *,
                        department: str | None = None,
                        region: str | None = None) -> list[tuple[str, str, bool, bool, int]]:
    """(department, status, past due at now, late, n) of the suggestions raised in [lo, hi): one grouped statement,
    so a year of a city's suggestions is never read row by row."""
    past_due = (suggestions.c.due_at < now).label("past_due")
    q = (select(suggestions.c.department, suggestions.c.status, past_due, suggestions.c.late, func.count())
         .where(suggestions.c.raised_at >= lo, suggestions.c.raised_at < hi)
         .group_by(suggestions.c.department, suggestions.c.status, past_due, suggestions.c.late))
    if department:
        q = q.where(suggestions.c.department == department)
    if region:
        q = q.where(_in_region(region))
    return [(r[0], r[1], bool(r[2]), bool(r[3]), int(r[4])) for r in (await session.execute(q)).all()]
