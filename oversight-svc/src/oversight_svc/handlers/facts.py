"""Consumed events that keep ticket facts, rounds and the rollups: intake's, triage's and sla's.

Each handler loads what it judges by, asks the rule (domain.rounds) and runs all its writes together (one switch
to the database). A round's facts count on its dispatch day (its cohort). Events arrive in any order across topics:
rows are upserted per ticket and round, facts seen before the dispatch are counted when it comes, and counts are
corrected when a later fact changes them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from bancheng_shared.contracts.envelope import EventEnvelope, parse_payload
from bancheng_shared.contracts.intake import TicketReceived
from bancheng_shared.contracts.limits import NAME_MAX, TITLE_MAX
from bancheng_shared.contracts.sla import (
    AlertRaised,
    CalendarYearLoaded,
    ClockResumed,
    ClockStarted,
    DeadlineChanged,
    DeemedSigned,
    ExtensionDecided,
    ReturnVisitDue,
    UrgeIssued,
)
from bancheng_shared.contracts.triage import (
    ResolutionSubmitted,
    ReturnDecided,
    ReturnRequested,
    TicketAnswered,
    TicketClosed,
    TicketDispatched,
    TicketReopened,
    TicketSigned,
    TicketTriaged,
    TierCopyIssued,
)
from bancheng_shared.unit_of_work import UnitOfWork
from oversight_svc.adapters import calendar, fact_batch, facts
from oversight_svc.adapters.writes import run
from oversight_svc.context import Oversight
from oversight_svc.domain import cases as case_rules
from oversight_svc.domain import rounds
from oversight_svc.domain.metrics import unit_region
from oversight_svc.handlers import cases, hand_downs
from oversight_svc.handlers.cases import name_unit_on_open_cases


async def on_ticket_received(event: TicketReceived, uow: UnitOfWork, ox: Oversight) -> None:
    """A new ticket: keep its place and text (for hotspots), count it for its region. Free text is kept within
    its column (the shared limits), so that a producer's longer title is cut, never dead-letters the count."""
    s, env = uow.session, uow.envelope
    title = event.title[:TITLE_MAX] if event.title else event.title
    await run(s, [
        facts.ticket_op(s, env.ticket_no, env.occurred_at, region_code=event.region_code, title=title,
                        content=event.content, received_at=event.received_at),
        ox.rollups.received_op(s, event.region_code or "unknown", ox.day(event.received_at))])
    await hand_downs.on_hotspot_ticket(event, uow)


async def on_tickets_received(envs: list[EventEnvelope], uow: UnitOfWork, ox: Oversight) -> None:
    """Several TicketReceived of a consumer batch at once, as on_ticket_received each: the tickets' rows in one
    statement (a ticket met twice keeps its last values, as one upsert after the other would) and the regions'
    counts summed into one."""
    s = uow.session
    tickets: dict[str, dict[str, Any]] = {}
    counts: dict[tuple[Any, ...], dict[str, Any]] = {}
    statements: list[Any] = []
    linked: list[tuple[TicketReceived, EventEnvelope]] = []
    for env in envs:
        event = parse_payload(env, TicketReceived)
        title = event.title[:TITLE_MAX] if event.title else event.title
        ticket = facts.ticket_op(s, env.ticket_no, env.occurred_at, region_code=event.region_code, title=title,
                                 content=event.content, received_at=event.received_at)
        received = ox.rollups.received_op(s, event.region_code or "unknown", ox.day(event.received_at))
        assert ticket is not None and isinstance(ticket[1], dict) and isinstance(received[1], list)
        tickets[env.ticket_no] = ticket[1]
        for row in received[1]:
            key = (row["grain"], row["period"], row["region_code"])
            counts[key] = {**row, "n": counts[key]["n"] + row["n"]} if key in counts else row
        statements = [ticket[0], received[0]]  # the same two statements for every event
        if event.hotspot_id:
            linked.append((event, env))
    if statements:
        # in key order (rows two replicas share are locked in one order)
        await run(s, [(statements[0], [tickets[k] for k in sorted(tickets)]),
                      (statements[1], [counts[k] for k in sorted(counts)])])
    for event, env in linked:
        await hand_downs.on_hotspot_ticket(event, UnitOfWork.bound(uow.rt, s, cause=env, after=[]))


