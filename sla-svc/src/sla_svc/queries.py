"""sla's read side: a ticket's clocks, lists of clocks and alerts, the calendars, the service's time."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, and_, func, select
from sqlalchemy.sql.elements import ColumnElement

from bancheng_shared.errors import Problem
from bancheng_shared.principal import Principal, Role
from sla_svc.adapters.calendars import CalendarStore
from sla_svc.adapters.tables import alerts, clocks, extension_requests, pause_requests, pauses, timers
from sla_svc.context import Sla
from sla_svc.domain.ladder import RUNNING


def _row(r: Any) -> dict[str, Any]:
    return dict(r._mapping)


def clock_view(c: dict[str, Any], sla: Sla) -> dict[str, Any]:
    """A clock as the API shows it: flags, restarts, local deadline, overdue."""
    view = {k: v for k, v in c.items() if k not in ("gen", "detail", "flagged_years", "unknown_year")}
    view["flagged"] = bool(c["unknown_year"])
    view["flagged_years"] = c.get("flagged_years") or []
    view["flagged_steps"] = list((c.get("detail") or {}).get("waiting") or {})
    view["restarts"] = (c.get("detail") or {}).get("restarts", [])
    if c["resolve_due"] is not None:
        view["resolve_due_local"] = c["resolve_due"].astimezone(sla.tz).isoformat()
        view["overdue"] = c["state"] == RUNNING and sla.time.now() > c["resolve_due"]
    return view


async def get_clock(sla: Sla, ticket_no: str, who: Principal) -> dict[str, Any]:
    """Every round's deadlines, alert level, explanation, extensions, pauses and pending transitions."""
    async with sla.rt.sm() as session:
        rows = [_row(r) for r in (await session.execute(select(clocks).where(clocks.c.ticket_no == ticket_no)
                                                        .order_by(clocks.c.round))).all()]
        if not rows or not who.can_see_unit(rows[-1]["unit"]):
            raise Problem(404, f"no clock for ticket {ticket_no!r}", type_="unknown-ticket")
        exts = [_row(r) for r in (await session.execute(select(extension_requests).where(
            extension_requests.c.ticket_no == ticket_no).order_by(extension_requests.c.requested_at))).all()]
        ps = [_row(r) for r in (await session.execute(select(pauses).where(pauses.c.ticket_no == ticket_no)
                                                      .order_by(pauses.c.id))).all()]
        prs = [_row(r) for r in (await session.execute(select(pause_requests).where(
            pause_requests.c.ticket_no == ticket_no).order_by(pause_requests.c.requested_at))).all()]
        ts = [_row(r) for r in (await session.execute(select(timers).where(timers.c.ticket_no == ticket_no)
                                                      .order_by(timers.c.due_at))).all()]
    out = []
    for c in rows:
        v = clock_view(c, sla)
        v["extension_requests"] = [e for e in exts if e["round"] == c["round"]]
        v["pauses"] = [{k: p[k] for k in p if k not in ("ticket_no",)} for p in ps if p["round"] == c["round"]]
        v["pause_requests"] = [p for p in prs if p["round"] == c["round"]]
        v["pending_transitions"] = [{"kind": t["kind"], "due_at": t["due_at"], "status": t["status"]}
                                    for t in ts if t["round"] == c["round"] and t["gen"] == c["gen"]]
        out.append(v)
    return {"ticket_no": ticket_no, "current_round": rows[-1]["round"], "now": sla.time.now(), "rounds": out}


async def list_clocks(sla: Sla, who: Principal, *, flagged: bool | None, unit: str | None, state: str | None,
                      limit: int, offset: int) -> dict[str, Any]:
    """Clocks with filters (flagged ones first of all for the operators), paginated."""
    unit = own_unit(who, unit, "clocks")
    conds: list[ColumnElement[bool]] = []
    if flagged is not None:
        conds.append(clocks.c.unknown_year.is_(flagged))
    if unit:
        conds.append(clocks.c.unit == unit)
    if state:
        conds.append(clocks.c.state == state)
    where = and_(True, *conds)
    async with sla.rt.sm() as session:
        total = (await session.execute(select(func.count()).select_from(clocks).where(where))).scalar_one()
        rows = (await session.execute(select(clocks).where(where).order_by(clocks.c.started_at, clocks.c.ticket_no,
                                                                           clocks.c.round)
                                      .limit(limit).offset(offset))).all()
    return {"items": [clock_view(_row(r), sla) for r in rows], "total": total, "limit": limit, "offset": offset}


