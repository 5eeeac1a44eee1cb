"""How a work order's tier moves (pure): automatically only up (repeats, sla's urgent alert, more units, returns),
by a person either way with a reason; each tier reached issues its copy once (see `tiers` for the rules)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from bancheng_shared.contracts.envelope import EventPayload
from bancheng_shared.contracts.intake import RepeatReceived
from bancheng_shared.contracts.sla import AlertRaised
from bancheng_shared.contracts.triage import TierChanged, TierCopyIssued
from bancheng_shared.contracts.vocab import TIER_ORDER, AlertLevel, Route, Tier
from bancheng_shared.errors import Problem
from bancheng_shared.principal import Principal
from triage_svc.domain import bounds, tiers
from triage_svc.domain.directory import DirectoryIndex
from triage_svc.domain.lifecycle import Action, transition
from triage_svc.domain.work_order import LogLine, Outcome, WorkOrder, acted, actor_name, admit, tier_facts

# sla's alerts that say the deadline is near (urgent: 2 working days before it; alarm: overdue)
DEADLINE_NEAR = frozenset({AlertLevel.urgent, AlertLevel.alarm})


def copies_for(directory: DirectoryIndex, tier: Tier, *, on: str, rules: dict[str, Any], region_code: str | None,
               copies: list[str], rnd: int, reason: str, now: datetime) -> tuple[list[EventPayload], list[str]]:
    """The tier's copy (`on` 'tier' when reached, 'resolution' after completion) unless already issued: the event
    and the issued keys after it; the copy goes to the units of the rule's kinds nearest the place."""
    rule = tiers.copy_rule(tier, on, rules)
    key = f"{tier.value}:{on}"
    if rule is None or key in copies:
        return [], copies
    to_units = [u.code for k in rule["to_kinds"] if (u := directory.choose(k, region_code)) is not None]
    event = TierCopyIssued(tier=tier, purpose=rule["purpose"], to_kinds=list(rule["to_kinds"]), to_units=to_units,
                           reason=bounds.reason(reason), issued_at=now, round=rnd)
    return [event], [*copies, key]


def raise_tier(wo: WorkOrder, facts: tiers.TierFacts, *, rules: dict[str, Any], directory: DirectoryIndex,
               now: datetime) -> tuple[dict[str, Any], list[EventPayload]]:
    """The automatic move: up only, when the facts earn a higher tier. Column changes and events (none: no move)."""
    decision = tiers.evaluate(facts, rules)
    old = Tier(wo.tier)
    if TIER_ORDER[decision.tier] <= TIER_ORDER[old]:
        return {}, []
    reason = bounds.reason("; ".join(decision.reasons))
    events: list[EventPayload] = [TierChanged(old_tier=old, new_tier=decision.tier, reason=reason, automatic=True,
                                              changed_at=now, round=wo.round)]
    copy_events, copies = copies_for(directory, decision.tier, on="tier", rules=rules, region_code=wo.region_code,
                                     copies=list(wo.copies or []), rnd=wo.round, reason=reason, now=now)
    events += copy_events
    upd: dict[str, Any] = {
        "tier": decision.tier.value, "copies": copies, "complex": tiers.is_complex(decision.tier, rules),
        "explanation": [*(wo.explanation or []),
                        bounds.line(f"tier raised {old.value} → {decision.tier.value}: {reason}")],
    }
    if wo.route != Route.answer.value:
        upd["response_level"] = tiers.response_level(decision.tier, rules)
    return upd, events


def raise_for_units(wo: WorkOrder, *, rules: dict[str, Any], directory: DirectoryIndex, now: datetime,
                    **to_be: Any) -> tuple[dict[str, Any], list[EventPayload]]:
    """The automatic move for the work order as it is to be (its new units, its returns counted)."""
    shadow = replace(wo, **to_be)
    return raise_tier(shadow, tier_facts(shadow), rules=rules, directory=directory, now=now)


def on_repeat(wo: WorkOrder, event: RepeatReceived, *, rules: dict[str, Any], directory: DirectoryIndex,
              now: datetime) -> Outcome:
    """intake merged a repeat: counted (never down), the tier re-evaluated on the same person's repeats (another
    person's request raises the count, not the tier); TransitionRefused once closed."""
    transition(wo.state, Action.change_tier)
    count = max(wo.repeat_count or 0, event.repeat_count)
    own = (wo.own_repeat_count or 0) + (1 if event.same_person else 0)
    upd, events = raise_tier(wo, tier_facts(wo, repeats=count, own_repeats=own), rules=rules, directory=directory,
                             now=now)
    line = LogLine("repeat", "intake", wo.round, wo.state, wo.state,
                   {"repeat_count": count, "same_person": event.same_person, "own_repeat_count": own,
                    "tier": upd.get("tier", wo.tier)})
    return Outcome({"repeat_count": count, "own_repeat_count": own, "updated_at": now, **upd}, events, line)


def deadline_near(level: AlertLevel) -> bool:
    """Whether an alert of sla's ladder counts for the tier (urgent or alarm)."""
    return level in DEADLINE_NEAR


def on_deadline_near(wo: WorkOrder, event: AlertRaised, *, rules: dict[str, Any], directory: DirectoryIndex,
                     now: datetime) -> Outcome | None:
    """sla's urgent (or alarm) alert of the current round: remembered, and with the same person's repeats the ticket
    turns red.
    None for another round; TransitionRefused once closed."""
    transition(wo.state, Action.change_tier)
    if event.round != wo.round:
        return None
    upd, events = raise_tier(wo, tier_facts(wo, urgent=True), rules=rules, directory=directory, now=now)
    return Outcome({"urgent": True, "updated_at": now, **upd}, events)


def change_tier(found: WorkOrder | None, who: Principal, *, tier: Tier, reason: str, ticket_no: str,
                rules: dict[str, Any], directory: DirectoryIndex, now: datetime) -> Outcome:
    """A person sets the tier (down only by the work team or an admin, whom the route admits), with a reason."""
    wo, to = admit(found, who, Action.change_tier, ticket_no=ticket_no, lead_only=False)
    old = Tier(wo.tier)
    if tier == old:
        raise Problem(409, f"the tier is already {tier.value}", type_="no-change", state=wo.state)
    events: list[EventPayload] = [TierChanged(old_tier=old, new_tier=tier, reason=bounds.reason(reason),
                                              automatic=False, changed_at=now, by=bounds.name(actor_name(who)),
                                              round=wo.round)]
    copies = list(wo.copies or [])
    if TIER_ORDER[tier] > TIER_ORDER[old]:
        copy_events, copies = copies_for(directory, tier, on="tier", rules=rules, region_code=wo.region_code,
                                         copies=copies, rnd=wo.round, reason=reason, now=now)
        events += copy_events
    upd: dict[str, Any] = {"tier": tier.value, "copies": copies, "complex": tiers.is_complex(tier, rules),
                           "explanation": [*(wo.explanation or []), bounds.line(
                               f"tier set {old.value} → {tier.value} by {who.role.value}: {reason}")]}
    if wo.route != Route.answer.value:
        upd["response_level"] = tiers.response_level(tier, rules)
    return acted(wo, who, Action.change_tier, to, now=now, changes=upd, events=events, view={"tier": tier.value},
                 detail={"from": old.value, "to": tier.value, "reason": reason})

