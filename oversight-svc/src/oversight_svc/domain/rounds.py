"""What a ticket round counts for its unit: dispatched, signed (in time or not), resolved (in time or not),
overdue, extended, its return visits — and the corrections when a later fact changes an earlier count.

Cohorts: a round's facts count in the period it was dispatched in (`dispatch_day`), whenever they happen, so a
rate's numerator always belongs to its denominator's period. Events arrive in any order across topics: a fact
that arrives before the dispatch is stored on the round and counted when the dispatch day becomes known
(`dispatch_known`, from what is stored: once, whichever order); a count made before sla's clock was known is
provisional and the clock corrects it. A round's facts are read as they are stored (`RoundFacts`); each rule
returns the round's changed columns and the counts to add (negative deltas take a count back), or None when
nothing changes. `round_counts` is what a round contributes, from its stored facts alone (the rebuild's rule).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from oversight_svc.domain.metrics import Count
from oversight_svc.domain.visits import deltas as visit_deltas


class RoundFacts(Protocol):
    """A ticket round as oversight knows it (the clock from sla, the unit's actions from triage)."""

    unit: str | None
    dispatch_day: date | None  # the local day of its dispatch: the period its facts count in; None = not yet known
    accept_due: datetime | None
    resolve_due: datetime | None
    visit_due: datetime | None
    signed_at: datetime | None
    sign_unit: str | None
    sign_in_time: bool | None  # the sign's judgement (None = not signed)
    sign_deemed: bool | None
    resolved_at: datetime | None
    resolve_unit: str | None
    outcome: str | None
    resolve_in_time: bool | None
    overdue: bool | None
    extended: bool | None


class VisitFacts(Protocol):
    """A stored return visit of a round (reached or not)."""

    unit: str | None
    resolved: str | None
    satisfaction: str
    redo: bool


@dataclass(frozen=True)
class RoundChange:
    """The round's columns to set and the counts to add."""

    values: dict[str, Any]
    counts: list[Count] = field(default_factory=list)


def _at(r: RoundFacts, unit: str | None, deltas: dict[str, int]) -> list[Count]:
    """Counts of a round on its dispatch day; none (deferred to `dispatch_known`) while that day is unknown."""
    return [(unit, r.dispatch_day, deltas)] if r.dispatch_day is not None and unit else []


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


def signed(r: RoundFacts, *, unit: str, at: datetime, deemed: bool, via: str | None) -> RoundChange | None:
    """A sign (by the unit, or deemed): once per round, counted on the dispatch day; in time when the unit itself
    signed by the deadline.

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
    return RoundChange({"signed_at": at, "sign_unit": unit, "sign_in_time": in_time, "sign_deemed": deemed},
                       _at(r, unit, {"signed": 1, "deemed_signed": int(deemed), "signed_in_time": int(in_time)}))


def clock_known(r: RoundFacts, *, accept_due: datetime | None, resolve_due: datetime | None) -> RoundChange | None:
    """sla's deadlines arrived: judge again in-time signs and results judged provisionally that were in fact late
    (taking the count back where it was counted already)."""
    fix: dict[str, Any] = {}
    counts: list[Count] = []
    if r.sign_in_time and accept_due is not None and r.signed_at is not None and r.signed_at > accept_due:
        fix["sign_in_time"] = False
        counts += _at(r, r.sign_unit, {"signed_in_time": -1})
    if r.resolve_in_time and resolve_due is not None and r.resolved_at is not None \
            and r.resolved_at > resolve_due and not r.extended:
        fix["resolve_in_time"] = False
        counts += _at(r, r.resolve_unit, {"resolved_in_time": -1})
    return RoundChange(fix, counts) if fix else None


def resolved(r: RoundFacts, *, unit: str, at: datetime, outcome: str, visit_due_hours: float) -> RoundChange | None:
    """The unit's result, once per round, counted on the dispatch day: in time by the (known) deadline; the return
    visit becomes due (sla's due time when it came first, else after `visit_due_hours`)."""
    if r.resolved_at is not None:
        return None
    in_time = r.resolve_due is None or at <= r.resolve_due
    visit_due = r.visit_due or at + timedelta(hours=visit_due_hours)
    return RoundChange(
        {"resolved_at": at, "resolve_unit": unit, "outcome": outcome, "resolve_in_time": in_time,
         "visit_due": visit_due},
        _at(r, unit, {"resolved": 1, "self_resolved": int(outcome == "resolved"), "resolved_in_time": int(in_time)}))


def deadline_moved(r: RoundFacts, *, new_due: datetime | None, extension: bool, unit: str | None) -> RoundChange:
    """The resolution deadline moved (an approved extension counts once per round, on the dispatch day; a resume
    or a calendar loaded does not): a result that arrived before the move is judged again."""
    new_due = new_due or r.resolve_due
    unit = r.unit or unit
    vals: dict[str, Any] = {"resolve_due": new_due, "extended": bool(r.extended) or extension}
    counts: list[Count] = []
    if extension and not r.extended:
        counts += _at(r, unit, {"extended": 1})
    if r.resolved_at is not None and new_due is not None and r.resolve_unit:
        now_in_time = r.resolved_at <= new_due
        if bool(r.resolve_in_time) != now_in_time:
            vals["resolve_in_time"] = now_in_time
            counts += _at(r, r.resolve_unit, {"resolved_in_time": 1 if now_in_time else -1})
    return RoundChange(vals, counts)


def alarmed(r: RoundFacts, *, unit: str) -> RoundChange | None:
    """The alarm step of the alert ladder means overdue: counted once per round, on the dispatch day."""
    if r.overdue:
        return None
    return RoundChange({"overdue": True}, _at(r, r.unit or unit, {"overdue": 1}))


def visited(r: RoundFacts, *, unit: str | None, deltas: dict[str, int]) -> list[Count]:
    """A return visit counts for its round's cohort (deferred while the dispatch day is unknown)."""
    return _at(r, unit, deltas)


def round_counts(r: RoundFacts, visits: Sequence[VisitFacts], day: date, unit: str | None = None) -> list[Count]:
    """Everything a round's stored facts count, on `day` (its dispatch day): the sign, the result, overdue and the
    extension (for `unit`, default the round's), each return visit. What `dispatch_known` adds for facts that came
    first, and the rebuild's rule."""
    out: list[Count] = []
    unit = unit or r.unit
    if r.signed_at is not None and r.sign_unit:
        out.append((r.sign_unit, day, {"signed": 1, "deemed_signed": int(bool(r.sign_deemed)),
                                       "signed_in_time": int(bool(r.sign_in_time))}))
    if r.resolved_at is not None and r.resolve_unit:
        out.append((r.resolve_unit, day, {"resolved": 1, "self_resolved": int(r.outcome == "resolved"),
                                          "resolved_in_time": int(bool(r.resolve_in_time))}))
    if unit and (r.overdue or r.extended):
        out.append((unit, day, {"overdue": int(bool(r.overdue)), "extended": int(bool(r.extended))}))
    claimed = r.outcome == "resolved"
    out += [(v.unit, day, visit_deltas(v.resolved, v.satisfaction, claimed, v.redo)) for v in visits if v.unit]
    return out


def dispatch_known(r: RoundFacts, *, lead: str, co_units: list[str], day: date,
                   visits: Sequence[VisitFacts] = ()) -> RoundChange:
    """A dispatch: counted on its day (`dispatched`); the first one of a round fixes the round's dispatch day and
    counts there what the round's facts that arrived before it count (`visits`: its stored return visits)."""
    counts = dispatched(lead, co_units, day)
    if r.dispatch_day is not None:
        return RoundChange({"unit": lead}, counts)
    return RoundChange({"unit": lead, "dispatch_day": day}, counts + round_counts(r, visits, day, lead))


def estimated_dispatch_day(rnd: int, *, received_at: datetime | None, previous_visited_at: datetime | None,
                           own: Sequence[datetime | None], tz: ZoneInfo) -> date | None:
    """A dispatch day for a round stored before rounds knew theirs (the rebuild): round 1 on the ticket's
    reception day, a redo round on the previous round's visit, else the round's earliest own fact; None when
    nothing is known."""
    at = received_at if rnd == 1 else previous_visited_at
    if at is None:
        at = min((t for t in own if t is not None), default=None)
    return day_of(at, tz) if at is not None else None


def estimated_deemed(signed_at: datetime | None, accept_due: datetime | None, in_time: bool | None) -> bool:
    """Whether a sign stored before rounds kept it was deemed: not in time and at or after the acceptance
    deadline (sla deems it signed when the window passes; the unit can no longer sign after that)."""
    return signed_at is not None and not in_time and accept_due is not None and signed_at >= accept_due


def visit_due_at(due: datetime | None, due_date: date | None, tz: ZoneInfo) -> datetime | None:
    """sla's due time of the return visit: its time, else the end of its local due day."""
    if due is None and due_date is not None:
        return datetime.combine(due_date, time(23, 59, 59), tzinfo=tz)
    return due


def legacy_fill(rows: Sequence[RoundFacts], rnds: Sequence[int], *, received_at: datetime | None,
                visited_at: Sequence[datetime | None], tz: ZoneInfo) -> dict[int, dict[str, Any]]:
    """The columns to fill on a ticket's rounds stored before rounds kept their dispatch day and deemed sign
    (rounds given in order, with their numbers and visit times): by round number, only what is missing."""
    out: dict[int, dict[str, Any]] = {}
    previous: datetime | None = None
    for r, rnd, seen in zip(rows, rnds, visited_at, strict=True):
        fill: dict[str, Any] = {}
        if r.dispatch_day is None:
            day = estimated_dispatch_day(rnd, received_at=received_at, previous_visited_at=previous,
                                         own=(r.signed_at, r.resolved_at, seen), tz=tz)
            if day is not None:
                fill["dispatch_day"] = day
        if r.sign_deemed is None and r.signed_at is not None:
            fill["sign_deemed"] = estimated_deemed(r.signed_at, r.accept_due, r.sign_in_time)
        if fill:
            out[rnd] = fill
        previous = seen
    return out