async def list_alerts(sla: Sla, who: Principal, *, level: str | None, unit: str | None, region: str | None,
                      open_only: bool, ticket_no: str | None, limit: int, offset: int) -> dict[str, Any]:
    """Alerts with filters (level, unit, region prefix, open only), newest first, paginated."""
    unit = own_unit(who, unit, "alerts")
    conds: list[ColumnElement[bool]] = []
    if level:
        conds.append(alerts.c.level == level)
    if unit:
        conds.append(alerts.c.unit == unit)
    if region:
        conds.append(alerts.c.region_code.like(region + "%"))
    if open_only:
        conds.append(alerts.c.is_open.is_(True))
    if ticket_no:
        conds.append(alerts.c.ticket_no == ticket_no)
    where = and_(True, *conds)
    async with sla.rt.sm() as session:
        total = (await session.execute(select(func.count()).select_from(alerts).where(where))).scalar_one()
        rows = (await session.execute(select(alerts).where(where).order_by(alerts.c.id.desc())
                                      .limit(limit).offset(offset))).all()
    return {"items": [_row(r) for r in rows], "total": total, "limit": limit, "offset": offset}


def own_unit(who: Principal, unit: str | None, what: str) -> str | None:
    """The unit filter of a list: a unit key sees only its own unit (403 when it names another)."""
    if who.role != Role.unit:
        return unit
    if unit and unit != who.unit_code:
        raise Problem(403, f"a unit key sees only its own unit's {what}", type_="forbidden")
    return who.unit_code


async def list_pause_requests(sla: Sla, who: Principal, *, state: str | None, unit: str | None,
                              ticket_no: str | None, limit: int, offset: int) -> dict[str, Any]:
    """Pause requests (pending ones: the work team's to rule on), oldest first, paginated."""
    return await _list_requests(sla, pause_requests, own_unit(who, unit, "pause requests"), state=state,
                                ticket_no=ticket_no, limit=limit, offset=offset)


async def list_extension_requests(sla: Sla, who: Principal, *, state: str | None, unit: str | None,
                                  ticket_no: str | None, limit: int, offset: int) -> dict[str, Any]:
    """Extension requests (pending ones: the work team's to rule on), oldest first, paginated."""
    return await _list_requests(sla, extension_requests, own_unit(who, unit, "extension requests"), state=state,
                                ticket_no=ticket_no, limit=limit, offset=offset)


async def _list_requests(sla: Sla, t: Table, unit: str | None, *, state: str | None, ticket_no: str | None,
                         limit: int, offset: int) -> dict[str, Any]:
    conds: list[ColumnElement[bool]] = []
    if state:
        conds.append(t.c.state == state)
    if unit:
        conds.append(t.c.unit == unit)
    if ticket_no:
        conds.append(t.c.ticket_no == ticket_no)
    where = and_(True, *conds)
    async with sla.rt.sm() as session:
        total = (await session.execute(select(func.count()).select_from(t).where(where))).scalar_one()
        rows = (await session.execute(select(t).where(where).order_by(t.c.requested_at, t.c.id)
                                      .limit(limit).offset(offset))).all()
    return {"items": [_row(r) for r in rows], "total": total, "limit": limit, "offset": offset}


def calendar_view(row: dict[str, Any], sla: Sla) -> dict[str, Any]:
    """A stored year version as the API shows it."""
    data = row["data"]
    return {"year": row["year"], "version": row["version"], "source": row["source"],
            "created_at": row["created_at"], "created_by": row["created_by"], "timezone": sla.settings.timezone,
            "holidays": data.get("holidays", []), "workdays": data.get("workdays", [])}


async def get_calendar(sla: Sla, year: int, version: int | None) -> dict[str, Any]:
    """A year's calendar (the version in force, or a given one) and its version history."""
    async with sla.rt.sm() as session:
        rows = await CalendarStore(session).versions(year)
    if not rows:
        raise Problem(404, f"the calendar does not know year {year}; load it with PUT /v1/calendars/{year}",
                      type_="unknown-year")
    pick = rows[-1] if version is None else next((r for r in rows if r["version"] == version), None)
    if pick is None:
        raise Problem(404, f"year {year} has no version {version} (versions 1..{rows[-1]['version']})",
                      type_="unknown-version")
    return {**calendar_view(pick, sla), "in_force": pick is rows[-1],
            "versions": [{"version": r["version"], "source": r["source"], "created_at": r["created_at"],
                          "created_by": r["created_by"]} for r in rows]}


async def list_calendars(sla: Sla) -> dict[str, Any]:
    """Known years with the version in force and the calendar version ids."""
    async with sla.rt.sm() as session:
        years = await CalendarStore(session).in_force()
    return {"years": [{"year": y, "version": v} for y, v in years],
            "runs": [{"from": r.first, "to": r.last, "calendar_version": r.version} for r in sla.book.runs]}


def time_view(sla: Sla) -> dict[str, Any]:
    """The service's time and whether it is simulated."""
    now = sla.time.now()
    return {"now": now, "local": now.astimezone(sla.tz).isoformat(), "simulated": sla.time.simulated,
            "simulated_time_allowed": sla.settings.simulated_time_allowed}
