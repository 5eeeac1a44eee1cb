"""Supervision cases: opened or joined for red tickets and escalations (consumed events), opened by hand or for a
hotspot, and every step of the red ticket track (commands); unanswered letters raised (a job)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bancheng_shared.contracts.envelope import EventEnvelope
from bancheng_shared.contracts.sla import EscalatedToSupervision
from bancheng_shared.contracts.triage import TicketTriaged, TierChanged, TierCopyIssued
from bancheng_shared.leases import LeaseLost
from bancheng_shared.principal import Principal
from bancheng_shared.unit_of_work import UnitOfWork
from oversight_svc import queries
from oversight_svc.adapters import cases as stored
from oversight_svc.adapters import facts
from oversight_svc.adapters.writes import run
from oversight_svc.context import Oversight
from oversight_svc.domain import cases, disclosure, letters
from oversight_svc.domain.commands import (
    CheckLetters,
    ConcludeCase,
    Investigate,
    OpenCase,
    OrderRedo,
    PublishCase,
    RegisterCase,
    ReplyLetter,
    SendLetter,
    VisitComplainant,
)
from oversight_svc.domain.ids import new_id


async def open_new_case(uow: UnitOfWork, ox: Oversight, new: cases.NewCase, who: Principal | None) -> str:
    """Store a new case and emit CaseOpened (caused by the event handled, if any)."""
    await stored.add(uow.session, ox.rollups, new, who, ox.day(new.at))
    uow.emit(new.event(), ticket_no=new.key)
    return new.case_id


async def case_for_ticket(uow: UnitOfWork, ox: Oversight, call: cases.CaseCall) -> str:
    """The ticket's open case (joined: a new source, red, the unit), or a case opened now; its id."""
    s, env = uow.session, uow.envelope
    open_cases = await stored.open_cases_of_ticket(s, env.ticket_no)
    current = open_cases[0] if open_cases else None
    ticket = None if current is not None else await facts.ticket(s, env.ticket_no)
    decision = cases.case_for_ticket(current, call, ticket_no=env.ticket_no, ticket=ticket, at=env.occurred_at)
    if isinstance(decision, cases.NewCase):
        return await open_new_case(uow, ox, decision, None)
    await stored.update_case(s, decision.case_id, **decision.values)
    if decision.unit:
        await stored.add_unit(s, ox.rollups, decision.case_id, decision.unit, ox.day(env.occurred_at))
    return decision.case_id


async def name_unit_on_open_cases(uow: UnitOfWork, ox: Oversight, unit: str, at: datetime) -> None:
    """A dispatch names the responsible unit on the ticket's open cases."""
    s = uow.session
    for c in await stored.open_cases_of_ticket(s, uow.envelope.ticket_no):
        await stored.add_unit(s, ox.rollups, c.case_id, unit, ox.day(at))


async def on_triaged(event: TicketTriaged, uow: UnitOfWork, ox: Oversight) -> None:
    """Kind and category (for hotspots); a red ticket opens a supervision case."""
    s, env = uow.session, uow.envelope
    cols: dict[str, Any] = {"category": event.category, "kinds": event.department_kinds, "tier": event.tier}
    if event.region_code:
        cols["region_code"] = event.region_code
    await run(s, [facts.ticket_op(s, env.ticket_no, env.occurred_at, **cols)])
    call = cases.red_ticket_call(tier=event.tier, open_for_red=ox.settings.open_cases_for_red)
    if call is not None:
        await case_for_ticket(uow, ox, call)


async def on_tier_changed(event: TierChanged, uow: UnitOfWork, ox: Oversight) -> None:
    """A ticket turned red: open (or join) its supervision case."""
    s, env = uow.session, uow.envelope
    await run(s, [facts.ticket_op(s, env.ticket_no, env.occurred_at, tier=event.new_tier)])
    call = cases.red_ticket_call(tier=event.new_tier, open_for_red=ox.settings.open_cases_for_red)
    if call is not None:
        await case_for_ticket(uow, ox, call)


async def on_escalated(event: EscalatedToSupervision, uow: UnitOfWork, ox: Oversight) -> None:
    """Escalated to supervision: open (or join) the ticket's case naming the unit (else count it supervised)."""
    call = cases.escalation_call(unit=event.unit, reason=event.reason,
                                 open_for_escalation=ox.settings.open_cases_for_escalation)
    if call is not None:
        await case_for_ticket(uow, ox, call)
    else:
        s = uow.session
        await run(s, [ox.rollups.increment_op(s, [(event.unit, ox.day(event.at), {"supervised": 1})])])


