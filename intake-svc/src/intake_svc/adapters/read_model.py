"""The timeline read model kept from every topic: prebuilt statements, a batch's writes at once."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from intake_svc.adapters.tables import tickets, timeline

# Statements built once: a batch only brings parameters.
_INSERT_STEPS = insert(timeline)
_UNIT_NAMES = select(tickets.c.ticket_no, tickets.c.unit_name).where(
    tickets.c.ticket_no.in_(bindparam("ticket_nos", expanding=True)))

_PHONES = select(tickets.c.ticket_no, tickets.c.phone_enc).where(
    tickets.c.ticket_no.in_(bindparam("ticket_nos", expanding=True)))


async def phones(session: AsyncSession, ticket_nos: Iterable[str]) -> dict[str, str | None]:
    """The complainant's encrypted phone of each ticket (None when anonymous; unknown tickets left out)."""
    wanted = sorted(set(ticket_nos))
    if not wanted:
        return {}
    return {r.ticket_no: r.phone_enc for r in (await session.execute(_PHONES, {"ticket_nos": wanted})).all()}


async def add_steps(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert timeline lines (one multi-row insert)."""
    if rows:
        await session.execute(_INSERT_STEPS, rows)


async def unit_names(session: AsyncSession, ticket_nos: Iterable[str]) -> dict[str, str | None]:
    """The unit name each ticket has now (tickets not registered here are left out)."""
    wanted = sorted(set(ticket_nos))
    if not wanted:
        return {}
    return {r.ticket_no: r.unit_name for r in (await session.execute(_UNIT_NAMES, {"ticket_nos": wanted})).all()}


async def update_tickets(session: AsyncSession, changes: dict[str, dict[str, Any]], now: datetime) -> None:
    """Set each ticket's changed columns, one statement per shape of change (an unknown ticket updates nothing)."""
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for ticket_no, values in changes.items():
        if values:
            by_columns.setdefault((*sorted(values), "updated_at"), []).append(
                {**values, "updated_at": now, "k_ticket_no": ticket_no})
    for columns, rows in by_columns.items():
        await session.execute(_update(columns), rows)


_UPDATES: dict[tuple[str, ...], Any] = {}
# a ticket an operator merged into another keeps its status: other services may still report on it
_KEEP_WHEN_MERGED = ("status", "status_label")


def _update(columns: tuple[str, ...]) -> Any:
    """UPDATE tickets SET … WHERE ticket_no = :k_ticket_no, built once per shape; a merged ticket's status stays."""
    stmt = _UPDATES.get(columns)
    if stmt is None:
        values: dict[str, Any] = {c: bindparam(c, type_=tickets.c[c].type) for c in columns}
        for c in _KEEP_WHEN_MERGED:
            if c in values:
                values[c] = case((tickets.c.merged_into.is_(None), values[c]), else_=tickets.c[c])
        stmt = _UPDATES[columns] = (update(tickets).where(tickets.c.ticket_no == bindparam("k_ticket_no"))
                                    .values(values))
    return stmt
