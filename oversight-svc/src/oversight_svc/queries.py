"""The read side: statistics and the three rates, reports' data, cases as a caller sees them, return visits,
accountability records, tier copies, disclosures. No events, no writes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bancheng_shared.errors import Problem
from bancheng_shared.principal import Principal, Role
from bancheng_shared.runtime import Runtime
from oversight_svc import suggestion_queries
from oversight_svc.adapters import cases as stored
from oversight_svc.adapters import rechecks, stats
from oversight_svc.adapters.tables import (
    accountability,
    case_documents,
    case_tickets,
    case_units,
    cases,
    copies,
    disclosures,
    letters,
    rounds,
    tickets,
    units,
    visits,
)
from oversight_svc.context import Oversight
from oversight_svc.domain import change, rates, report
from oversight_svc.domain.accountability import red_track
from oversight_svc.domain.cases import STATES, allowed_actions, check_scope, unit_sees
from oversight_svc.domain.periods import local_bounds, period_bounds

# ---- statistics ----


async def unit_stats(rt: Runtime, ox: Oversight, start: date, end: date, unit: str | None,
                     region: str | None = None) -> list[dict[str, Any]]:
    """Per-unit counters and rates over [start, end] from the rollups."""
    ox.check_period(start, end)
    async with rt.sm() as session:
        rows = await stats.unit_rows(session, start, end, unit, region)
    return rates.unit_rows(rows, ox.policy)


async def _overview_parts(rt: Runtime, ox: Oversight, start: date, end: date,
                          region: str | None) -> tuple[list[tuple[Any, ...]], int, dict[str, Any]]:
    ox.check_period(start, end)
    async with rt.sm() as session:
        rows = await stats.unit_rows(session, start, end, None, region)
        received = await stats.received(session, start, end, region)
        investigated, solved, concluded, decided, red_cases = await stats.red_track_counts(
            session, *local_bounds(start, end, ox.tz), region)
    return rows, received, red_track(investigated=investigated, solved=solved, concluded=concluded, decided=decided,
                                     red_cases=red_cases)


async def overview(rt: Runtime, ox: Oversight, start: date, end: date, region: str | None) -> dict[str, Any]:
    """Totals, per-region figures, rankings with a minimum sample, flagged units and red-track figures."""
    rows, received, red = await _overview_parts(rt, ox, start, end, region)
    ov = rates.overview(rows, ox.policy, start=start, end=end, region=region, received_tickets=received,
                        red_track=red)
    ov["suggestions"] = await suggestion_queries.figures(rt, ox, start, end, region=region)
    return ov


async def overdue_list(rt: Runtime, ox: Oversight, start: date, end: date, region: str | None,
                       limit: int) -> list[dict[str, Any]]:
    """Rounds that went overdue, resolved late or still open, in the period (for reports), with the unit's name."""
    lo, hi = local_bounds(start, end, ox.tz)
    q = (select(rounds, tickets.c.region_code, tickets.c.title, tickets.c.status, units.c.name.label("unit_name"))
         .join(tickets, tickets.c.ticket_no == rounds.c.ticket_no)
         .outerjoin(units, units.c.unit == rounds.c.unit)
         .where(rounds.c.overdue.is_(True), rounds.c.resolve_due >= lo, rounds.c.resolve_due < hi)
         .order_by(rounds.c.resolve_due).limit(limit))
    if region:
        q = q.where(tickets.c.region_code.like(f"{region}%"))
    async with rt.sm() as session:
        rows = (await session.execute(q)).all()
    return [{"ticket_no": r.ticket_no, "round": r.round, "unit": r.unit, "unit_name": r.unit_name,
             "region_code": r.region_code, "title": r.title, "resolve_due": r.resolve_due,
             "resolved_at": r.resolved_at, "status": r.status}
            for r in rows]


