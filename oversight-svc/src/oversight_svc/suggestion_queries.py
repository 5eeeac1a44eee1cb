"""The read side of process improvement: suggestions as a caller may see them, and the per-department figures of a
period (the statistics answer and the report's section). No events, no writes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from bancheng_shared.errors import Problem
from bancheng_shared.principal import Principal, Role
from bancheng_shared.runtime import Runtime
from oversight_svc.adapters import suggestions as stored
from oversight_svc.adapters.cases import unit_names
from oversight_svc.context import Oversight
from oversight_svc.domain import suggestions
from oversight_svc.domain.periods import local_bounds


def view(r: Any, now: datetime) -> dict[str, Any]:
    """A suggestion as answered, with `overdue` (unanswered past due at now) and the actions its state allows."""
    answer = None
    if r.status != suggestions.RAISED:
        answer = {"decision": r.status, "change": r.change, "effective_date": r.effective_date, "reason": r.reason,
                  "answered_at": r.answered_at, "answered_by": r.answered_by, "late": bool(r.late)}
    return {"suggestion_id": r.suggestion_id, "source": r.source, "source_ref": r.source_ref, "target": r.target,
            "item": r.item, "evidence": r.evidence, "department": r.department, "status": r.status,
            "overdue": suggestions.is_overdue(r.status, r.due_at, now), "raised_by": r.raised_by,
            "raised_role": r.raised_role, "raised_at": r.raised_at, "due_at": r.due_at, "answer": answer,
            "allowed_actions": suggestions.allowed_actions(r.status)}


async def list_suggestions(rt: Runtime, ox: Oversight, who: Principal, *, department: str | None,
                           status: str | None, source: str | None, start: date | None, end: date | None, limit: int,
                           offset: int) -> list[dict[str, Any]]:
    """Suggestions raised in [start, end] (local days; both or neither), newest first; a unit key sees only those
    addressed to its unit."""
    if who.role == Role.unit:
        department = who.unit_code
    if (start is None) != (end is None):
        raise Problem(422, f"{'to' if end is None else 'from'}: give both from and to, or neither", type_="validation")
    lo = hi = None
    if start is not None and end is not None:
        ox.check_period(start, end)
        lo, hi = local_bounds(start, end, ox.tz)
    now = rt.clock.now()
    async with rt.sm() as session:
        rows = await stored.listed(session, now=now, department=department, status=status, source=source, lo=lo,
                                   hi=hi, limit=limit, offset=offset)
    return [view(r, now) for r in rows]


async def get_suggestion(rt: Runtime, who: Principal, suggestion_id: str) -> dict[str, Any]:
    """One suggestion (404 for a unit key it is not addressed to)."""
    async with rt.sm() as session:
        r = await stored.load(session, suggestion_id)
    suggestions.check_scope(who, r.department, suggestion_id)
    return view(r, rt.clock.now())


async def figures(rt: Runtime, ox: Oversight, start: date, end: date, *, region: str | None = None,
                  department: str | None = None) -> dict[str, Any]:
    """Of the suggestions raised in [start, end] (local days): per department and in all, raised, open, overdue
    (at now), answered (late), adopted, not adopted, the adoption rate."""
    ox.check_period(start, end)
    lo, hi = local_bounds(start, end, ox.tz)
    async with rt.sm() as session:
        groups = await stored.period_groups(session, lo, hi, rt.clock.now(), department=department, region=region)
        rows = suggestions.tally(groups)
        names = await unit_names(session, [r["department"] for r in rows])
    for r in rows:
        r["name"] = names.get(r["department"])
    return {"totals": suggestions.totals(rows), "by_department": rows}
