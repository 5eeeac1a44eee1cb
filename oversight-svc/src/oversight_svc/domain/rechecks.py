"""回头看 (re-checking closed tickets, pure): a share of closed work orders is visited again some days after closing
— did the problem stay solved, is the person satisfied — counted per unit in the round's dispatch period."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from bancheng_shared.contracts.limits import REASON_MAX
from bancheng_shared.contracts.oversight import RedoOrdered
from bancheng_shared.contracts.vocab import ResolvedAnswer, Satisfaction
from bancheng_shared.errors import Problem
from oversight_svc.domain.visits import CLOCK_SKEW, orders_redo

_SCALE = 2**64


def sampled(ticket_no: str, rate: float) -> bool:
    """Whether a closed ticket is re-checked: decided by its number alone, so replays and replicas agree."""
    if rate <= 0:
        return False
    digest = int.from_bytes(hashlib.sha256(f"recheck|{ticket_no}".encode()).digest()[:8], "big")
    return digest < rate * _SCALE


def due(ticket_no: str, rnd: int, *, unit: str | None, dispatch_day: date | None, closed_at: datetime,
        after_days: int) -> tuple[dict[str, Any], list[tuple[str, date, dict[str, int]]]]:
    """The re-check owed for a closed round (due `after_days` calendar days after closing), and its count."""
    row = {"ticket_no": ticket_no, "round": rnd, "unit": unit, "dispatch_day": dispatch_day, "closed_at": closed_at,
           "due_at": closed_at + timedelta(days=after_days)}
    counts = [(unit, dispatch_day, {"recheck_due": 1})] if unit and dispatch_day else []
    return row, counts


def relapsed(resolved: ResolvedAnswer | None) -> bool | None:
    """The problem came back: the person says it is not (or only partly) solved now; None when not reached."""
    return None if resolved is None else resolved != ResolvedAnswer.yes


@dataclass(frozen=True)
class RecheckOutcome:
    """The answers to store, the counts they add, the redo ordered (if any)."""

    values: dict[str, Any]
    counts: list[tuple[str, date, dict[str, int]]]
    events: list[RedoOrdered] = field(default_factory=list)


def record(r: Any, *, ticket_no: str, resolved: ResolvedAnswer | None, satisfaction: Satisfaction,
           cause: str | None, notes: str | None, visited_at: datetime | None, by_name: str,
           now: datetime) -> RecheckOutcome:
    """Record a re-check visit (404 when the ticket was not sampled, 409 when done or not due yet); the problem
    back and the person unsatisfied through the unit's fault orders a redo, as a return visit does."""
    if r is None:
        raise Problem(404, f"ticket {ticket_no} has no re-check (not closed, or not in the sample)",
                      type_="no-recheck")
    if r.done_at is not None:
        raise Problem(409, f"the re-check of {ticket_no} was done at {r.done_at.isoformat()}",
                      type_="already-rechecked")
    if now + CLOCK_SKEW < r.due_at:
        raise Problem(409, f"the re-check of {ticket_no} is due from {r.due_at.isoformat()}, not before",
                      type_="recheck-not-due")
    if satisfaction != Satisfaction.unreachable and resolved is None:
        raise Problem(422, "resolved: required when the person was reached (yes, partly, no)", type_="validation")
    when = visited_at or now
    if when > now + CLOCK_SKEW or when < r.closed_at:
        raise Problem(422, f"visited_at: must be between the closing ({r.closed_at.isoformat()}) and now",
                      type_="validation")
    back = relapsed(resolved) if satisfaction != Satisfaction.unreachable else None
    redo = bool(back) and orders_redo(satisfaction.value, cause)
    values = {"done_at": when, "resolved": resolved.value if resolved else None,
              "satisfaction": satisfaction.value, "relapsed": back, "redo": redo, "notes": notes, "by_name": by_name}
    # an unreachable person is tried again: the re-check stays open and counts nothing yet
    if satisfaction == Satisfaction.unreachable:
        values = {"notes": notes}
        return RecheckOutcome(values, [])
    counts = ([(r.unit, r.dispatch_day, {"rechecked": 1, "recheck_relapsed": int(bool(back))})]
              if r.unit and r.dispatch_day else [])
    # the same redo as an unsatisfied return visit's: triage reopens the closed work order for a new round
    reason = f"回头看问题反弹 the problem came back at the re-check: {notes or ''}".strip()[:REASON_MAX]
    events = [RedoOrdered(reason=reason, round=r.round, ordered_at=when, unit=r.unit)] if redo else []
    return RecheckOutcome(values, counts, events)
