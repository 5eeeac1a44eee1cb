"""Return visits (回访): after the unit reports a result the person is asked back — resolved in their own words
(yes / partly / no) and satisfied or not; unsatisfied through the unit's own fault (主观原因) → redo (发回重办)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from bancheng_shared.contracts.limits import REASON_MAX
from bancheng_shared.contracts.oversight import RedoOrdered, ReturnVisitRecorded
from bancheng_shared.contracts.vocab import ResolvedAnswer, Satisfaction
from bancheng_shared.errors import Problem
from oversight_svc.domain.ids import new_id

# a visit's time may be a little ahead of the service's clock (the caller's clock)
CLOCK_SKEW = timedelta(minutes=5)


class TicketState(Protocol):
    """What oversight knows of a ticket: its current round and status."""

    round: int
    status: str


class ResultRound(Protocol):
    """A ticket's latest round with a result."""

    round: int
    unit: str | None
    resolve_unit: str | None
    outcome: str | None
    resolved_at: datetime
    visited_at: datetime | None


@dataclass(frozen=True)
class VisitOutcome:
    """A recorded visit: its row, whether the round is now visited, the counts and events, the answer."""

    visit: dict[str, Any]
    round: int
    unit: str | None
    mark_visited: bool  # an unreachable person is tried again: the round stays due
    deltas: dict[str, int]
    events: list[ReturnVisitRecorded | RedoOrdered]

    def view(self, ticket_no: str) -> dict[str, Any]:
        """The answer to the caller."""
        v = self.visit
        return {"visit_id": v["visit_id"], "ticket_no": ticket_no, "round": self.round, "unit": self.unit,
                "resolved": v["resolved"], "satisfaction": v["satisfaction"], "cause": v["cause"],
                "redo": v["redo"], "visited_at": v["visited_at"]}


def orders_redo(satisfaction: str, cause: str | None) -> bool:
    """Unsatisfied through the unit's own fault (主观原因) → redo."""
    return satisfaction == "unsatisfied" and cause == "subjective"


def deltas(resolved: str | None, satisfaction: str, claimed_resolved: bool, redo: bool) -> dict[str, int]:
    """The counters one return visit adds to its unit (claimed_resolved: the unit reported it resolved)."""
    if satisfaction == "unreachable":
        return {"unreachable": 1}
    d = {"visited": 1, satisfaction: 1, "redone": int(redo)}
    if resolved == "yes":
        d["visit_yes"] = 1
    elif resolved == "partly":
        d["visit_partly"] = 1
    if claimed_resolved:
        d["claimed_visited"] = 1
        d["claimed_denied"] = int(resolved != "yes")
    return d


def record(ticket: TicketState, r: ResultRound | None, *, ticket_no: str, resolved: ResolvedAnswer | None,
           satisfaction: Satisfaction, cause: str | None, notes: str | None, case_id: str | None,
           visited_at: datetime | None, by_name: str, by_role: str, now: datetime) -> VisitOutcome:
    """The return visit of a ticket's current round with a result (409 without one, or when already visited)."""
    if r is None or int(r.round) < int(ticket.round):
        raise Problem(409, f"ticket {ticket_no} has no result for round {ticket.round} yet (status {ticket.status}); "
                           "a return visit follows the unit's result", type_="not-resolved",
                      state=ticket.status, allowed_actions=[])
    if r.visited_at is not None:
        raise Problem(409, f"round {r.round} of {ticket_no} was already visited at {r.visited_at.isoformat()};"
                           " a new visit needs a new result (after redo)", type_="already-visited",
                      state=ticket.status, allowed_actions=[])
    if satisfaction == "unsatisfied" and cause is None:
        raise Problem(422, "cause: required when unsatisfied (subjective = the unit's fault, or objective)",
                      type_="validation")
    if satisfaction != "unreachable" and resolved is None:
        raise Problem(422, "resolved: required when the person was reached (yes, partly, no)", type_="validation")
    when = visited_at or now
    if when.tzinfo is None:
        raise Problem(422, "visited_at: needs a time zone offset", type_="validation")
    if when > now + CLOCK_SKEW or when < r.resolved_at:
        raise Problem(422, f"visited_at: must be between the result ({r.resolved_at.isoformat()}) and now",
                      type_="validation")
    answer = None if resolved is None else str(resolved)
    said = str(satisfaction)
    redo = orders_redo(said, cause)
    unit = r.resolve_unit or r.unit
    events: list[ReturnVisitRecorded | RedoOrdered] = [ReturnVisitRecorded(
        resolved=resolved, satisfaction=satisfaction, subjective_cause=cause == "subjective", redo=redo,
        round=r.round, visited_at=when, unit=unit, case_id=case_id)]
    if redo:
        # the reason goes to triage (TicketReopened, its log): within REASON_MAX with the label before the notes
        reason = f"回访不满意（主观原因）unsatisfied through the unit's fault: {notes or ''}".strip()[:REASON_MAX]
        events.append(RedoOrdered(reason=reason, round=r.round, ordered_at=when, unit=unit, case_id=case_id))
    visit = {"visit_id": new_id("RV"), "round": r.round, "unit": unit, "resolved": answer, "satisfaction": said,
             "cause": cause, "notes": notes, "redo": redo, "case_id": case_id, "by_name": by_name,
             "by_role": by_role, "visited_at": when}
    return VisitOutcome(visit=visit, round=r.round, unit=unit, mark_visited=said != "unreachable",
                        deltas=deltas(answer, said, r.outcome == "resolved", redo), events=events)