async def on_dispatched(event: TicketDispatched, uow: UnitOfWork, ox: Oversight) -> None:
    """Count the dispatch, learn the unit's name and region, name the unit on the ticket's open cases."""
    s, env = uow.session, uow.envelope
    lead, rnd, region, at = event.lead_unit, event.round, event.region_code, event.dispatched_at
    change = await _dispatch_known(uow, ox, rnd=rnd, lead=lead, co_units=event.co_units, at=at)
    await run(s, [
        facts.ticket_op(s, env.ticket_no, env.occurred_at, lead_unit=lead, round=rnd, status="dispatched",
                        **({"region_code": region} if region else {})),
        facts.units_op(s, [{"unit": lead, "name": event.lead_unit_name[:NAME_MAX],
                            "region_code": unit_region(lead, region), "level": event.unit_level}]),
        facts.units_op(s, [{"unit": co, "region_code": unit_region(co, region)} for co in event.co_units], update=[]),
        facts.set_round_op(env.ticket_no, rnd, **change.values),
        # the lead unit, the co-units and the round's facts that came first, in one statement
        ox.rollups.increment_op(s, change.counts),
    ])
    await name_unit_on_open_cases(uow, ox, lead, at)


async def _dispatch_known(uow: UnitOfWork, ox: Oversight, *, rnd: int, lead: str, co_units: list[str],
                          at: datetime) -> rounds.RoundChange:
    """Load the round (and its visits when it has a result) and ask what its dispatch counts."""
    s, ticket_no = uow.session, uow.envelope.ticket_no
    r = await facts.get_round(s, ticket_no, rnd)
    seen = await facts.round_visits(s, ticket_no, rnd) if r.dispatch_day is None and r.resolved_at else []
    return rounds.dispatch_known(r, lead=lead, co_units=co_units, day=ox.day(at), visits=seen)


async def on_triaged(event: TicketTriaged, uow: UnitOfWork, ox: Oversight) -> None:
    """A matter the hotline centre answers directly counts as given to it (its level-3 response is counted like a
    unit's); then the ticket's kind, category and a red ticket's case (cases.on_triaged)."""
    unit = rounds.answer_unit(route=event.route, answer_unit=event.answer_unit, reclassified=event.reclassified)
    if unit is not None:
        s, env = uow.session, uow.envelope
        change = await _dispatch_known(uow, ox, rnd=1, lead=unit, co_units=[], at=env.occurred_at)
        await run(s, [
            facts.ticket_op(s, env.ticket_no, env.occurred_at, lead_unit=unit, round=1),
            facts.units_op(s, [{"unit": unit, "region_code": unit_region(unit, event.region_code)}], update=[]),
            facts.set_round_op(env.ticket_no, 1, **change.values),
            ox.rollups.increment_op(s, change.counts),
        ])
    await cases.on_triaged(event, uow, ox)


async def on_answered(event: TicketAnswered, uow: UnitOfWork, ox: Oversight) -> None:
    """Answered directly: the answering unit responded (in time by its one-working-day deadline)."""
    r = await facts.get_round(uow.session, uow.envelope.ticket_no, 1)
    if r.unit is not None:  # only a matter counted as given to the hotline centre (on_triaged)
        await _sign(uow, ox, unit=r.unit, at=event.answered_at, rnd=1, deemed=False, via=None)


async def _sign(uow: UnitOfWork, ox: Oversight, *, unit: str, at: datetime, rnd: int, deemed: bool,
                via: str | None) -> None:
    s, ticket_no = uow.session, uow.envelope.ticket_no
    r = await facts.get_round(s, ticket_no, rnd)
    change = rounds.signed(r, unit=unit, at=at, deemed=deemed, via=via)
    if change is not None:
        await run(s, [facts.set_round_op(ticket_no, rnd, **change.values), ox.rollups.increment_op(s, change.counts)])