async def on_tier_copy(event: TierCopyIssued, uow: UnitOfWork, ox: Oversight) -> None:
    """triage's tier copy: red → the ticket's supervision case with the business-environment office and discipline
    inspection as supervisors; yellow → a joint-scheduling copy; green → an archive copy. Once per ticket, purpose
    and round."""
    s, env = uow.session, uow.envelope
    purpose, rnd, at = event.purpose, event.round, event.issued_at
    case_id = None
    call = cases.red_ticket_call(copy_purpose=purpose, open_for_red=ox.settings.open_cases_for_red)
    if call is not None:
        # only a new copy touches the case; any other copy issued again is left alone by the insert below
        if await facts.copy_exists(s, env.ticket_no, purpose, rnd):
            return  # the same copy issued again (replay, re-issue): nothing new
        case_id = await case_for_ticket(uow, ox, call)
        row = await stored.load(s, case_id)
        added = cases.supervisors_added(row.supervisors, row.supervisor_units, event.to_kinds, event.to_units)
        if added is not None:
            await stored.update_case(s, case_id, supervisors=added[0], supervisor_units=added[1], updated_at=at)
            await stored.add_document(s, case_id, "supervision_copy", row.state, {
                "purpose": purpose, "tier": str(event.tier), "to_kinds": event.to_kinds, "to_units": event.to_units,
                "reason": event.reason, "round": rnd}, None, at)
    await run(s, [facts.copy_op(s, copy_row(event, env, case_id, uow.now()))])


def copy_row(event: TierCopyIssued, env: EventEnvelope, case_id: str | None, now: datetime) -> dict[str, Any]:
    """The stored record of a tier copy."""
    return {"copy_id": new_id("CPY"), "ticket_no": env.ticket_no, "round": event.round, "purpose": event.purpose,
            "tier": str(event.tier), "to_kinds": event.to_kinds, "to_units": event.to_units, "reason": event.reason,
            "issued_at": event.issued_at, "case_id": case_id, "event_id": str(env.event_id),
            "recorded_at": now}


async def open_case(cmd: OpenCase, uow: UnitOfWork, ox: Oversight) -> dict[str, Any]:
    """Open a supervision case by hand."""
    async with uow:
        new = cases.new_case(title=cmd.title, source=cases.MANUAL, at=uow.now(), ticket_nos=cmd.ticket_nos,
                             unit_codes=cmd.units, red=cmd.red, summary=cmd.summary, informant=cmd.informant,
                             inspector=cmd.inspector)
        await open_new_case(uow, ox, new, cmd.actor)
        return await queries.case_view(uow.session, new.case_id, cmd.actor)


async def _save(uow: UnitOfWork, step: cases.Step, case_id: str, who: Principal) -> dict[str, Any]:
    """Store a step (the case's columns, its document), emit its event, answer the case as the caller sees it."""
    s = uow.session
    await stored.update_case(s, case_id, **step.values)
    await stored.add_document(s, case_id, step.action, step.state, step.document, who, step.values["updated_at"])
    if step.event is not None:
        uow.emit(step.event, ticket_no=await stored.key_of(s, case_id))
    return await queries.case_view(s, case_id, who)


async def _load(uow: UnitOfWork, case_id: str, who: Principal) -> tuple[Any, list[str]]:
    """The case (locked) and its units, if the caller may see it."""
    row = await stored.load(uow.session, case_id, lock=True)
    unit_codes = await stored.units_of(uow.session, case_id)
    cases.check_scope(who, unit_codes)
    return row, unit_codes


async def register(cmd: RegisterCase, uow: UnitOfWork, ox: Oversight) -> dict[str, Any]:
    """登记备案."""
    async with uow:
        row, _ = await _load(uow, cmd.case_id, cmd.actor)
        step = cases.register(row, inspector=cmd.inspector, notes=cmd.notes, who=cmd.actor, now=uow.now())
        return await _save(uow, step, cmd.case_id, cmd.actor)


async def investigate(cmd: Investigate, uow: UnitOfWork, ox: Oversight) -> dict[str, Any]:
    """调查核实."""
    async with uow:
        row, _ = await _load(uow, cmd.case_id, cmd.actor)
        step = cases.investigate(row, notes=cmd.notes, findings=cmd.findings, now=uow.now())
        return await _save(uow, step, cmd.case_id, cmd.actor)


async def send_letter(cmd: SendLetter, uow: UnitOfWork, ox: Oversight) -> dict[str, Any]:
    """督办函, due on the calendar in force (reloaded when sla published a year version since)."""
    async with uow:
        s, now = uow.session, uow.now()
        row, unit_codes = await _load(uow, cmd.case_id, cmd.actor)
        calendar = await ox.calendar.refresh(s)
        step, letter = letters.send(row, unit=cmd.unit, requirements=cmd.requirements, due_date=cmd.due_date,
                                    working_days=cmd.working_days,
                                    default_working_days=ox.settings.letter_default_working_days,
                                    max_days=ox.settings.letter_max_days,
                                    calendar=calendar, tz=ox.tz, now=now)
        if cmd.unit not in unit_codes:
            await stored.add_unit(s, ox.rollups, cmd.case_id, cmd.unit, ox.day(now))
        await stored.add_letter(s, letter)
        return await _save(uow, step, cmd.case_id, cmd.actor)