async def report_inputs(rt: Runtime, ox: Oversight, period: str, day: date, region: str | None,
                        hotspots: list[dict[str, Any]], now: datetime) -> report.ReportInputs:
    """What a report is made of, read from the rollups and tables (domain.report makes its data, off the loop)."""
    start, end = period_bounds(period, day)
    rows, received, red = await _overview_parts(rt, ox, start, end, region)  # one rollup query
    overdue = await overdue_list(rt, ox, start, end, region, ox.settings.report_overdue_limit)
    bounds = change.previous_period(period, start, min_year=ox.settings.stats_min_year)
    previous = None
    async with rt.sm() as session:
        if bounds is not None:
            previous = report.PreviousPeriod(start=bounds[0], end=bounds[1],
                                             rows=await stats.unit_rows(session, *bounds, None, region),
                                             received=await stats.received(session, *bounds, region))
        named = await stats.region_unit_names(session, region)
    return report.ReportInputs(period=period, start=start, end=end, region=region, generated_at=now.astimezone(),
                               policy=ox.policy, rows=rows, received=received, red_track=red, overdue=overdue,
                               hotspots=hotspots[:20], unit_regions=named, previous=previous,
                               extra={"suggestions": await suggestion_queries.figures(rt, ox, start, end,
                                                                                     region=region)})