async def on_signed(event: TicketSigned, uow: UnitOfWork, ox: Oversight) -> None:
    """Signed: in time when before the acceptance deadline (provisional until sla's clock is known)."""
    await _sign(uow, ox, unit=event.unit, at=event.signed_at, rnd=event.round, deemed=event.deemed, via=event.via)


async def on_deemed_signed(event: DeemedSigned, uow: UnitOfWork, ox: Oversight) -> None:
    """sla: the window passed, counted as signed (never in time)."""
    await _sign(uow, ox, unit=event.unit, at=event.at, rnd=event.round, deemed=True, via=None)


async def on_return_requested(event: ReturnRequested, uow: UnitOfWork, ox: Oversight) -> None:
    """The unit asked to return the ticket."""
    s = uow.session
    await run(s, [ox.rollups.increment_op(s, [(event.unit, ox.day(event.requested_at), {"returned": 1})])])


async def on_return_decided(event: ReturnDecided, uow: UnitOfWork, ox: Oversight) -> None:
    """The work team approved a return: count it for the returning unit."""
    if event.approved:
        s = uow.session
        await run(s, [ox.rollups.increment_op(s, [(event.unit, ox.day(event.decided_at), {"return_approved": 1})])])


async def on_resolution(event: ResolutionSubmitted, uow: UnitOfWork, ox: Oversight) -> None:
    """The unit's result: count it, judge it in time, make the ticket due for a return visit."""
    s, env = uow.session, uow.envelope
    r = await facts.get_round(s, env.ticket_no, event.round)
    change = rounds.resolved(r, unit=event.unit, at=event.submitted_at, outcome=event.outcome,
                             visit_due_hours=ox.settings.visit_due_hours)
    if change is not None:
        await run(s, [facts.set_round_op(env.ticket_no, event.round, **change.values),
                      facts.ticket_op(s, env.ticket_no, env.occurred_at, status="resolved", round=event.round),
                      ox.rollups.increment_op(s, change.counts)])


async def on_reopened(event: TicketReopened, uow: UnitOfWork, ox: Oversight) -> None:
    """Redo: a new round; the next result gets a new visit."""
    s, env = uow.session, uow.envelope
    await run(s, [facts.put_round_op(s, env.ticket_no, event.round, unit=event.unit),
                  facts.ticket_op(s, env.ticket_no, env.occurred_at, status="reopened", round=event.round)])


async def on_closed(event: TicketClosed, uow: UnitOfWork, ox: Oversight) -> None:
    """Closed by triage."""
    s, env = uow.session, uow.envelope
    await run(s, [facts.ticket_op(s, env.ticket_no, env.occurred_at, status="closed", closed_at=event.closed_at)])
    await hand_downs.on_closed_sample(event, uow, ox)  # 回头看: a share of closed tickets is re-visited


async def on_clock_started(event: ClockStarted, uow: UnitOfWork, ox: Oversight) -> None:
    """Deadlines of a round; corrects provisional in-time counts made before the clock was known."""
    s, ticket_no = uow.session, uow.envelope.ticket_no
    accept_due = rounds.accept_due(event.accept_due, event.resolve_due)
    r = await facts.set_clock(s, ticket_no, event.round, event.unit, accept_due, event.resolve_due)
    change = rounds.clock_known(r, accept_due=accept_due, resolve_due=event.resolve_due)
    if change is not None:
        await run(s, [facts.set_round_op(ticket_no, event.round, **change.values),
                      ox.rollups.increment_op(s, change.counts)])


async def _move_deadline(uow: UnitOfWork, ox: Oversight, *, rnd: int, unit: str | None,
                         new_due: datetime | None, extension: bool) -> None:
    s, ticket_no = uow.session, uow.envelope.ticket_no
    r = await facts.get_round(s, ticket_no, rnd)
    change = rounds.deadline_moved(r, new_due=new_due, extension=extension, unit=unit)
    await run(s, [facts.set_round_op(ticket_no, rnd, **change.values), ox.rollups.increment_op(s, change.counts)])