async def reply_letter(cmd: ReplyLetter, uow: UnitOfWork, ox: Oversight) -> dict[str, Any]:
    """督办回复函 of the addressed unit."""
    async with uow:
        s, now = uow.session, uow.now()
        row, _ = await _load(uow, cmd.case_id, cmd.actor)
        letter = await stored.letter(s, cmd.case_id, cmd.letter_id)
        step, answer = letters.reply(row, letter, letter_id=cmd.letter_id, who=cmd.actor, content=cmd.content,
                                     measures=cmd.measures, now=now)
        await stored.set_reply(s, cmd.letter_id, now, answer)
        return await _save(uow, step, cmd.case_id, cmd.actor)


async def visit_complainant(cmd: VisitComplainant, uow: UnitOfWork, ox: Oversight) -> dict[str, Any]:
    """The inspectors' return visit."""
    async with uow:
        row, _ = await _load(uow, cmd.case_id, cmd.actor)
        step = cases.return_visit(row, resolved=str(cmd.resolved), satisfaction=str(cmd.satisfaction),
                                  rectification=cmd.rectification, method=cmd.method, notes=cmd.notes, now=uow.now())
        return await _save(uow, step, cmd.case_id, cmd.actor)


async def order_redo(cmd: OrderRedo, uow: UnitOfWork, ox: Oversight) -> dict[str, Any]:
    """Rectification insufficient: RedoOrdered for each of the case's tickets (triage reopens them)."""
    async with uow:
        s, now = uow.session, uow.now()
        row, _ = await _load(uow, cmd.case_id, cmd.actor)
        nos = await stored.tickets_of(s, cmd.case_id)
        known = [(no, await facts.ticket(s, no)) for no in nos]
        step, orders = cases.order_redo(row, reason=cmd.reason, now=now, tickets=[
            (no, int(t.round) if t is not None else 1, t.lead_unit if t is not None else None) for no, t in known])
        for no, order in orders:
            uow.emit(order, ticket_no=no)
            if order.unit:
                await ox.rollups.increment(s, order.unit, ox.day(now), {"redone": 1})
        return await _save(uow, step, cmd.case_id, cmd.actor)


async def conclude(cmd: ConcludeCase, uow: UnitOfWork, ox: Oversight) -> dict[str, Any]:
    """Conclude with the result feedback sheet."""
    async with uow:
        row, unit_codes = await _load(uow, cmd.case_id, cmd.actor)
        step = cases.conclude(row, result=cmd.result, solved=cmd.solved, findings=cmd.findings,
                              unit_codes=unit_codes, now=uow.now())
        return await _save(uow, step, cmd.case_id, cmd.actor)


async def publish(cmd: PublishCase, uow: UnitOfWork, ox: Oversight) -> dict[str, Any]:
    """Publish a concluded case on the public feed, without personal data."""
    async with uow:
        s, now = uow.session, uow.now()
        row, unit_codes = await _load(uow, cmd.case_id, cmd.actor)
        step = cases.publish(row, now=now)
        names = await stored.accountable_names(s, cmd.case_id) + disclosure.informant_names(row.informant)
        unit_names = await stored.unit_names(s, unit_codes)
        await stored.put_disclosure(s, disclosure.disclose(
            case_id=cmd.case_id, title=cmd.title, summary=cmd.summary, outcome=cmd.outcome or row.result or "",
            names=names, unit_names=[unit_names.get(u) or u for u in unit_codes],
            concluded_on=ox.day(row.concluded_at) if row.concluded_at else None, now=now))
        return await _save(uow, step, cmd.case_id, cmd.actor)


async def check_letters(cmd: CheckLetters, uow: UnitOfWork, ox: Oversight) -> int:
    """Raise the cases whose letters passed their due date unanswered, proposing accountability; how many."""
    raised = 0
    async with uow:
        s = uow.session
        now = cmd.now or uow.now()
        for lt in await stored.unanswered_letters(s, now):
            if not await stored.claim_overdue(s, lt.letter_id):
                continue  # another replica raised it
            case = await stored.load(s, lt.case_id)
            await stored.update_case(s, lt.case_id, level="raised", updated_at=now)
            out = letters.unanswered(lt, ticket_nos=await stored.tickets_of(s, lt.case_id), now=now)
            await stored.add_record(s, out.record)
            await stored.add_document(s, lt.case_id, "letter_overdue", case.state, out.document, None, now)
            uow.emit(out.event, ticket_no=await stored.key_of(s, lt.case_id))
            raised += 1
        if cmd.period is not None and not await stored.finish_letter_check(s, cmd.period, cmd.claimed_by or "",
                                                                           uow.now()):
            raise LeaseLost(f"the letter check of {cmd.period} was taken over by another replica")
    return raised
