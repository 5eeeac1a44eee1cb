"""The work team's corrections (纠正) of a decision (pure): kept for the model to learn from, and a work order not
yet with a signing unit re-routed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bancheng_shared.contracts.envelope import EventPayload
from bancheng_shared.contracts.triage import TicketDispatched, TicketTransferred, TicketTriaged
from bancheng_shared.contracts.vocab import Category, Domain, Route, Tier
from bancheng_shared.errors import Problem
from bancheng_shared.principal import Principal
from triage_svc.domain import bounds, lifecycle, routing, tiers
from triage_svc.domain.classifier import Compiled
from triage_svc.domain.directory import DirectoryIndex
from triage_svc.domain.lifecycle import Action, State
from triage_svc.domain.work_order import Outcome, WorkOrder, acted, actor_name, admit

# kinds a correction may name besides the catalogue's: the fallback and the two transfer targets
KINDS_BESIDES_CATALOGUE = frozenset({"local_government", "petition", "political_legal"})


@dataclass(frozen=True)
class Correction:
    """A correction to keep (a row of `corrections`): the request's text and what it should have been."""

    ticket_no: str
    content: str
    kind: str | None
    category: str | None
    route: str | None
    previous: dict[str, Any]
    reason: str
    created_by: str
    created_at: datetime


def reclassify(found: WorkOrder | None, who: Principal, *, kind: str | None, category: Category | None,
               route: Route | None, reason: str, ticket_no: str, catalogue: Compiled, directory: DirectoryIndex,
               now: datetime) -> tuple[Outcome, Correction]:
    """Correct the decision: the correction to keep, and the work order re-routed while that is still possible
    (to the transfer track for petition / legal, to a unit of the corrected kind for dispatch)."""
    wo, to = admit(found, who, Action.reclassify, ticket_no=ticket_no, lead_only=False)
    b = catalogue
    if kind is not None and kind not in set(b.by_kind) | KINDS_BESIDES_CATALOGUE:
        raise Problem(422, f"kind: {kind!r} is not a kind of the catalogue", type_="validation",
                      errors=[{"field": "kind", "message": "unknown kind"}])
    correction = Correction(
        ticket_no=ticket_no, content=wo.content, kind=kind, category=category.value if category else None,
        route=route.value if route else None,
        previous={"kinds": wo.department_kinds, "category": wo.category, "route": wo.route}, reason=reason,
        created_by=actor_name(who), created_at=now)
    kinds = [kind, *[k for k in wo.department_kinds if k != kind]] if kind else list(wo.department_kinds)
    new_route = route or (Route.dispatch if kind and wo.route == Route.answer.value else Route(wo.route))
    new_cat = category or Category(wo.category)
    expl = bounds.lines([*(wo.explanation or []), f"reclassified by {who.role.value}: kind {kind or '-'}, category "
                                                  f"{category.value if category else '-'}, route "
                                                  f"{route.value if route else '-'}; reason: {reason}"])
    upd: dict[str, Any] = {"department_kinds": kinds, "category": new_cat.value, "route": new_route.value,
                           "explanation": expl}
    rd = b.by_kind.get(kinds[0])
    events: list[EventPayload] = [TicketTriaged(
        category=new_cat, domain=rd.domain if rd else Domain(wo.domain), department_kinds=kinds, tier=Tier(wo.tier),
        response_level=wo.response_level, route=new_route, region_code=wo.region_code, complex=wo.complex,
        explanation=expl, lead_kind=kinds[0], catalogue_version=b.version, reclassified=True,
        reason=bounds.reason(reason))]
    summary = {"kind": kind, "category": new_cat.value, "route": new_route.value}
    rerouted = False
    if State(wo.state) in lifecycle.REROUTABLE:
        idx = directory
        if new_route in routing.TRANSFER_ROUTES and wo.route != new_route.value:
            target = routing.transfer_target(new_route, wo.region_code, idx)
            events.append(TicketTransferred(route=new_route, to_unit=target.code if target else None,
                                            reason=bounds.reason(reason),
                                            transferred_at=now))
            upd.update(state=lifecycle.reroute(wo.state, State.transferred).value, lead_unit=None,
                       lead_unit_name=None, co_units=[], transfer_unit=target.code if target else None)
            rerouted = True
        elif new_route == Route.dispatch and kind and (kind != (idx.by_code[wo.lead_unit].kind
                                                               if wo.lead_unit in idx.by_code else None)):
            r = b.by_kind.get(kind)
            lead = idx.choose(kind, wo.region_code, r.level if r else 4)
            if lead is not None:
                rnd = wo.round + (1 if wo.lead_unit else 0)
                level = tiers.level_for_unit(wo.response_level, Tier(wo.tier), b.tier_rules, wo.category,
                                             wo.content)
                events.append(TicketDispatched(
                    lead_unit=lead.code, lead_unit_name=bounds.name(lead.name), co_units=[], unit_level=lead.level,
                    region_code=wo.region_code, tier=Tier(wo.tier), response_level=level, complex=wo.complex,
                    round=rnd, redispatch=bool(wo.lead_unit), dispatched_at=now,
                    unit_contacts=directory.sms_numbers([lead.code])))
                upd.update(state=lifecycle.reroute(wo.state, State.dispatched).value, lead_unit=lead.code,
                           lead_unit_name=lead.name, co_units=[], round=rnd, dispatched_at=now, signed_at=None,
                           deemed_signed=False, urgent=False, transfer_unit=None)
                if wo.response_level == tiers.ANSWERED_LEVEL:
                    upd["response_level"] = level
                rerouted = True
    outcome = acted(wo, who, Action.reclassify, to, now=now, changes=upd, events=events,
                    view={"correction": summary, "rerouted": rerouted},
                    detail={"reason": reason, **summary, "rerouted": rerouted})
    return outcome, correction