async def on_extension_decided(event: ExtensionDecided, uow: UnitOfWork, ox: Oversight) -> None:
    """An approved extension (延期): count it once per round and move the deadline."""
    if event.approved:
        await _move_deadline(uow, ox, rnd=event.round, unit=event.unit, new_due=event.resolve_due, extension=True)


async def on_deadline_changed(event: DeadlineChanged, uow: UnitOfWork, ox: Oversight) -> None:
    """The resolution deadline moved (calendar loaded, extension, resume): follow it without counting."""
    await _move_deadline(uow, ox, rnd=event.round, unit=event.unit, new_due=event.resolve_due, extension=False)


async def on_clock_resumed(event: ClockResumed, uow: UnitOfWork, ox: Oversight) -> None:
    """A paused clock runs again with a later deadline: follow it without counting."""
    await _move_deadline(uow, ox, rnd=event.round, unit=event.unit, new_due=event.resolve_due, extension=False)


async def on_visit_due(event: ReturnVisitDue, uow: UnitOfWork, ox: Oversight) -> None:
    """sla's due time for the return visit, when it publishes one."""
    due = rounds.visit_due_at(event.due, event.due_date, ox.tz)
    if due is not None:
        s = uow.session
        await run(s, [facts.put_round_op(s, uow.envelope.ticket_no, event.round, visit_due=due)])


async def on_alert(event: AlertRaised, uow: UnitOfWork, ox: Oversight) -> None:
    """The alarm step means overdue: count once per round (the other steps count nothing here)."""
    if event.level != "alarm":
        return
    s, ticket_no = uow.session, uow.envelope.ticket_no
    r = await facts.get_round(s, ticket_no, event.round)
    change = rounds.alarmed(r, unit=event.unit)
    if change is not None:
        await run(s, [facts.set_round_op(ticket_no, event.round, **change.values),
                      ox.rollups.increment_op(s, change.counts)])


async def on_urged(event: UrgeIssued, uow: UnitOfWork, ox: Oversight) -> None:
    """An urge notice (催办)."""
    s = uow.session
    await run(s, [ox.rollups.increment_op(s, [(event.unit, ox.day(event.at), {"urged": 1})])])


async def on_calendar_year(event: CalendarYearLoaded, uow: UnitOfWork, ox: Oversight) -> None:
    """A calendar year version sla stored: keep it; letters count on it from the next refresh on (every replica).
    Its envelope is keyed `calendar-<year>`: it is about the calendar, not a ticket, and counts nothing."""
    await calendar.store_year(uow.session, event, uow.now())


# ---------------------------------------------------------------- a run of the common facts written together

Fact = TicketTriaged | TicketDispatched | TierCopyIssued | ClockStarted | AlertRaised
_ROUND_FACTS = (TicketDispatched, ClockStarted)


async def on_facts(envs: list[EventEnvelope], uow: UnitOfWork, ox: Oversight) -> None:
    """A run of a ticket's first facts (TicketTriaged, TicketDispatched, TierCopyIssued, ClockStarted, AlertRaised) of
    a consumer batch in order, each decided as its own handler decides it, their writes gathered and written together
    (adapters.fact_batch: the rounds claimed and the open cases read once for the run). An event that needs more than
    the run keeps (a direct answer, a red ticket's case or supervision copy, a dispatch onto open cases or onto a
    result that came before it) goes through its own handler once what came before it is written, and so does every
    later event of its ticket in the run."""
    s = uow.session
    parsed: list[tuple[EventEnvelope, Fact]] = [(env, parse_payload(env, _RUN_EVENTS[env.type][0])) for env in envs]
    cased = await fact_batch.tickets_with_open_cases(
        s, [env.ticket_no for env, e in parsed if isinstance(e, TicketDispatched)])
    claimed = await fact_batch.claim_rounds(s, [
        (env.ticket_no, e.round) for env, e in parsed
        if isinstance(e, _ROUND_FACTS) or (isinstance(e, AlertRaised) and e.level == "alarm")])
    writes = fact_batch.FactWrites()
    alone: set[str] = set()
    now = uow.now()
    for env, event in parsed:
        ticket_no = env.ticket_no
        if ticket_no not in alone and _gathered(event, env, claimed, cased, writes, ox, now):
            continue
        alone.add(ticket_no)
        await writes.flush(s, ox.rollups)
        after: list[Callable[[], None]] = []
        async with UnitOfWork.bound(uow.rt, s, cause=env, after=after) as one:
            await _RUN_EVENTS[env.type][1](event, one, ox)
        for fn in after:
            uow.after_commit(fn)
    await writes.flush(s, ox.rollups)


