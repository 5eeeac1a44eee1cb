"""triage use cases: triage and dispatch a received ticket, the unit's actions, the directory."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bancheng_shared.auth import Principal
from bancheng_shared.contracts import EventEnvelope, make_event, parse_payload
from bancheng_shared.contracts.intake import TicketReceived
from bancheng_shared.contracts.sla import DeemedSigned
from bancheng_shared.contracts.triage import TicketDispatched, TicketSigned, TicketTransferred, TicketTriaged
from bancheng_shared.contracts.vocab import Route
from bancheng_shared.outbox import add_events
from bancheng_shared.problems import Problem
from bancheng_shared.runtime import Runtime
from bancheng_shared.topics import TRIAGE_WORK_ORDERS
from triage_svc import domain
from triage_svc.store import plumbing, units, work_orders

SERVICE = "triage-svc"
_CATALOGUE = domain.load_catalogue()


async def _candidates(session: AsyncSession, kinds: list[str]) -> list[domain.UnitRef]:
    rows = (
        await session.execute(select(units).where(units.c.kind.in_(kinds), units.c.active.is_(True)))
    ).all()
    return [domain.UnitRef(r.code, r.name, r.level, r.kind, r.region_code, r.parent_code) for r in rows]


async def on_ticket_received(session: AsyncSession, env: EventEnvelope) -> None:
    """Classify, tier, route and dispatch a new ticket (consumer of TicketReceived)."""
    p = parse_payload(env, TicketReceived)
    c = domain.classify(p.content, _CATALOGUE, p.category_hint)
    now = datetime.now(UTC)
    events = [
        make_event(
            TicketTriaged(category=c.category, domain=c.domain, department_kinds=c.department_kinds, tier=c.tier,
                          response_level=c.response_level, route=c.route, region_code=p.region_code,
                          complex=c.complex, explanation=c.explanation),
            ticket_id=env.ticket_id, producer=SERVICE, causation=env,
        )
    ]
    state = "triaged"
    lead: domain.UnitRef | None = None
    if c.route in (Route.petition, Route.legal):
        kind = "petition" if c.route == Route.petition else "political_legal"
        target = domain.choose_unit(kind, p.region_code, await _candidates(session, [kind]))
        state = "transferred"
        events.append(make_event(
            TicketTransferred(route=c.route, to_unit=target.code if target else None,
                              reason="; ".join(c.explanation[-1:]), transferred_at=now),
            ticket_id=env.ticket_id, producer=SERVICE, causation=env))
    else:
        kind = c.department_kinds[0]
        cands = await _candidates(session, [kind, "local_government"])
        lead = domain.choose_unit(kind, p.region_code, cands) or domain.choose_unit(
            "local_government", p.region_code, cands)
        if lead is None:
            raise LookupError(f"no unit of kind {kind} or local government in the directory")
        state = "dispatched"
        events.append(make_event(
            TicketDispatched(lead_unit=lead.code, lead_unit_name=lead.name, unit_level=lead.level,
                             region_code=p.region_code, tier=c.tier, response_level=c.response_level,
                             complex=c.complex, round=1, dispatched_at=now),
            ticket_id=env.ticket_id, producer=SERVICE, causation=env))
    await session.execute(insert(work_orders).values(
        ticket_no=env.ticket_id, state=state, content=p.content, category=c.category.value,
        domain=c.domain.value, department_kinds=c.department_kinds, tier=c.tier.value,
        response_level=c.response_level, route=c.route.value, region_code=p.region_code,
        lead_unit=lead.code if lead else None, co_units=[], round=1, explanation=c.explanation,
        created_at=now, updated_at=now,
    ))
    await add_events(session, plumbing, events, TRIAGE_WORK_ORDERS)


async def _work_order(session: AsyncSession, ticket_no: str) -> Any:
    row = (await session.execute(select(work_orders).where(work_orders.c.ticket_no == ticket_no))).first()
    if row is None:
        raise Problem(404, f"no work order for ticket {ticket_no!r}", type_="unknown-ticket")
    return row


async def get_work_order(rt: Runtime, ticket_no: str, who: Principal) -> dict[str, Any]:
    """A work order as its unit or the work team sees it."""
    async with rt.sm() as session:
        row = await _work_order(session, ticket_no)
    if not who.can_see_unit(row.lead_unit):
        raise Problem(404, f"no work order for ticket {ticket_no!r}", type_="unknown-ticket")
    return dict(row._mapping)


async def sign(rt: Runtime, ticket_no: str, who: Principal, correlation_id: str) -> dict[str, Any]:
    """The unit signs for its work order."""
    now = datetime.now(UTC)
    async with rt.sm() as session, session.begin():
        row = await _work_order(session, ticket_no)
        if not who.can_see_unit(row.lead_unit):
            raise Problem(404, f"no work order for ticket {ticket_no!r}", type_="unknown-ticket")
        if row.state != "dispatched":
            raise Problem(409, f"work order is {row.state!r}; sign is allowed only when 'dispatched'",
                          type_="invalid-transition", state=row.state, allowed=["dispatched"])
        await session.execute(update(work_orders).where(work_orders.c.ticket_no == ticket_no)
                              .values(state="signed", updated_at=now))
        ev = make_event(TicketSigned(unit=row.lead_unit, signed_at=now, round=row.round),
                        ticket_id=ticket_no, producer=SERVICE, correlation_id=correlation_id)
        await rt.publish(session, [ev], TRIAGE_WORK_ORDERS)
    rt.relay.wake()
    return {"ticket_no": ticket_no, "state": "signed", "signed_at": now}


async def on_deemed_signed(session: AsyncSession, env: EventEnvelope) -> None:
    """sla says the acceptance window passed: the work order counts as signed."""
    p = parse_payload(env, DeemedSigned)
    row = await _work_order(session, env.ticket_id)
    if row.state == "dispatched" and row.lead_unit == p.unit:
        await session.execute(update(work_orders).where(work_orders.c.ticket_no == env.ticket_id)
                              .values(state="signed", updated_at=datetime.now(UTC)))


async def import_units(session: AsyncSession, rows: list[dict[str, Any]]) -> int:
    """Insert or replace directory rows (the caller's transaction makes it all-or-nothing)."""
    codes = [r["code"] for r in rows]
    for start in range(0, len(codes), 500):
        chunk = codes[start : start + 500]
        await session.execute(units.delete().where(units.c.code.in_(chunk)))
    for start in range(0, len(rows), 1000):
        await session.execute(insert(units), rows[start : start + 1000])
    return len(rows)


async def count_units(rt: Runtime) -> int:
    """How many units the directory holds."""
    async with rt.sm() as session:
        return int((await session.execute(select(func.count()).select_from(units))).scalar_one())


async def list_units(rt: Runtime, *, level: int | None, kind: str | None, region: str | None,
                     limit: int) -> list[dict[str, Any]]:
    """Directory units by filters."""
    q = select(units).order_by(units.c.code).limit(limit)
    if level is not None:
        q = q.where(units.c.level == level)
    if kind:
        q = q.where(units.c.kind == kind)
    if region:
        q = q.where(units.c.region_code.startswith(region))
    async with rt.sm() as session:
        return [dict(r._mapping) for r in (await session.execute(q)).all()]
