"""A received ticket becomes a work order (pure): routed, tiered, dispatched or transferred, every step explained."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bancheng_shared.contracts.envelope import EventPayload
from bancheng_shared.contracts.intake import TicketReceived
from bancheng_shared.contracts.triage import TicketDispatched, TicketTransferred, TicketTriaged
from bancheng_shared.contracts.vocab import Route
from triage_svc.domain import bounds, hand_down, lifecycle, routing
from triage_svc.domain.classifier import Compiled
from triage_svc.domain.directory import DirectoryIndex
from triage_svc.domain.lifecycle import State
from triage_svc.domain.tier_moves import copies_for
from triage_svc.domain.work_order import LogLine, WorkOrder

ANSWER_KIND = "hotline_center"  # the kind of unit that answers level-3 matters directly


@dataclass
class Triaged:
    """The new work order, its first log line and the events that announce it."""

    work_order: WorkOrder
    log: LogLine
    events: list[EventPayload]


def triage(ticket_no: str, ticket: TicketReceived, *, catalogue: Compiled, directory: DirectoryIndex,
           now: datetime) -> Triaged:
    """Classify, tier and route a received ticket; dispatch it when a unit is found, transfer it off the track
    for petition and legal matters, hold it for an answer or for the work team otherwise."""
    t = routing.decide(ticket.content, ticket.region_code, ticket.address, ticket.category_hint, catalogue,
                       directory, hand_down.of(ticket))
    d = t.decision
    tier = t.tier.tier
    # a matter answered directly is the hotline centre's, on the level-3 clock (1 working day)
    answering = directory.choose(ANSWER_KIND, t.region_code) if d.route == Route.answer else None
    # the event carries the explanation as decided; the work order's may get one more line below
    events: list[EventPayload] = [TicketTriaged(
        category=d.category, domain=d.domain, department_kinds=d.department_kinds, tier=tier,
        response_level=t.response_level, route=d.route, region_code=t.region_code, complex=t.complex,
        explanation=list(d.explanation), lead_kind=d.target_kind, place_source=t.place_source,
        catalogue_version=catalogue.version, answer_unit=answering.code if answering else None)]
    copy_events, copies = copies_for(directory, tier, on="tier", rules=catalogue.tier_rules,
                                     region_code=t.region_code, copies=[], rnd=1, reason="; ".join(t.tier.reasons),
                                     now=now)
    events += copy_events
    lead = t.lead
    state = lifecycle.initial_state(d.route, has_lead=lead is not None)
    transfer_unit: str | None = None  # the receiving organ, which signs for a transferred item
    if state == State.transferred:
        target = routing.transfer_target(d.route, t.region_code, directory)
        transfer_unit = target.code if target else None
        events.append(TicketTransferred(route=d.route, to_unit=transfer_unit,
                                        reason=bounds.reason(next((w for w in reversed(d.explanation)
                                                                   if w.startswith("route")), d.route.value)),
                                        transferred_at=now))
    elif state == State.triaged:
        d.explanation.append("no unit found in the directory: waits for a manual dispatch")
    elif state == State.dispatched:
        assert lead is not None
        events.append(TicketDispatched(lead_unit=lead.code, lead_unit_name=bounds.name(lead.name),
                                       co_units=[u.code for u in t.co], unit_level=lead.level,
                                       region_code=t.region_code, tier=tier, response_level=t.response_level,
                                       complex=t.complex, round=1, dispatched_at=now,
                                       unit_contacts=directory.sms_numbers([lead.code, *(u.code for u in t.co)])))
    dispatched = state == State.dispatched
    wo = WorkOrder(
        ticket_no=ticket_no, state=state.value, content=ticket.content, address=ticket.address,
        channel=ticket.channel.value, category=d.category.value, domain=d.domain.value,
        department_kinds=d.department_kinds, tier=tier.value, response_level=t.response_level, complex=t.complex,
        route=d.route.value, region_code=t.region_code, place_source=t.place_source,
        lead_unit=lead.code if lead and dispatched else None, lead_unit_name=lead.name if lead and dispatched else None,
        transfer_unit=transfer_unit,
        co_units=[u.code for u in t.co] if dispatched else [], round=1, returns_count=0, repeat_count=0, urgent=False,
        deemed_signed=False, dispatched_at=now if dispatched else None, suggested_answer=d.suggested_answer,
        knowledge_id=d.knowledge_id, copies=copies, catalogue_version=catalogue.version, explanation=d.explanation,
        created_at=now, updated_at=now)
    line = LogLine("triage", "system", 1, None, state.value,
                   {"kind": d.target_kind, "route": d.route.value, "scores": d.scores})
    return Triaged(wo, line, events)

