"""Return visits of tickets, accountability records, hotspots: the commands of the work team and inspectors."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bancheng_shared.errors import Problem
from bancheng_shared.unit_of_work import UnitOfWork
from oversight_svc import queries
from oversight_svc.adapters import cases as stored
from oversight_svc.adapters import facts, hand_downs, hotspots
from oversight_svc.adapters.writes import run
from oversight_svc.context import Oversight
from oversight_svc.domain import accountability, cases, rounds, visits
from oversight_svc.domain.commands import (
    DecideAccountability,
    DetectHotspots,
    OpenHotspotCase,
    RecordAccountability,
    RecordReturnVisit,
)
from oversight_svc.domain.hotspots import find_hotspots
from oversight_svc.domain.metrics import unit_region
from oversight_svc.domain.periods import local_bounds
from oversight_svc.handlers.cases import open_new_case


async def record_visit(cmd: RecordReturnVisit, uow: UnitOfWork, ox: Oversight) -> dict[str, Any]:
    """Record the return visit of a ticket's current result (counted in its round's dispatch period); subjectively
    unsatisfied → RedoOrdered."""
    async with uow:
        s = uow.session
        ticket = await facts.ticket(s, cmd.ticket_no)
        if ticket is None:
            raise Problem(404, f"ticket {cmd.ticket_no!r} is unknown to oversight (no triage events seen)",
                          type_="unknown-ticket")
        result = await facts.latest_result(s, cmd.ticket_no)
        out = visits.record(ticket, result, ticket_no=cmd.ticket_no,
                            resolved=cmd.resolved, satisfaction=cmd.satisfaction, cause=cmd.cause, notes=cmd.notes,
                            case_id=cmd.case_id, visited_at=cmd.visited_at, by_name=cmd.actor.name,
                            by_role=cmd.actor.role.value, now=uow.now())
        await facts.add_visit(s, cmd.ticket_no, out.visit, mark_visited=out.mark_visited)
        await run(s, [ox.rollups.increment_op(s, rounds.visited(result, unit=out.unit, deltas=out.deltas))])
        for event in out.events:
            uow.emit(event, ticket_no=cmd.ticket_no)
    return out.view(cmd.ticket_no)


async def _decided(uow: UnitOfWork, ox: Oversight, d: accountability.Decision) -> None:
    """A decided measure counts for its unit and is published."""
    if d.event is not None:
        await ox.rollups.increment(uow.session, d.unit, ox.day(d.event.decided_at), {"accountability": 1})
        uow.emit(d.event, ticket_no=d.key)


async def record_accountability(cmd: RecordAccountability, uow: UnitOfWork, ox: Oversight) -> dict[str, Any]:
    """Record a decided accountability measure."""
    async with uow:
        s = uow.session
        d = accountability.record(
            unit=cmd.unit, person_name=cmd.person_name, person_post=cmd.person_post, measure=cmd.measure,
            reason_category=cmd.reason_category, reason=cmd.reason, case_ids=cmd.case_ids, ticket_nos=cmd.ticket_nos,
            known_cases=await stored.known_cases(s, cmd.case_ids), decided_by=cmd.decided_by or cmd.actor.name,
            decided_at=cmd.decided_at or uow.now())
        await stored.add_record(s, d.values)
        await run(s, [facts.units_op(s, [{"unit": cmd.unit, "region_code": unit_region(cmd.unit, None)}], update=[])])
        await _decided(uow, ox, d)
        return queries.accountability_view(await stored.record(s, d.record_id))


async def decide_accountability(cmd: DecideAccountability, uow: UnitOfWork, ox: Oversight) -> dict[str, Any]:
    """Decide (or dismiss) a proposed record, e.g. one raised by an unanswered letter."""
    async with uow:
        s = uow.session
        r = await stored.record(s, cmd.record_id)
        if r is None:
            raise Problem(404, f"accountability record {cmd.record_id!r} is unknown", type_="unknown-record")
        d = accountability.decide(r, dismiss=cmd.dismiss, person=cmd.person, measure=cmd.measure,
                                  reason_category=cmd.reason_category, reason=cmd.reason,
                                  decided_by=cmd.decided_by or cmd.actor.name, now=uow.now())
        await stored.update_record(s, cmd.record_id, d.values)
        await _decided(uow, ox, d)
        return queries.accountability_view(await stored.record(s, cmd.record_id))


async def detect_hotspots(cmd: DetectHotspots, uow: UnitOfWork, ox: Oversight) -> list[dict[str, Any]]:
    """Frequent common problems in a window (default: the last `hotspot_window_days`), kept so that a case can be
    opened for one or it can be handed down; each with its case and its work order, if any."""
    st = ox.settings
    for name, day in (("from", cmd.start), ("to", cmd.end)):
        if day is not None:
            ox.check_day(name, day)  # before the window is counted back from it
    end = cmd.end or ox.day(uow.now())
    start = cmd.start or end - timedelta(days=st.hotspot_window_days)
    ox.check_period(start, end)
    async with uow:
        s, now = uow.session, uow.now()
        items = await hotspots.candidates(s, *local_bounds(start, end, ox.tz))
        if cmd.kind:
            items = [i for i in items if i.kind == cmd.kind]
        found = find_hotspots(items, min_places=cmd.min_places or st.hotspot_min_places,
                              threshold=st.hotspot_similarity, place_digits=st.hotspot_place_digits)
        await hotspots.keep(s, found, now)
        known = await hotspots.case_ids(s)
        orders = await hand_downs.views(s, [h["hotspot_id"] for h in found])
    for h in found:
        h["case_id"] = known.get(h["hotspot_id"])
        h["order"] = orders.get(h["hotspot_id"])
    return found


async def open_hotspot_case(cmd: OpenHotspotCase, uow: UnitOfWork, ox: Oversight) -> dict[str, Any]:
    """Open a supervision case for a hotspot (handed top-down to the responsible department)."""
    async with uow:
        s = uow.session
        h = await hotspots.get(s, cmd.hotspot_id)
        if h is None:
            raise Problem(404, f"hotspot {cmd.hotspot_id!r} is unknown; list /v1/hotspots first",
                          type_="unknown-hotspot")
        if h.case_id:
            raise Problem(409, f"hotspot {cmd.hotspot_id} already has case {h.case_id}", type_="already-open",
                          case_id=h.case_id)
        new = cases.new_case(
            title=cmd.title or f"热点问题 hotspot: {h.title}", source=cases.HOTSPOT, at=uow.now(),
            ticket_nos=list(h.ticket_nos), unit_codes=cmd.units, red=False,
            summary=cmd.summary or f"{len(h.ticket_nos)} tickets in {len(h.places)} places: " + ", ".join(h.places),
            hotspot_id=cmd.hotspot_id)
        await open_new_case(uow, ox, new, cmd.actor)
        await hotspots.set_case(s, cmd.hotspot_id, new.case_id)
        return await queries.case_view(s, new.case_id, cmd.actor)
