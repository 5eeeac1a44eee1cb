"""Hotspots in the database: the tickets mined (kind, category, place, text) and the hotspots kept."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from oversight_svc.adapters.hand_downs import orders_tickets
from oversight_svc.adapters.tables import hotspots, tickets
from oversight_svc.adapters.writes import run, upsert_op
from oversight_svc.domain.hotspots import HotspotTicket


async def candidates(session: AsyncSession, lo: datetime, hi: datetime) -> list[HotspotTicket]:
    """Tickets received in [lo, hi) that triage classified (their first department kind), but hotspots' own work
    orders."""
    q = select(tickets.c.ticket_no, tickets.c.kinds, tickets.c.category, tickets.c.region_code,
               tickets.c.title, tickets.c.content).where(tickets.c.received_at >= lo, tickets.c.received_at < hi,
                                                         tickets.c.kinds.is_not(None),
                                                         tickets.c.ticket_no.not_in(orders_tickets()))
    rows = (await session.execute(q)).all()
    return [HotspotTicket(r.ticket_no, (r.kinds or ["unknown"])[0], r.category, r.region_code,
                          f"{r.title or ''}{r.content or ''}") for r in rows if r.kinds]


async def keep(session: AsyncSession, found: list[dict[str, Any]], now: datetime) -> None:
    """Keep the hotspots found (a hotspot found again is updated, its case kept)."""
    await run(session, [upsert_op(session, hotspots, ["hotspot_id"], {
        "hotspot_id": h["hotspot_id"], "kind": h["kind"], "category": h["category"], "title": h["title"],
        "ticket_nos": h["ticket_nos"], "places": h["places"], "detected_at": now},
        update=["title", "ticket_nos", "places", "detected_at"]) for h in found])


async def case_ids(session: AsyncSession) -> dict[str, str | None]:
    """Hotspot id -> the case opened for it."""
    return {r.hotspot_id: r.case_id for r in (await session.execute(
        select(hotspots.c.hotspot_id, hotspots.c.case_id))).all()}


async def get(session: AsyncSession, hotspot_id: str) -> Any:
    """A kept hotspot, or None."""
    return (await session.execute(select(hotspots).where(hotspots.c.hotspot_id == hotspot_id))).first()


async def set_case(session: AsyncSession, hotspot_id: str, case_id: str) -> None:
    """Remember the case opened for a hotspot."""
    await session.execute(update(hotspots).where(hotspots.c.hotspot_id == hotspot_id).values(case_id=case_id))