async def report_data(rt: Runtime, ox: Oversight, period: str, day: date, region: str | None,
                      hotspots: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    """A report's data: overview, unit table, overdue list, the hotspots found for the period, accountability;
    region and unit names; each figure's change from the previous period (环比). Made here, on the loop: the
    report route has a worker make it (ReportBuilder)."""
    return report.report_data(await report_inputs(rt, ox, period, day, region, hotspots, now))


# ---- cases ----

def _letter_view(x: Any) -> dict[str, Any]:
    return {"letter_id": x.letter_id, "unit": x.unit, "requirements": x.requirements, "due_at": x.due_at,
            "sent_at": x.sent_at, "replied_at": x.replied_at, "reply": x.reply, "overdue": bool(x.overdue)}


async def _case_view(session: AsyncSession, row: Any, who: Principal, *, full: bool = True) -> dict[str, Any]:
    unit_codes = await stored.units_of(session, row.case_id)
    check_scope(who, unit_codes)
    out: dict[str, Any] = {
        "case_id": row.case_id, "title": row.title, "state": row.state, "level": row.level,
        "sources": row.sources, "red": bool(row.red), "inspector": row.inspector, "summary": row.summary,
        "units": unit_codes, "ticket_nos": await stored.tickets_of(session, row.case_id),
        "supervisors": list(row.supervisors or []), "supervisor_units": list(row.supervisor_units or []),
        "hotspot_id": row.hotspot_id, "opened_at": row.opened_at, "registered_at": row.registered_at,
        "concluded_at": row.concluded_at, "result": row.result, "solved": row.solved,
        "allowed_actions": allowed_actions(row.state),
    }
    if who.role != Role.unit:
        out["informant"] = row.informant  # the informant only for inspectors and the supervision office
    if full:
        docs = (await session.execute(select(case_documents).where(case_documents.c.case_id == row.case_id)
                                      .order_by(case_documents.c.seq))).all()
        ls = (await session.execute(select(letters).where(letters.c.case_id == row.case_id)
                                    .order_by(letters.c.sent_at))).all()
        if who.role == Role.unit:  # its own letters to reply to, and the documents addressed to it
            ls = [x for x in ls if x.unit == who.unit_code]
            own = {x.letter_id for x in ls}
            docs = [d for d in docs if unit_sees(d.kind, d.body or {}, own)]
        out["documents"] = [{"doc_id": d.doc_id, "seq": d.seq, "kind": d.kind, "state_after": d.state_after,
                             "body": d.body, "by": d.by_name, "role": d.by_role, "at": d.at} for d in docs]
        out["letters"] = [_letter_view(x) for x in ls]
    return out


async def case_view(session: AsyncSession, case_id: str, who: Principal) -> dict[str, Any]:
    """A case with its documents and letters as the caller may see it (404 for a unit it does not name)."""
    return await _case_view(session, await stored.load(session, case_id), who)


async def get_case(rt: Runtime, case_id: str, who: Principal) -> dict[str, Any]:
    """One case as the caller may see it."""
    async with rt.sm() as session:
        return await case_view(session, case_id, who)


async def list_cases(rt: Runtime, who: Principal, *, state: str | None, unit: str | None, ticket_no: str | None,
                     limit: int, offset: int) -> list[dict[str, Any]]:
    """Cases, newest first; a unit key sees only cases naming its unit."""
    if state and state not in STATES:
        raise Problem(422, f"state: unknown, one of {', '.join(STATES)}", type_="validation")
    q = select(cases).order_by(cases.c.opened_at.desc(), cases.c.case_id).limit(limit).offset(offset)
    if who.role == Role.unit:
        unit = who.unit_code
    if unit:
        q = q.where(cases.c.case_id.in_(select(case_units.c.case_id).where(case_units.c.unit == unit)))
    if ticket_no:
        q = q.where(cases.c.case_id.in_(select(case_tickets.c.case_id).where(case_tickets.c.ticket_no == ticket_no)))
    if state:
        q = q.where(cases.c.state == state)
    async with rt.sm() as session:
        rows = (await session.execute(q)).all()
        return [await _case_view(session, r, who, full=False) for r in rows]


# ---- return visits ----

async def list_visits(rt: Runtime, who: Principal, ticket_no: str) -> list[dict[str, Any]]:
    """A ticket's return visits (a unit key: only its own tickets)."""
    async with rt.sm() as session:
        t = (await session.execute(select(tickets).where(tickets.c.ticket_no == ticket_no))).first()
        if t is None:
            raise Problem(404, f"ticket {ticket_no!r} is unknown", type_="unknown-ticket")
        rows = (await session.execute(select(visits).where(visits.c.ticket_no == ticket_no)
                                      .order_by(visits.c.visited_at))).all()
    if who.role == Role.unit and not any(r.unit == who.unit_code for r in rows) and t.lead_unit != who.unit_code:
        raise Problem(404, f"ticket {ticket_no!r} is unknown", type_="unknown-ticket")
    return [{"visit_id": r.visit_id, "round": r.round, "unit": r.unit, "resolved": r.resolved,
             "satisfaction": r.satisfaction, "cause": r.cause, "redo": r.redo, "notes": r.notes,
             "visited_at": r.visited_at} for r in rows]


async def visits_due(rt: Runtime, limit: int) -> list[dict[str, Any]]:
    """Resolved rounds still waiting for their return visit, earliest due first."""
    q = (select(rounds).where(rounds.c.resolved_at.is_not(None), rounds.c.visited_at.is_(None))
         .order_by(rounds.c.visit_due).limit(limit))
    async with rt.sm() as session:
        rows = (await session.execute(q)).all()
    return [{"ticket_no": r.ticket_no, "round": r.round, "unit": r.resolve_unit, "outcome": r.outcome,
             "resolved_at": r.resolved_at, "visit_due": r.visit_due} for r in rows]


async def list_rechecks(rt: Runtime, *, due: bool | None, done: bool | None, unit: str | None, limit: int,
                        offset: int) -> list[dict[str, Any]]:
    """回头看: re-checks, earliest due first (due=true: open ones whose day has come; false: open, not yet)."""
    async with rt.sm() as session:
        rows = await rechecks.queue(session, due=due, now=rt.clock.now(), done=done, unit=unit, limit=limit,
                                    offset=offset)
    return [rechecks.view(r) for r in rows]


# ---- accountability ----

def accountability_view(r: Any) -> dict[str, Any]:
    """An accountability record as answered."""
    return {"record_id": r.record_id, "status": r.status, "unit": r.unit,
            "person": {"name": r.person_name, "post": r.person_post} if r.person_name else None,
            "measure": r.measure, "reason_category": r.reason_category, "reason": r.reason,
            "case_ids": r.case_ids, "ticket_nos": r.ticket_nos, "proposed_at": r.proposed_at,
            "decided_by": r.decided_by, "decided_at": r.decided_at}


async def list_accountability(rt: Runtime, who: Principal, *, unit: str | None, status: str | None,
                              case_id: str | None, limit: int, offset: int) -> list[dict[str, Any]]:
    """Records, newest first; a unit key sees only its own unit's."""
    if who.role == Role.unit:
        unit = who.unit_code
    q = select(accountability).order_by(func.coalesce(accountability.c.decided_at, accountability.c.proposed_at)
                                        .desc()).limit(limit).offset(offset)
    if unit:
        q = q.where(accountability.c.unit == unit)
    if status:
        q = q.where(accountability.c.status == status)
    async with rt.sm() as session:
        rows = (await session.execute(q)).all()
    out = [accountability_view(r) for r in rows]
    if case_id:
        out = [r for r in out if case_id in (r["case_ids"] or [])]
    return out


async def get_accountability(rt: Runtime, who: Principal, record_id: str) -> dict[str, Any]:
    """One record (404 for a unit key when it is about another unit)."""
    async with rt.sm() as session:
        r = await stored.record(session, record_id)
    if r is None or not who.can_see_unit(r.unit):
        raise Problem(404, f"accountability record {record_id!r} is unknown", type_="unknown-record")
    return accountability_view(r)


# ---- tier copies, disclosures ----

async def list_copies(rt: Runtime, ox: Oversight, *, purpose: str | None, tier: str | None, ticket_no: str | None,
                      unit: str | None, start: date | None, end: date | None, limit: int,
                      offset: int) -> list[dict[str, Any]]:
    """Copies triage sent by tier (archive, joint scheduling, supervision), newest first, with the ticket's
    title, region and lead unit as oversight knows them."""
    q = (select(copies, tickets.c.title, tickets.c.region_code, tickets.c.lead_unit, tickets.c.status)
         .select_from(copies.outerjoin(tickets, tickets.c.ticket_no == copies.c.ticket_no))
         .order_by(copies.c.issued_at.desc(), copies.c.copy_id))
    if start or end:
        s = ox.settings
        lo_day, hi_day = start or date(s.stats_min_year, 1, 1), end or date(s.stats_max_year, 12, 31)
        ox.check_period(lo_day, hi_day)
        lo, hi = local_bounds(lo_day, hi_day, ox.tz)
        q = q.where(copies.c.issued_at >= lo, copies.c.issued_at < hi)
    for col, val in ((copies.c.purpose, purpose), (copies.c.tier, tier), (copies.c.ticket_no, ticket_no)):
        if val:
            q = q.where(col == val)
    async with rt.sm() as session:
        if unit:
            # to_units is a short JSON list: filter in Python, paging over the matches
            rows = [r for r in (await session.execute(q)).all() if unit in (r.to_units or [])][offset:offset + limit]
        else:
            rows = list((await session.execute(q.limit(limit).offset(offset))).all())
    return [{"copy_id": r.copy_id, "ticket_no": r.ticket_no, "round": r.round, "purpose": r.purpose,
             "tier": r.tier, "to_kinds": r.to_kinds, "to_units": r.to_units, "reason": r.reason,
             "issued_at": r.issued_at, "case_id": r.case_id, "ticket": {
                 "title": r.title, "region_code": r.region_code, "lead_unit": r.lead_unit, "status": r.status}}
            for r in rows]


async def list_disclosures(rt: Runtime, limit: int, offset: int) -> list[dict[str, Any]]:
    """Published outcomes (督查回声), newest first, without personal data."""
    q = select(disclosures).order_by(disclosures.c.published_at.desc()).limit(limit).offset(offset)
    async with rt.sm() as session:
        rows = (await session.execute(q)).all()
    return [{"case_id": r.case_id, "title": r.title, "summary": r.summary, "outcome": r.outcome,
             "units": r.units, "concluded_on": r.concluded_on, "published_at": r.published_at} for r in rows]
