"""What a ticket round counts for its unit: dispatched, signed (in time or not), resolved (in time or not),
overdue, extended — and the corrections when a later fact changes an earlier count.

Events arrive in any order across topics: a count made before sla's clock was known is provisional and the
clock corrects it. A round's facts are read as they are stored (`RoundFacts`); each rule returns the round's
changed columns and the counts to add (negative deltas take a count back), or None when nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from oversight_svc.domain.metrics import Count


class RoundFacts(Protocol):
    """A ticket round as oversight knows it (the clock from sla, the unit's actions from triage)."""

    unit: str | None
    accept_due: datetime | None
    resolve_due: datetime | None
    visit_due: datetime | None
    signed_at: datetime | None
    sign_unit: str | None
    sign_in_time: bool | None  # what was counted; None = not counted
    resolved_at: datetime | None
    resolve_unit: str | None
    resolve_in_time: bool | None
    extended: bool | None


@dataclass(frozen=True)
class RoundChange:
    """The round's columns to set and the counts to add."""

    values: dict[str, Any]
    counts: list[Count] = field(default_factory=list)


def day_of(at: datetime, tz: ZoneInfo) -> date:
    """The local calendar day of a timestamp (the day a fact is counted on)."""
    return at.astimezone(tz).date()


def answer_unit(*, route: str, answer_unit: str | None, reclassified: bool) -> str | None:
    """The unit a matter is given to for a direct answer (the hotline centre, level 3), counted like a dispatch;
    None for anything else. A reclassification is not a new matter to answer."""
    return answer_unit if route == "answer" and answer_unit and not reclassified else None


def accept_due(accept: datetime | None, resolve: datetime | None) -> datetime | None:
    """When a round must be accepted to count in time: the acceptance window, but never after the round's own
    deadline (a level-3 matter answered within one working day is late on day two)."""
    if accept is None or resolve is None:
        return accept
    return min(accept, resolve)


def dispatched(lead: str, co_units: list[str], day: date) -> list[Count]:
    """A dispatch: received by the lead unit and each co-unit, dispatched to the lead unit."""
    return [(lead, day, {"received": 1, "dispatched": 1}), *((co, day, {"received": 1}) for co in co_units)]


# triage's TicketSigned via="transfer": the 信访 / 政法 organ acknowledged a transfer. That is no unit's response to
# a dispatch (nothing was dispatched to it), so it does not count in the three rates; sla keeps its clock.
TRANSFER_RECEIPT = "transfer"


def signed(r: RoundFacts, *, unit: str, at: datetime, deemed: bool, via: str | None,
           tz: ZoneInfo) -> RoundChange | None:
    """A sign (by the unit, or deemed): once per round; in time when the unit itself signed by the deadline.

    triage's deemed sign and sla's DeemedSigned are the same fact: the first counts. A deemed sign is never in
    time, except one that follows a rejected return request (via="return_rejected"): the unit answered within
    its window by asking to return, the ruling then made it sign; it is in time when the ruling came by the
    acceptance deadline, late after it. Without a known deadline the count is provisional (`clock_known`
    takes it back when late). It stays a deemed sign either way.
    """
    if r.signed_at is not None or via == TRANSFER_RECEIPT:
        return None
    by_ruling = via == "return_rejected"
    in_time = (not deemed or by_ruling) and (r.accept_due is None or at <= r.accept_due)
    return RoundChange({"signed_at": at, "sign_unit": unit, "sign_in_time": in_time}, [
        (unit, day_of(at, tz), {"signed": 1, "deemed_signed": int(deemed), "signed_in_time": int(in_time)})])


def clock_known(r: RoundFacts, *, accept_due: datetime | None, resolve_due: datetime | None,
                tz: ZoneInfo) -> RoundChange | None:
    """sla's deadlines arrived: take back in-time counts made provisionally that were in fact late."""
    fix: dict[str, Any] = {}
    counts: list[Count] = []
    if r.sign_in_time and accept_due is not None and r.signed_at is not None and r.signed_at > accept_due:
        fix["sign_in_time"] = False
        counts.append((r.sign_unit or "", day_of(r.signed_at, tz), {"signed_in_time": -1}))
    if r.resolve_in_time and resolve_due is not None and r.resolved_at is not None \
            and r.resolved_at > resolve_due and not r.extended:
        fix["resolve_in_time"] = False
        counts.append((r.resolve_unit or "", day_of(r.resolved_at, tz), {"resolved_in_time": -1}))
    return RoundChange(fix, counts) if fix else None


def resolved(r: RoundFacts, *, unit: str, at: datetime, outcome: str, visit_due_hours: float,
             tz: ZoneInfo) -> RoundChange | None:
    """The unit's result, once per round: in time by the (known) deadline; the return visit becomes due (sla's
    due time when it came first, else after `visit_due_hours`)."""
    if r.resolved_at is not None:
        return None
    in_time = r.resolve_due is None or at <= r.resolve_due
    visit_due = r.visit_due or at + timedelta(hours=visit_due_hours)
    return RoundChange(
        {"resolved_at": at, "resolve_unit": unit, "outcome": outcome, "resolve_in_time": in_time,
         "visit_due": visit_due},
        [(unit, day_of(at, tz), {"resolved": 1, "self_resolved": int(outcome == "resolved"),
                                 "resolved_in_time": int(in_time)})])


def deadline_moved(r: RoundFacts, *, new_due: datetime | None, extension: bool, unit: str | None,
                   decided_at: datetime, tz: ZoneInfo) -> RoundChange:
    """The resolution deadline moved (an approved extension counts once per round; a resume or a calendar
    loaded does not): a result that arrived before the move is judged again."""
    new_due = new_due or r.resolve_due
    unit = unit or r.unit
    vals: dict[str, Any] = {"resolve_due": new_due, "extended": bool(r.extended) or extension}
    counts: list[Count] = []
    if extension and not r.extended and unit:
        counts.append((unit, day_of(decided_at, tz), {"extended": 1}))
    if r.resolved_at is not None and new_due is not None and r.resolve_unit:
        now_in_time = r.resolved_at <= new_due
        if bool(r.resolve_in_time) != now_in_time:
            vals["resolve_in_time"] = now_in_time
            counts.append((r.resolve_unit, day_of(r.resolved_at, tz), {"resolved_in_time": 1 if now_in_time else -1}))
    return RoundChange(vals, counts)


def alarmed(overdue: bool | None, *, unit: str, at: datetime, tz: ZoneInfo) -> RoundChange | None:
    """The alarm step of the alert ladder means overdue: counted once per round."""
    if overdue:
        return None
    return RoundChange({"overdue": True}, [(unit, day_of(at, tz), {"overdue": 1})])


def visit_due_at(due: datetime | None, due_date: date | None, tz: ZoneInfo) -> datetime | None:
    """sla's due time of the return visit: its time, else the end of its local due day."""
    if due is None and due_date is not None:
        return datetime.combine(due_date, time(23, 59, 59), tzinfo=tz)
    return due
