"""Pause and resume (e.g. waiting for material from the person), bounded so the ladder cannot be frozen.

- The unit ASKS for a pause (reason, working days); the work team approves (possibly for fewer days) or rejects it,
  or pauses a clock itself. One request may wait for a ruling per round.
- Per round at most `max_pauses` pauses and `max_paused_days` paused working days (settings; 1 and 10 by default),
  whoever paused. Days already used: those counted on resuming, or the approved length of the pause still running.
- Only a running clock whose deadline has not passed pauses; the pause starts when it is approved.
- A pause of N working days taken on date P resumes by itself at 00:00 of the Nth working day after P (a scheduler
  timer; when that day is in a year the calendar does not know yet, the clock is flagged and the timer is planned
  once the year is loaded), so the working days in (P, that day] — N of them — are not counted; the unit or the
  work team may resume earlier. Resuming adds the working days in (pause date, resume date] to the deadline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from bancheng_shared.calendar import UnknownYearError
from bancheng_shared.errors import Problem
from sla_svc.domain import unknown_years
from sla_svc.domain.calendar_book import CalendarBook
from sla_svc.domain.deadlines import Policy, paused_working_days
from sla_svc.domain.ladder import PAUSED, RUNNING, move_deadline


def check_days(days: int, policy: Policy, *, field: str = "days", most: int | None = None) -> None:
    """A pause's length must be 1..the round's paused working days (or 1..`most`, e.g. the days asked)."""
    top = policy.max_paused_days if most is None else most
    if not 1 <= days <= top:
        raise Problem(422, f"{field}: {days} is outside 1..{top} working days", type_="validation",
                      errors=[{"field": field, "message": f"must be 1..{top}"}])


def check_pause(c: Mapping[str, Any], now: datetime) -> None:
    """Only a running clock whose deadline has not passed pauses."""
    if c["state"] != RUNNING:
        raise Problem(409, f"the clock of round {c['round']} is {c['state']}; only a running clock pauses",
                      type_="clock-not-running", state=c["state"])
    if c["resolve_due"] is not None and now > c["resolve_due"]:
        raise Problem(409, "the deadline has passed; an overdue clock cannot be paused", type_="deadline-passed")


def used_days(taken: Sequence[Mapping[str, Any]]) -> int:
    """Paused working days of a round: counted ones of ended pauses, the approved length of the one running."""
    return sum(int(p["working_days"] or 0) if p["resumed_at"] is not None else int(p["days"] or 0) for p in taken)


def check_allowance(c: Mapping[str, Any], taken: Sequence[Mapping[str, Any]], days: int, policy: Policy) -> None:
    """At most `max_pauses` pauses and `max_paused_days` paused working days per round."""
    used = used_days(taken)
    remaining = max(0, policy.max_paused_days - used)
    facts: dict[str, Any] = {"pauses_taken": len(taken), "max_pauses": policy.max_pauses, "paused_days_used": used,
                             "max_paused_days": policy.max_paused_days}
    if len(taken) >= policy.max_pauses:
        raise Problem(409, f"round {c['round']} was already paused {len(taken)} time(s); at most "
                      f"{policy.max_pauses} pause(s) per round", type_="pause-limit", **facts)
    if days > remaining:
        raise Problem(409, f"{days} working day(s) asked, but only {remaining} of the round's "
                      f"{policy.max_paused_days} paused working days remain", type_="pause-limit", **facts)


def check_may_pause(c: Mapping[str, Any], now: datetime, *, taken: Sequence[Mapping[str, Any]], days: int,
                    policy: Policy) -> None:
    """The clock can be paused now for `days` working days."""
    check_pause(c, now)
    check_allowance(c, taken, days, policy)


def check_request(c: Mapping[str, Any], now: datetime, *, pending: Mapping[str, Any] | None,
                  taken: Sequence[Mapping[str, Any]], days: int, policy: Policy) -> None:
    """A unit may ask while its clock runs before the deadline, nothing else waits for a ruling, and the round's
    pauses allow it."""
    check_pause(c, now)
    if pending is not None:
        raise Problem(409, f"pause request {pending['id']} of round {c['round']} is still waiting for the work "
                      "team's ruling", type_="pause-already-requested", request_id=pending["id"])
    check_allowance(c, taken, days, policy)


def check_decision(request: Mapping[str, Any], c: Mapping[str, Any], *, approved: bool) -> None:
    """A request is ruled on once; it can be approved only while the same unit's clock still runs."""
    if request["state"] != "pending":
        raise Problem(409, f"pause request {request['id']} was already {request['state']}",
                      type_="already-decided", state=request["state"])
    if approved and (c["state"] != RUNNING or c["unit"] != request["unit"]):
        raise Problem(409, f"the clock of round {c['round']} is {c['state']} (unit {c['unit']}); "
                      "the request can only be rejected", type_="clock-not-running", state=c["state"])


def pause(c: dict[str, Any], now: datetime, days: int, *, book: CalendarBook, policy: Policy) -> datetime | None:
    """Pause the clock now for `days` working days (changed in place); returns when it resumes by itself, None
    while that day is in a year the calendar does not know (the resume waits for the year: flagged)."""
    at = unknown_years.resume_at(book, policy, now, days)[0]
    c.update(state=PAUSED, paused_at=now, resume_at=at, detail={**(c.get("detail") or {}), "pause_days": days})
    return at


def days_paused(c: Mapping[str, Any], at: datetime, *, book: CalendarBook, policy: Policy) -> int:
    """The working days a paused clock resuming at `at` gets back (refused while the calendar lacks a year)."""
    if c["state"] != PAUSED:
        raise Problem(409, f"the clock of round {c['round']} is {c['state']}, not paused",
                      type_="clock-not-paused", state=c["state"])
    try:
        return paused_working_days(book, policy, c["paused_at"], at)
    except UnknownYearError as exc:
        raise Problem(409, f"the calendar does not know {exc.years}; load it before resuming",
                      type_="unknown-year") from exc


def resume(c: dict[str, Any], at: datetime, *, book: CalendarBook, policy: Policy) -> tuple[int, list[str]]:
    """Run a paused clock again from `at` (changed in place): the paused working days are added to its deadline.
    Returns the days added and the alert levels no longer true (the ladder is re-armed from `at`)."""
    added = days_paused(c, at, book=book, policy=policy)
    detail = {k: v for k, v in (c.get("detail") or {}).items() if k != "pause_days"}
    c.update(state=RUNNING, paused_at=None, resume_at=None, paused_days=int(c["paused_days"]) + added,
             detail=detail or None)
    return added, move_deadline(c, at, book=book, policy=policy)
