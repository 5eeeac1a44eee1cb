"""The clocks of one round of a work order: started on dispatch (or redo); for a matter answered directly, on
triage (the hotline centre's level-3 clock, 1 working day); for a transfer to 信访 / 涉法涉诉, on the transfer (the
receiving organ signs for it within N working days); closed as the work order moves on.

A clock is a plain dict (one row of `clocks`). Each rule here takes the clock and the event's facts and answers
what changes and which events follow; the handlers load and save.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from bancheng_shared.calendar import UnknownYearError
from bancheng_shared.contracts.envelope import EventPayload
from bancheng_shared.contracts.sla import ClockFlagged, ClockStarted, ClockStopped, ReturnVisitDue
from bancheng_shared.contracts.triage import TicketDispatched, TicketTransferred, TicketTriaged
from bancheng_shared.contracts.vocab import Route
from sla_svc.domain.calendar_book import CalendarBook
from sla_svc.domain.deadlines import Policy, compute_deadlines, end_of_day, local_date
from sla_svc.domain.ladder import ACTIVE, PAUSED, RUNNING, alert


@dataclass
class Started:
    """A round's clocks as started: the clock, its `reported` alert row, its events."""

    clock: dict[str, Any]
    alert: dict[str, Any]
    events: list[EventPayload] = field(default_factory=list)


def on_dispatch(latest: dict[str, Any] | None, event: TicketDispatched) -> Literal["ignore", "start", "restart"]:
    """What a dispatch does to the ticket's clocks: a new round starts them, a re-dispatch of the running round
    restarts them for the new unit; a stale or duplicate dispatch, or one of a round already over, is ignored."""
    if latest is not None and latest["round"] > event.round:
        return "ignore"
    if latest is None or latest["round"] < event.round:
        return "start"
    if latest["state"] == "transferred" or latest.get("transfer_route"):
        # taken back from the transfer track (the work team dispatches it): the round runs again for the unit
        return "ignore" if latest["started_at"] == event.dispatched_at else "restart"
    same = latest["unit"] == event.lead_unit and (not event.redispatch or latest["started_at"] == event.dispatched_at)
    if same or latest["state"] not in (RUNNING, PAUSED, "returned"):
        return "ignore"
    return "restart"


def start_round(*, ticket_no: str, round_: int, unit: str, region_code: str | None, complex_: bool,
                response_level: int, started_at: datetime, existing: dict[str, Any] | None, now: datetime,
                book: CalendarBook, policy: Policy, accepted: bool = False,
                transfer_route: str | None = None) -> Started:
    """Start (or, for a re-dispatch, restart) a round's clocks: deadlines, `reported`, and their events.
    `accepted`: the unit has it from the start (the hotline centre answering directly: no signing step);
    `transfer_route`: a transfer's clock, due when the receiving organ signs for it (its own working days)."""
    days = policy.transfer_days if transfer_route else policy.resolution_days(complex_, response_level)
    c: dict[str, Any] = {
        "ticket_no": ticket_no, "round": round_, "gen": int(existing["gen"]) if existing else 0,
        "unit": unit, "region_code": region_code, "complex": complex_, "response_level": response_level,
        "started_at": started_at, "working_days": days, "extension_days": 0, "paused_days": 0,
        "paused_at": None, "resume_at": None, "state": RUNNING, "signed": accepted, "deemed_signed": False,
        "return_requested": False, "alert_level": "reported", "urged_at": None, "escalated_at": None,
        "resolved_at": None, "return_visit_due": None, "stopped_at": None, "stop_reason": None,
        "updated_at": now, "transfer_route": transfer_route,
        "detail": {"restarts": [*((existing.get("detail") or {}).get("restarts", [])),
                                {"unit": existing["unit"], "started_at": existing["started_at"].isoformat()}]}
        if existing else None,
    }
    c.update(compute_deadlines(book, policy, c))
    alert_row, reported = alert(c, "reported", now)
    events: list[EventPayload] = [
        ClockStarted(unit=unit, round=round_, started_at=started_at, accept_due=c["accept_due"],
                     resolve_due=c["resolve_due"], resolve_due_date=c["resolve_due_date"], working_days=days,
                     calendar_version=c["calendar_version"], unknown_year=c["unknown_year"],
                     explanation=c["explanation"], urgent_from=c["urgent_from"], region_code=region_code,
                     restarted=existing is not None),
        reported,
    ]
    if c["unknown_year"]:
        events.append(flagged(c, now))
    return Started(c, alert_row, events)