def _gathered(event: Fact, env: EventEnvelope, claimed: dict[fact_batch.RoundKey, Any], cased: set[str],
              writes: fact_batch.FactWrites, ox: Oversight, now: datetime) -> bool:
    """Decide one event as its handler would and gather its writes; False when it needs its own handler."""
    ticket_no, at = env.ticket_no, env.occurred_at
    if isinstance(event, TicketTriaged):
        if rounds.answer_unit(route=event.route, answer_unit=event.answer_unit, reclassified=event.reclassified) \
                or case_rules.red_ticket_call(tier=event.tier, open_for_red=ox.settings.open_cases_for_red):
            return False
        writes.ticket(ticket_no, updated_at=at, category=event.category, kinds=event.department_kinds,
                      tier=event.tier, **({"region_code": event.region_code} if event.region_code else {}))
        return True
    if isinstance(event, TierCopyIssued):
        if case_rules.red_ticket_call(copy_purpose=event.purpose, open_for_red=ox.settings.open_cases_for_red):
            return False  # the supervision copy joins the ticket's case: cases.on_tier_copy
        writes.copy(cases.copy_row(event, env, None, now))
        return True
    if isinstance(event, AlertRaised) and event.level != "alarm":
        return True  # only the alarm counts (on_alert)
    key = (ticket_no, event.round)
    r = claimed[key]
    if isinstance(event, TicketDispatched):
        if ticket_no in cased or (r.dispatch_day is None and r.resolved_at):
            return False  # the open cases are named, or the visits that came first are read: on_dispatched
        lead, region = event.lead_unit, event.region_code
        change = rounds.dispatch_known(r, lead=lead, co_units=event.co_units, day=ox.day(event.dispatched_at))
        writes.ticket(ticket_no, updated_at=at, lead_unit=lead, round=event.round, status="dispatched",
                      **({"region_code": region} if region else {}))
        writes.unit({"unit": lead, "name": event.lead_unit_name[:NAME_MAX], "region_code": unit_region(lead, region),
                     "level": event.unit_level}, named=True)
        for co in event.co_units:
            writes.unit({"unit": co, "region_code": unit_region(co, region)}, named=False)
        writes.round(key, r, change.values)
        writes.count(change.counts)
        return True
    if isinstance(event, AlertRaised):
        alarmed = rounds.alarmed(r, unit=event.unit)
        if alarmed is not None:
            writes.round(key, r, alarmed.values)
            writes.count(alarmed.counts)
        return True
    # ClockStarted, as facts.set_clock and on_clock_started: the judgement reads the round as it was
    accept_due = rounds.accept_due(event.accept_due, event.resolve_due)
    known = rounds.clock_known(r, accept_due=accept_due, resolve_due=event.resolve_due)
    writes.round(key, r, {"accept_due": accept_due, "resolve_due": event.resolve_due,
                          "unit": r.unit if r.unit is not None else event.unit})
    if known is not None:
        writes.round(key, r, known.values)
        writes.count(known.counts)
    return True


_RUN_EVENTS: dict[str, tuple[type[Fact], Any]] = {
    model.__event_type__: (model, handler)  # type: ignore[attr-defined,union-attr]
    for model, handler in ((TicketTriaged, on_triaged), (TicketDispatched, on_dispatched),
                           (TierCopyIssued, cases.on_tier_copy), (ClockStarted, on_clock_started),
                           (AlertRaised, on_alert))
}
