"""triage's read side: work orders and their logs, the directory, catalogue versions, corrections (no writes)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select

from bancheng_shared.errors import Problem
from bancheng_shared.principal import Principal, Role
from bancheng_shared.runtime import Runtime
from triage_svc.adapters.caches import Caches
from triage_svc.adapters.tables import catalogue_versions, corrections, units, work_order_log, work_orders
from triage_svc.adapters.work_orders import WorkOrders
from triage_svc.domain.catalogue import SHIPPED_VERSION
from triage_svc.domain.directory import sees_contacts
from triage_svc.domain.lifecycle import State, allowed_actions
from triage_svc.domain.work_order import visible

Body = dict[str, Any]


async def get_work_order(rt: Runtime, ticket_no: str, who: Principal) -> Body:
    """A work order as its unit or the work team sees it, with its decision, what may be done and its log."""
    async with rt.sm() as session:
        wo = await WorkOrders(session).get(ticket_no)
        if wo is None or not visible(wo, who):
            raise Problem(404, f"no work order for ticket {ticket_no!r}", type_="unknown-ticket")
        logs = (await session.execute(select(work_order_log).where(work_order_log.c.ticket_no == ticket_no)
                                      .order_by(work_order_log.c.id))).all()
    out = dict(vars(wo))
    out["allowed_actions"] = [a.value for a in allowed_actions(State(wo.state))]
    out["log"] = [{k: v for k, v in dict(r._mapping).items() if k not in ("id", "ticket_no")} for r in logs]
    return out


async def list_work_orders(rt: Runtime, who: Principal, *, state: str | None, unit: str | None, tier: str | None,
                           limit: int, offset: int) -> list[Body]:
    """Work orders by filters, the latest changed first; a unit key sees only those it leads or receives as a
    transfer (信访 / 涉法涉诉: it signs for them)."""
    t = work_orders
    q = select(t.c.ticket_no, t.c.state, t.c.tier, t.c.category, t.c.route, t.c.lead_unit, t.c.lead_unit_name,
               t.c.transfer_unit, t.c.round, t.c.response_level, t.c.updated_at).order_by(t.c.updated_at.desc())
    if who.role == Role.unit or unit:
        of_unit = (who.unit_code or "") if who.role == Role.unit else unit  # a unit key: its own, never all
        q = q.where(or_(t.c.lead_unit == of_unit, t.c.transfer_unit == of_unit))
    if state:
        q = q.where(work_orders.c.state == state)
    if tier:
        q = q.where(work_orders.c.tier == tier)
    async with rt.sm() as session:
        return [dict(r._mapping) for r in (await session.execute(q.limit(limit).offset(offset))).all()]


def _as_seen_by(who: Principal, unit: Body) -> Body:
    """A unit's row as a caller may read it: contact numbers only for those who may see them (else null)."""
    if unit.get("contacts") is not None and not sees_contacts(who, unit["code"]):
        unit["contacts"] = None
    return unit


async def list_units(rt: Runtime, who: Principal, *, level: int | None, kind: str | None, region: str | None,
                     parent: str | None = None, active: bool | None = None, limit: int = 100,
                     offset: int = 0) -> list[Body]:
    """Directory units by filters (contact numbers as the caller may see them)."""
    q = select(units).order_by(units.c.code)
    if level is not None:
        q = q.where(units.c.level == level)
    if kind:
        q = q.where(units.c.kind == kind)
    if region:
        q = q.where(units.c.region_code.startswith(region, autoescape=True))
    if parent:
        q = q.where(units.c.parent_code == parent)
    if active is not None:
        q = q.where(units.c.active.is_(active))
    async with rt.sm() as session:
        rows = (await session.execute(q.limit(limit).offset(offset))).all()
    return [_as_seen_by(who, dict(r._mapping)) for r in rows]


async def get_unit(rt: Runtime, code: str, who: Principal) -> Body:
    """One unit with its children count (contact numbers as the caller may see them)."""
    async with rt.sm() as session:
        row = (await session.execute(select(units).where(units.c.code == code))).first()
        if row is None:
            raise Problem(404, f"no unit {code!r} in the directory", type_="unknown-unit")
        n = (await session.execute(select(func.count()).select_from(units).where(units.c.parent_code == code))
             ).scalar_one()
    return {**_as_seen_by(who, dict(row._mapping)), "children": int(n)}


async def export_units(rt: Runtime) -> list[Body]:
    """Every unit with its contacts, for export (the work team's)."""
    async with rt.sm() as session:
        return [dict(r._mapping) for r in (await session.execute(select(units).order_by(units.c.code))).all()]


async def get_catalogue(rt: Runtime, caches: Caches, version: int | None = None) -> Body:
    """The active catalogue (or one version)."""
    async with rt.sm() as session:
        if version is None:
            v, doc = await caches.active_catalogue(session)
            return {"version": v, "active": True, "catalogue": doc}
        row = (await session.execute(select(catalogue_versions).where(catalogue_versions.c.version == version))
               ).first()
    if row is None:
        if version == SHIPPED_VERSION:
            return {"version": SHIPPED_VERSION, "active": False, "catalogue": caches.shipped_copy()}
        raise Problem(404, f"no catalogue version {version}", type_="unknown-version")
    return {"version": row.version, "active": row.active, "note": row.note, "created_by": row.created_by,
            "created_at": row.created_at, "catalogue": row.doc}


async def list_catalogue_versions(rt: Runtime) -> list[Body]:
    """Every stored version (version 0 is the shipped default)."""
    async with rt.sm() as session:
        rows = (await session.execute(select(catalogue_versions.c.version, catalogue_versions.c.active,
                                             catalogue_versions.c.note, catalogue_versions.c.created_by,
                                             catalogue_versions.c.created_at)
                                      .order_by(catalogue_versions.c.version))).all()
    out = [dict(r._mapping) for r in rows]
    return [{"version": SHIPPED_VERSION, "active": not any(r["active"] for r in out),
             "note": "default shipped with triage-svc", "created_by": "triage-svc", "created_at": None}, *out]


async def list_corrections(rt: Runtime, limit: int) -> list[Body]:
    """The work team's corrections, newest first."""
    async with rt.sm() as session:
        rows = (await session.execute(select(corrections).order_by(corrections.c.id.desc()).limit(limit))).all()
    return [dict(r._mapping) for r in rows]