def flagged(c: dict[str, Any], now: datetime) -> ClockFlagged:
    """A clock whose deadline needs a calendar year not known yet: flagged, never guessed."""
    return ClockFlagged(unit=c["unit"], reason=c["explanation"], at=now, round=c["round"],
                        years_missing=list(c.get("flagged_years") or []))


def on_triaged(latest: dict[str, Any] | None, event: TicketTriaged) -> bool:
    """Whether a triaged ticket starts the clock of a direct answer: routed to `answer` with the answering unit
    named, and no clock yet (a dispatch came first, or a replay)."""
    return latest is None and event.route == Route.answer and bool(event.answer_unit)


Transfer = Literal["ignore", "start", "restart", "no_organ"]


def on_transfer(latest: dict[str, Any] | None, event: TicketTransferred) -> Transfer:
    """What a transfer does after the clocks running so far stop: the receiving organ's clock starts (in the
    ticket's latest round, restarted in place when it has one, so the organ's receipt names the work order's round);
    with no organ named there is no one to run it for (`no_organ`: flagged); a replay is ignored."""
    if latest is not None and latest.get("transfer_route") == event.route.value and latest["unit"] == event.to_unit \
            and latest["started_at"] == event.transferred_at:
        return "ignore"
    if not event.to_unit:
        return "no_organ"
    return "start" if latest is None else "restart"


def no_organ(event: TicketTransferred, round_: int, now: datetime) -> ClockFlagged:
    """A transfer with no receiving organ in the directory: no clock can run, so it is flagged for the work team
    (never left silently without a clock)."""
    return ClockFlagged(unit="", round=round_, at=now,
                        reason=f"transferred to {event.route.value} with no receiving organ in the directory: no "
                               "transfer clock runs until the work team names one (re-route or dispatch)")


def on_signed(c: dict[str, Any] | None, unit: str) -> Literal["ignore", "sign", "received"]:
    """What a sign does: on a transfer's running clock, the receiving organ's receipt (签收) stops it; on a unit's
    round, it closes the acceptance window; anything else (another unit, a stopped clock) is ignored."""
    if c is None or not is_running_for(c, unit):
        return "ignore"
    if c.get("transfer_route"):
        return "received"
    return "sign" if not c["signed"] else "ignore"


def stop(c: dict[str, Any], reason: str, at: datetime) -> ClockStopped:
    """Stop a round's clocks (resolved, answered, transferred, transfer_received, closed, returned, superseded):
    no more steps."""
    c.update(state=reason, stopped_at=at, stop_reason=reason)
    met = None if c.get("resolve_due") is None else at <= c["resolve_due"]
    return ClockStopped(unit=c["unit"], round=c["round"], reason=reason, at=at, resolve_due=c.get("resolve_due"),
                        met_deadline=met)


def is_running_for(c: dict[str, Any] | None, unit: str | None = None) -> bool:
    """The round's clocks run (or are paused) and, when a unit is named, belong to it."""
    return c is not None and c["state"] in ACTIVE and (unit is None or c["unit"] == unit)


def sign(c: dict[str, Any], unit: str) -> bool:
    """The unit signed: the acceptance window closes (False: nothing to change)."""
    if not is_running_for(c, unit) or c["signed"]:
        return False
    c["signed"] = True
    return True


def ask_return(c: dict[str, Any], unit: str) -> bool:
    """The unit asked to return it before signing: not deemed signed while the work team rules."""
    if not is_running_for(c, unit) or c["signed"]:
        return False
    c["return_requested"] = True
    return True


def return_rejected(c: dict[str, Any]) -> None:
    """The work team kept the matter with the unit: it goes on, counted as signed."""
    c.update(return_requested=False, signed=True)


def resolve(c: dict[str, Any], submitted_at: datetime, *, book: CalendarBook, policy: Policy) -> list[EventPayload]:
    """The unit submitted its result: the clock stops and the return visit falls due N working days later."""
    try:
        d = book.add_working_days(local_date(submitted_at, policy.tz), policy.return_visit_days)
        due: datetime | None = end_of_day(d, policy.tz)
        due_date: date | None = d
    except UnknownYearError:
        due, due_date = None, None
    c.update(resolved_at=submitted_at, return_visit_due=due)
    return [stop(c, "resolved", submitted_at),
            ReturnVisitDue(unit=c["unit"], round=c["round"], resolved_at=submitted_at, due=due, due_date=due_date)]
