"""Process improvement (改进建议, Linfen's 总结提升; Wuhan's directors at the window): a ticket, a window visit or a
case shows that a step (环节) or a certificate (证明材料) can go; the suggestion goes to the department, which answers
within a set number of working days on the calendar in force: adopted, with the change made, or not adopted, with
the reason.

The state machine is `TRANSITIONS` (raised → adopted / not_adopted, one answer). Overdue is not a state: it is
derived from the due date and now (`is_overdue`), so every replica and every read agrees without a job, and an
answer after the due date is kept as `late`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from bancheng_shared.calendar import UnknownYearError
from bancheng_shared.contracts.oversight import SuggestionAnswered, SuggestionRaised
from bancheng_shared.errors import Problem
from bancheng_shared.principal import Principal, Role
from oversight_svc.domain.calendar import CalendarInForce
from oversight_svc.domain.ids import new_id

SOURCES = ("ticket", "window_visit", "case")
TARGETS = ("step", "certificate", "other")
DECISIONS = ("adopted", "not_adopted")
RAISED, ADOPTED, NOT_ADOPTED = "raised", "adopted", "not_adopted"
STATES = (RAISED, ADOPTED, NOT_ADOPTED)
OVERDUE = "overdue"  # a status to filter by, derived: raised and past its due time
STATUSES = (*STATES, OVERDUE)

# state -> action -> next state; the answer's decision names the state it leads to
TRANSITIONS: dict[str, dict[str, tuple[str, ...]]] = {
    RAISED: {"answer": DECISIONS},
    ADOPTED: {},
    NOT_ADOPTED: {},
}


def allowed_actions(state: str) -> list[str]:
    """The actions a suggestion in this state allows."""
    return sorted(TRANSITIONS.get(state, {}))


def next_state(state: str, action: str, decision: str) -> str:
    """The state after an action (409 naming the state and the allowed actions when the state refuses it)."""
    allowed = TRANSITIONS.get(state, {})
    if action not in allowed:
        acts = allowed_actions(state)
        raise Problem(409, f"suggestion is {state!r}: {action!r} is not allowed; allowed: {', '.join(acts) or 'none'}",
                      type_="invalid-transition", state=state, allowed_actions=acts)
    if decision not in allowed[action]:
        raise Problem(422, f"decision: one of {', '.join(allowed[action])}", type_="validation")
    return decision


def due_at(raised: datetime, *, working_days: int, calendar: CalendarInForce, tz: ZoneInfo) -> datetime:
    """End of the Nth statutory working day after the local day it is raised (not counted), on the calendar in
    force; 422 `unknown-calendar-year` when the count needs a year not loaded, never a guess."""
    day = raised.astimezone(tz).date()
    try:
        due = calendar.add_working_days(day, working_days)
    except (UnknownYearError, ValueError) as exc:
        raise Problem(422, f"due_at: the answer is due {working_days} working days after {day}, and the calendar "
                           f"cannot count them ({exc}); load the year in sla (PUT /v1/calendars/{{year}})",
                      type_="unknown-calendar-year") from exc
    return datetime.combine(due, time(23, 59, 59), tzinfo=tz).astimezone(UTC)


def is_overdue(status: str, due: datetime, now: datetime) -> bool:
    """Raised, unanswered and past its due time."""
    return status == RAISED and now > due


@dataclass(frozen=True)
class NewSuggestion:
    """A suggestion to store and SuggestionRaised to publish (keyed by the suggestion id)."""

    row: dict[str, Any]
    event: SuggestionRaised

    @property
    def suggestion_id(self) -> str:
        """Its id."""
        return str(self.row["suggestion_id"])


def check_source(source: str, ref: str, *, known: bool) -> None:
    """A ticket or a case must be one oversight knows (422 naming the field); a window visit is its reference."""
    if not ref.strip():
        raise Problem(422, "source_ref: the ticket number, the window visit's reference or the case id is required",
                      type_="validation")
    if source == "ticket" and not known:
        raise Problem(422, f"source_ref: ticket {ref!r} is unknown to oversight (no event of it seen yet)",
                      type_="unknown-ticket")
    if source == "case" and not known:
        raise Problem(422, f"source_ref: case {ref!r} is unknown", type_="unknown-case")


def raise_suggestion(*, source: str, source_ref: str, source_known: bool, target: str, item: str, evidence: str,
                     department: str, department_known: bool, who: Principal, now: datetime, working_days: int,
                     calendar: CalendarInForce, tz: ZoneInfo) -> NewSuggestion:
    """A suggestion to a department oversight knows, from a known ticket or case or a window visit, due in N
    working days."""
    check_source(source, source_ref, known=source_known)
    if not department_known:
        raise Problem(422, f"department: unit {department!r} is unknown to oversight (it learns units from dispatches "
                           "and the directory's events)", type_="validation")
    if not evidence.strip():
        raise Problem(422, "evidence: the evidence is required (what was seen, where)", type_="validation")
    if not item.strip():
        raise Problem(422, "item: name the step or the certificate that can go", type_="validation")
    due = due_at(now, working_days=working_days, calendar=calendar, tz=tz)
    sid = new_id("SUG")
    row = {"suggestion_id": sid, "source": source, "source_ref": source_ref, "target": target, "item": item,
           "evidence": evidence, "department": department, "status": RAISED, "raised_by": who.name,
           "raised_role": who.role.value, "raised_at": now, "due_at": due, "late": False}
    event = SuggestionRaised(suggestion_id=sid, source=source, source_ref=source_ref, target=target, item=item,
                             department=department, raised_at=now, due_at=due)
    return NewSuggestion(row, event)


class SuggestionFacts(Protocol):
    """A suggestion as stored."""

    suggestion_id: str
    department: str
    status: str
    due_at: datetime


def check_scope(who: Principal, department: str, suggestion_id: str) -> None:
    """A unit key sees and answers only the suggestions addressed to its unit (404: it must not learn of others)."""
    if who.role == Role.unit and who.unit_code != department:
        raise Problem(404, f"suggestion {suggestion_id!r} is unknown", type_="unknown-suggestion")


@dataclass(frozen=True)
class Answer:
    """The columns an answer sets and SuggestionAnswered."""

    values: dict[str, Any]
    event: SuggestionAnswered


def answer(s: SuggestionFacts, *, who: Principal, decision: str, change: str | None, effective_date: date | None,
           reason: str | None, now: datetime) -> Answer:
    """The addressed department answers once: adopted with the change made (and when it takes effect), or not
    adopted with the reason; an answer after the due time is late."""
    check_scope(who, s.department, s.suggestion_id)
    if who.role not in (Role.unit, Role.admin):
        raise Problem(403, "only the addressed department answers, with its own unit key", type_="forbidden")
    state = next_state(s.status, "answer", decision)
    if state == ADOPTED:
        if not (change or "").strip():
            raise Problem(422, "change: an adopted suggestion names the change made", type_="validation")
        if reason:
            raise Problem(422, "reason: only a suggestion not adopted gives a reason", type_="validation")
    else:
        if not (reason or "").strip():
            raise Problem(422, "reason: a suggestion not adopted gives the reason", type_="validation")
        if change or effective_date:
            raise Problem(422, f"{'change' if change else 'effective_date'}: only an adopted suggestion has one",
                          type_="validation")
    late = now > s.due_at
    values = {"status": state, "answered_at": now, "answered_by": who.name, "change": change,
              "effective_date": effective_date, "reason": reason, "late": late}
    event = SuggestionAnswered(suggestion_id=s.suggestion_id, department=s.department, decision=state,
                               answered_at=now, late=late, effective_date=effective_date)
    return Answer(values, event)


# ---- statistics ----

FIGURES = ("raised", "open", "overdue", "answered", "answered_late", "adopted", "not_adopted")


def tally(groups: list[tuple[str, str, bool, bool, int]]) -> list[dict[str, Any]]:
    """Per department, from (department, status, past_due, late, n) groups of the suggestions raised in a period:
    raised, open (unanswered), overdue (unanswered past due), answered, answered late, adopted, not adopted and
    the adoption rate (adopted / answered; None with none answered)."""
    by: dict[str, dict[str, Any]] = {}
    for dept, status, past_due, late, n in groups:
        row = by.setdefault(dept, {"department": dept, **dict.fromkeys(FIGURES, 0)})
        row["raised"] += n
        if status == RAISED:
            row["open"] += n
            row["overdue"] += n if past_due else 0
        else:
            row["answered"] += n
            row["answered_late"] += n if late else 0
            row[status] += n
    out = []
    for dept in sorted(by):
        row = by[dept]
        row["adoption_rate"] = row["adopted"] / row["answered"] if row["answered"] else None
        out.append(row)
    return out


def totals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The figures of all the departments."""
    t: dict[str, Any] = {f: sum(r[f] for r in rows) for f in FIGURES}
    t["adoption_rate"] = t["adopted"] / t["answered"] if t["answered"] else None
    return t
