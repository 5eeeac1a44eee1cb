"""Hotspots handed down as work orders: the order kept, its ticket learnt from intake, its state from the facts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from oversight_svc.adapters.tables import hotspot_orders, tickets, units

_VIEW = (select(hotspot_orders, tickets.c.status, tickets.c.lead_unit, units.c.name.label("unit_name"))
         .outerjoin(tickets, tickets.c.ticket_no == hotspot_orders.c.ticket_no)
         .outerjoin(units, units.c.unit == tickets.c.lead_unit))


async def get(session: AsyncSession, hotspot_id: str) -> Any:
    """The order a hotspot was handed down as, or None."""
    return (await session.execute(select(hotspot_orders).where(hotspot_orders.c.hotspot_id == hotspot_id))).first()


async def add(session: AsyncSession, row: dict[str, Any]) -> None:
    """Keep a new order (a second one for the hotspot fails on its key)."""
    await session.execute(insert(hotspot_orders), [row])


async def link(session: AsyncSession, hotspot_id: str, ticket_no: str) -> None:
    """The ticket intake registered for the order."""
    await session.execute(update(hotspot_orders).where(hotspot_orders.c.hotspot_id == hotspot_id)
                          .values(ticket_no=ticket_no))


def view(r: Any) -> dict[str, Any]:
    """An order as the hotspot shows it: the department named, the ticket number, its status."""
    return {"hotspot_id": r.hotspot_id, "department_kind": r.department_kind, "unit_level": r.unit_level,
            "title": r.title, "summary": r.summary, "ticket_no": r.ticket_no,
            "status": (r.status or "received") if r.ticket_no else "registering",
            "unit": r.lead_unit, "unit_name": r.unit_name, "handed_down_at": r.handed_down_at}


async def views(session: AsyncSession, hotspot_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Hotspot id -> its order's view."""
    if not hotspot_ids:
        return {}
    rows = (await session.execute(_VIEW.where(hotspot_orders.c.hotspot_id.in_(hotspot_ids)))).all()
    return {r.hotspot_id: view(r) for r in rows}


async def texts(session: AsyncSession, ticket_nos: list[str], *, limit: int, chars: int) -> list[str]:
    """The texts of a hotspot's tickets (title and content, cut to `chars`), at most `limit` of them."""
    rows = (await session.execute(select(tickets.c.title, tickets.c.content)
                                  .where(tickets.c.ticket_no.in_(ticket_nos[:limit])))).all()
    return [f"{r.title or ''}{r.content or ''}"[:chars] for r in rows]


def orders_tickets() -> Any:
    """The tickets handed down for hotspots (kept out of hotspot mining: each one is a hotspot already)."""
    return select(hotspot_orders.c.ticket_no).where(hotspot_orders.c.ticket_no.is_not(None))
