"""The work order (工单) as the rules see it, what an action decides about it, and who may act on it (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bancheng_shared.contracts.envelope import EventPayload
from bancheng_shared.errors import Problem
from bancheng_shared.principal import Principal, Role
from triage_svc.domain import bounds
from triage_svc.domain.lifecycle import Action, State, TransitionRefused, transition
from triage_svc.domain.tiers import TierFacts


@dataclass(kw_only=True)
class WorkOrder:
    """One work order: its decision, where it stands, and who has it (a row of `work_orders`, in its order)."""

    ticket_no: str
    state: str
    content: str
    address: str | None = None
    channel: str | None = None
    category: str
    domain: str
    department_kinds: list[str]
    tier: str
    response_level: int
    complex: bool = False
    route: str
    region_code: str | None = None
    place_source: str | None = None
    lead_unit: str | None = None
    lead_unit_name: str | None = None
    co_units: list[str] | None = None
    transfer_unit: str | None = None  # the receiving organ of a transfer (信访 / 涉法涉诉): it signs for it
    round: int = 1
    returns_count: int = 0
    repeat_count: int = 0
    own_repeat_count: int = 0  # repeats from the person who asked first (what raises the tier)
    urgent: bool = False
    deemed_signed: bool = False
    dispatched_at: datetime | None = None
    signed_at: datetime | None = None
    return_request: dict[str, Any] | None = None
    resolution: dict[str, Any] | None = None
    suggested_answer: str | None = None
    knowledge_id: str | None = None
    answer: str | None = None
    copies: list[str] | None = None
    catalogue_version: int | None = None
    explanation: list[str] | None = None
    closed_at: datetime | None = None
    created_at: datetime
    updated_at: datetime

    @property
    def lead(self) -> str:
        """The lead unit's code, in the states where a unit has the work order."""
        if self.lead_unit is None:
            raise ValueError(f"work order {self.ticket_no} has no lead unit")
        return self.lead_unit


@dataclass(frozen=True)
class LogLine:
    """A line of the work order's log: what happened, by whom, in which round, from which state to which."""

    action: str
    actor: str
    round: int
    from_state: str | None
    to_state: str | None
    detail: dict[str, Any] | None = None


@dataclass
class Outcome:
    """What a decision about a work order comes to: columns to change, events to emit, a log line, an answer."""

    changes: dict[str, Any] = field(default_factory=dict)
    events: list[EventPayload] = field(default_factory=list)
    log: LogLine | None = None
    view: dict[str, Any] = field(default_factory=dict)


def actor_name(who: Principal) -> str:
    """How the log names a person acting: role and key name (an event's `by` is cut to a name's limit)."""
    return bounds.clip(f"{who.role.value}:{who.name}", bounds.ACTOR_MAX)


TRANSFER_STATES = frozenset({State.transferred.value, State.transfer_received.value})


def visible(wo: WorkOrder, who: Principal) -> bool:
    """A unit sees the work orders it leads or assists on, or receives as a transfer; other roles see all."""
    return who.role != Role.unit or who.unit_code in {wo.lead_unit, wo.transfer_unit, *(wo.co_units or [])}


def holder(wo: WorkOrder) -> str | None:
    """The unit that acts on a work order: the receiving organ of a transfer, else the lead unit."""
    return wo.transfer_unit if wo.state in TRANSFER_STATES else wo.lead_unit


def admit(wo: WorkOrder | None, who: Principal, action: Action, *, ticket_no: str,
          lead_only: bool = True) -> tuple[WorkOrder, State]:
    """The work order and the state a caller's action leads to: 404 when the caller may not see it, 403 when only
    the lead unit may act and the caller is another unit, 409 when the state does not allow it."""
    if wo is None or not visible(wo, who):
        raise Problem(404, f"no work order for ticket {ticket_no!r}", type_="unknown-ticket")
    acting = holder(wo)
    if lead_only and who.role == Role.unit and who.unit_code != acting:
        detail = (f"only the receiving organ {acting} may {action.value} this transferred work order"
                  if wo.state in TRANSFER_STATES else
                  f"only the lead unit {acting} may {action.value} this work order; co-units report progress")
        raise Problem(403, detail, type_="forbidden")
    try:
        return wo, transition(wo.state, action, has_unit=bool(wo.lead_unit))
    except TransitionRefused as exc:
        raise exc.problem(ticket_no) from None


def acted(wo: WorkOrder, who: Principal, action: Action, to: State, *, now: datetime,
          changes: dict[str, Any] | None = None, events: list[EventPayload] | None = None,
          view: dict[str, Any] | None = None, detail: dict[str, Any] | None = None) -> Outcome:
    """The outcome of a person's action: the state it moved to (or `changes["state"]`), logged, answered."""
    upd = dict(changes or {})
    final = State(upd.pop("state", to.value))
    upd = {"state": final.value, "updated_at": now, **upd}
    line = LogLine(action.value, actor_name(who), upd.get("round", wo.round), wo.state, final.value, detail)
    return Outcome(upd, list(events or []), line, {"ticket_no": wo.ticket_no, "state": final.value, **(view or {})})


def tier_facts(wo: WorkOrder, **over: Any) -> TierFacts:
    """What the tier rules look at on a work order (units: the lead and co-units, at least one)."""
    units_n = (1 if wo.lead_unit else 0) + len(wo.co_units or [])
    facts = TierFacts(content=wo.content, units=max(1, units_n), repeats=wo.repeat_count or 0,
                      urgent=bool(wo.urgent), returns=wo.returns_count or 0, own_repeats=wo.own_repeat_count or 0)
    for k, v in over.items():
        setattr(facts, k, v)
    return facts
