"""The alert ladder (Chongqing): `reported` on delivery, `warning` when not accepted within the window (the work
order is then deemed signed), `urgent` from N working days before the deadline, `alarm` and the urge (催办) when
overdue, escalation to supervision (督办) N working days after the urge; and the end of an approved pause (`resume`,
see pauses.py). Which steps are still to fire, and what firing one does to a clock."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bancheng_shared.contracts.envelope import EventPayload
from bancheng_shared.contracts.sla import AlertRaised, DeemedSigned, EscalatedToSupervision, UrgeIssued
from bancheng_shared.contracts.vocab import AlertLevel
from sla_svc.domain.calendar_book import CalendarBook
from sla_svc.domain.deadlines import ONE_US, Policy, compute_deadlines, escalate_at, local_date

LEVEL_RANK = {None: -1, "reported": 0, "warning": 1, "urgent": 2, "alarm": 3}
RUNNING, PAUSED = "running", "paused"
ACTIVE = (RUNNING, PAUSED)


def plan_timers(book: CalendarBook, policy: Policy, clock: Mapping[str, Any]) -> list[tuple[str, datetime]]:
    """The transitions still to fire for a clock, as (kind, due_at)."""
    out: list[tuple[str, datetime]] = []
    if clock["state"] not in (RUNNING, PAUSED):
        return out
    if not clock.get("signed") and not clock.get("return_requested") and clock.get("accept_due") is not None:
        out.append(("accept", clock["accept_due"] + ONE_US))
    if clock["state"] == PAUSED and clock.get("resume_at") is not None:
        out.append(("resume", clock["resume_at"]))  # a pause ends by itself (fired by the scheduler's handler)
    if clock["state"] != RUNNING or clock.get("resolve_due") is None:
        return out
    rank = LEVEL_RANK.get(clock.get("alert_level"), -1)
    if rank < LEVEL_RANK["urgent"] and clock.get("urgent_from") is not None and clock.get("urged_at") is None:
        out.append(("urgent", clock["urgent_from"]))
    if clock.get("urged_at") is None:
        out.append(("alarm", clock["resolve_due"] + ONE_US))
    elif clock.get("escalated_at") is None:
        at = escalate_at(book, policy, clock["urged_at"])
        if at is not None:
            out.append(("escalate", at))
    return out


def level_after_move(clock: Mapping[str, Any], now: datetime) -> str:
    """The ladder level that holds at `now` after the deadline moved (extension, resume)."""
    due, urgent_from = clock.get("resolve_due"), clock.get("urgent_from")
    if due is not None and now > due:
        return "alarm"
    if urgent_from is not None and now >= urgent_from:
        return "urgent"
    return "warning" if clock.get("deemed_signed") else "reported"


MESSAGES = {
    "reported": "工单已送达承办单位 / delivered to the unit",
    "warning": "超过签收时限未签收，视为签收 / not accepted in time: deemed signed",
    "urgent": "距办理时限不足 2 个工作日 / 2 working days or less before the deadline",
    "alarm": "已超期，已催办 / overdue: urge notice issued",
}


def alert(c: Mapping[str, Any], level: str, now: datetime,
          due_at: datetime | None = None) -> tuple[dict[str, Any], AlertRaised]:
    """An alert of a clock: its row (open until the clock moves on) and its event."""
    row = {"ticket_no": c["ticket_no"], "round": c["round"], "level": level, "unit": c["unit"],
           "region_code": c.get("region_code"), "deadline": c.get("resolve_due"), "raised_at": now,
           "is_open": True, "closed_at": None}
    return row, AlertRaised(level=AlertLevel(level), unit=c["unit"], deadline=c.get("resolve_due"), raised_at=now,
                            round=c["round"], message=MESSAGES[level], region_code=c.get("region_code"),
                            due_at=due_at)


@dataclass
class Fired:
    """What firing due transitions did: alert rows, events and further timers (kind, due_at) to plan."""

    alerts: list[dict[str, Any]] = field(default_factory=list)
    events: list[tuple[str, EventPayload]] = field(default_factory=list)  # (ticket_no, payload)
    timers: list[dict[str, Any]] = field(default_factory=list)


def fire(c: dict[str, Any], kind: str, due_at: datetime, *, now: datetime, book: CalendarBook, policy: Policy,
         out: Fired) -> bool:
    """The effect of one due transition on its clock (changed in place); False when it no longer applies."""
    ticket_no = c["ticket_no"]

    def raise_level(level: str) -> None:
        if LEVEL_RANK[level] > LEVEL_RANK.get(c.get("alert_level"), -1):
            c["alert_level"] = level
        row, event = alert(c, level, now, due_at)
        out.alerts.append(row)
        out.events.append((ticket_no, event))

    if kind == "accept":
        if c["signed"] or c["return_requested"]:
            return False
        c.update(signed=True, deemed_signed=True)
        raise_level("warning")
        out.events.append((ticket_no, DeemedSigned(unit=c["unit"], at=due_at, round=c["round"])))
        return True
    if c["state"] != RUNNING:
        return False
    if kind == "urgent":
        if LEVEL_RANK.get(c.get("alert_level"), -1) >= LEVEL_RANK["urgent"] or c.get("urged_at"):
            return False
        raise_level("urgent")
        return True
    if kind == "alarm":
        if c.get("urged_at") is not None:
            return False
        c["urged_at"] = due_at
        raise_level("alarm")
        out.events.append((ticket_no, UrgeIssued(unit=c["unit"], at=due_at, round=c["round"],
                                                 deadline=c.get("resolve_due"))))
        at = escalate_at(book, policy, due_at)
        if at is not None:
            out.timers.append({"ticket_no": ticket_no, "round": c["round"], "gen": c["gen"], "kind": "escalate",
                               "due_at": at, "status": "pending"})
        return True
    if kind == "escalate":
        if c.get("urged_at") is None or c.get("escalated_at") is not None:
            return False
        c["escalated_at"] = due_at
        out.events.append((ticket_no, EscalatedToSupervision(
            unit=c["unit"], at=due_at, round=c["round"], deadline=c.get("resolve_due"), urged_at=c["urged_at"],
            reason=f"unresolved {policy.escalate_days} working days after the urge notice of "
                   f"{local_date(c['urged_at'], policy.tz).isoformat()}")))
        return True
    return False


def move_deadline(c: dict[str, Any], now: datetime, *, book: CalendarBook, policy: Policy) -> list[str]:
    """Recompute a clock's deadline after an extension or a pause; returns the alert levels no longer true.

    The steps of the ladder not due again are re-armed (the caller plans the timers afresh).
    """
    c.update(compute_deadlines(book, policy, c))
    level = level_after_move(c, now)
    if LEVEL_RANK[level] < LEVEL_RANK["alarm"] and c.get("urged_at") is not None:
        c.update(urged_at=None, escalated_at=None)
    stale: list[str] = []
    if LEVEL_RANK.get(c.get("alert_level"), -1) > LEVEL_RANK[level]:
        stale = [lv for lv in ("urgent", "alarm") if LEVEL_RANK[lv] > LEVEL_RANK[level]]
        c["alert_level"] = level
    return stale
