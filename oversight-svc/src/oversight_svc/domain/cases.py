"""Supervision cases (督办): when a ticket needs one, and the red ticket track as one state machine.

The track (DESIGN.md): register (登记备案) → investigate → supervision letter with a due date → the unit's reply
letter → return visit to the complainant → rectification insufficient: redo → result feedback sheet (闭环) →
publication; accountability where due (an unanswered letter proposes it, see letters; inspectors decide it,
see accountability). `TRANSITIONS` names every step; each step function returns what it changes: the case's
columns, the step's document, the event to publish.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from bancheng_shared.contracts.limits import TITLE_MAX
from bancheng_shared.contracts.oversight import CaseConcluded, CaseOpened, CaseStepRecorded, RedoOrdered
from bancheng_shared.errors import Problem
from bancheng_shared.principal import Principal, Role
from oversight_svc.domain.ids import new_id

STATES = ("opened", "registered", "investigating", "letter_sent", "replied", "visited", "redo", "concluded")

# state -> action -> next state (None = stays)
TRANSITIONS: dict[str, dict[str, str | None]] = {
    "opened": {"register": "registered"},
    "registered": {"investigate": "investigating", "send_letter": "letter_sent"},
    "investigating": {"investigate": None, "send_letter": "letter_sent"},
    "letter_sent": {"reply": "replied", "investigate": None},
    "replied": {"return_visit": "visited", "send_letter": "letter_sent", "order_redo": "redo"},
    "visited": {"return_visit": None, "order_redo": "redo", "conclude": "concluded"},
    "redo": {"send_letter": "letter_sent", "investigate": None},
    "concluded": {"publish": None},
}

RED_TICKET, ESCALATION, HOTSPOT, MANUAL = "red_ticket", "escalation", "hotspot", "manual"
_SOURCE_LABELS = {RED_TICKET: "红灯诉求件 red ticket", ESCALATION: "督办 escalation"}


class TransitionError(Problem):
    """An action not allowed in the case's state (409 naming the state and the allowed actions)."""

    def __init__(self, state: str, action: str) -> None:
        self.state = state
        self.action = action
        self.allowed = allowed_actions(state)
        super().__init__(409, f"case is {state!r}: {action!r} is not allowed; allowed: "
                              f"{', '.join(self.allowed) or 'none'}", type_="invalid-transition", state=state,
                         allowed_actions=self.allowed)


def allowed_actions(state: str) -> list[str]:
    """The actions a case in this state allows."""
    return sorted(TRANSITIONS.get(state, {}))


def next_state(state: str, action: str) -> str:
    """The state after an action, or TransitionError."""
    allowed = TRANSITIONS.get(state, {})
    if action not in allowed:
        raise TransitionError(state, action)
    nxt = allowed[action]
    return state if nxt is None else nxt


# ---- when a ticket needs a case ----

@dataclass(frozen=True)
class CaseCall:
    """A ticket needs a supervision case: why (source), whether it is red, the unit to name, the reason."""

    source: str
    red: bool
    unit: str | None = None
    reason: str | None = None


def red_ticket_call(*, tier: str | None = None, copy_purpose: str | None = None,
                    open_for_red: bool = True) -> CaseCall | None:
    """A red ticket opens a supervision case: triaged red, turned red, or copied red for supervision
    (Hanyang: red tickets are supervised by the business-environment office and discipline inspection)."""
    if open_for_red and (tier == "red" or copy_purpose == "supervision"):
        return CaseCall(source=RED_TICKET, red=True)
    return None


def escalation_call(*, unit: str, reason: str | None, open_for_escalation: bool = True) -> CaseCall | None:
    """Still unresolved after urging (sla's escalation): supervision (督办) with a case naming the unit."""
    return CaseCall(source=ESCALATION, red=False, unit=unit, reason=reason) if open_for_escalation else None


class OpenCase(Protocol):
    """A ticket's case that is not concluded."""

    case_id: str
    sources: list[str]
    red: bool


class TicketTitle(Protocol):
    """What oversight knows of a ticket to title a case."""

    lead_unit: str | None
    title: str | None


@dataclass(frozen=True, kw_only=True)
class NewCase:
    """A case to open: its row, tickets and units, the 'opened' document, CaseOpened."""

    case_id: str = field(default_factory=lambda: new_id("CASE"))
    title: str
    source: str
    at: datetime
    ticket_nos: list[str]
    unit_codes: list[str]
    red: bool
    summary: str | None = None
    informant: str | None = None
    inspector: str | None = None
    hotspot_id: str | None = None

    def row(self) -> dict[str, Any]:
        """The case's columns."""
        return {"case_id": self.case_id, "title": self.title, "state": "opened", "level": "normal",
                "sources": [self.source], "inspector": self.inspector, "informant": self.informant,
                "summary": self.summary, "hotspot_id": self.hotspot_id, "red": self.red, "opened_at": self.at,
                "updated_at": self.at}

    def document(self) -> dict[str, Any]:
        """The body of the 'opened' document."""
        return {"source": self.source, "title": self.title, "summary": self.summary}

    def event(self) -> CaseOpened:
        """CaseOpened."""
        return CaseOpened(case_id=self.case_id, source=self.source, units=self.unit_codes, opened_at=self.at,
                          ticket_nos=self.ticket_nos, title=self.title)

    @property
    def key(self) -> str:
        """The envelope key of the case's events: its first ticket, else the case id."""
        return self.ticket_nos[0] if self.ticket_nos else self.case_id


def new_case(*, title: str, source: str, at: datetime, ticket_nos: list[str], unit_codes: list[str], red: bool,
             summary: str | None = None, informant: str | None = None, inspector: str | None = None,
             hotspot_id: str | None = None) -> NewCase:
    """A case in state 'opened' (by hand, from a hotspot, for a ticket); its title within TITLE_MAX (a ticket's
    title of that length with the case's label before it is cut, so that CaseOpened fits what consumers store)."""
    return NewCase(title=title[:TITLE_MAX], source=source, at=at, ticket_nos=sorted(set(ticket_nos)),
                   unit_codes=sorted(set(unit_codes)), red=red, summary=summary, informant=informant,
                   inspector=inspector, hotspot_id=hotspot_id)


@dataclass(frozen=True)
class JoinCase:
    """The ticket already has an open case: add the new source (red), and the unit."""

    case_id: str
    values: dict[str, Any]
    unit: str | None


def case_for_ticket(open_case: OpenCase | None, call: CaseCall, *, ticket_no: str, ticket: TicketTitle | None,
                    at: datetime) -> NewCase | JoinCase:
    """One open case per ticket: join the open one (sources accumulate), else open one titled by the ticket."""
    if open_case is not None:
        vals: dict[str, Any] = {"updated_at": at}
        if call.source not in open_case.sources:
            vals["sources"] = [*open_case.sources, call.source]
        if call.red and not open_case.red:
            vals["red"] = True
        return JoinCase(open_case.case_id, vals, call.unit)
    units = [call.unit] if call.unit else ([ticket.lead_unit] if ticket is not None and ticket.lead_unit else [])
    label = _SOURCE_LABELS.get(call.source, call.source)
    title = f"{label} {ticket_no}" + (f": {ticket.title}" if ticket is not None and ticket.title else "")
    return new_case(title=title, source=call.source, at=at, ticket_nos=[ticket_no], unit_codes=units, red=call.red,
                    summary=call.reason)


def supervisors_added(old_kinds: list[str] | None, old_units: list[str] | None, kinds: list[str],
                      unit_codes: list[str]) -> tuple[list[str], list[str]] | None:
    """The supervising departments (and their units) with a copy's added; None when nothing is new."""
    old_k, old_u = list(old_kinds or []), list(old_units or [])
    new_k, new_u = sorted({*old_k, *kinds}), sorted({*old_u, *unit_codes})
    if new_k == sorted(old_k) and new_u == sorted(old_u):
        return None
    return new_k, new_u


# ---- the steps ----

class CaseFacts(Protocol):
    """A case as its steps read it."""

    case_id: str
    state: str
    informant: str | None
    result: str | None
    concluded_at: datetime | None


@dataclass
class Step:
    """One step of a case: the state after it, the case's columns, the document, the event (None: none)."""

    action: str
    state: str
    values: dict[str, Any]
    document: dict[str, Any]
    event: CaseStepRecorded | CaseConcluded | None


def check_scope(who: Principal, unit_codes: list[str]) -> None:
    """A unit key sees only cases naming its unit (404 rather than 403: it must not learn that others exist)."""
    if who.role == Role.unit and who.unit_code not in unit_codes:
        raise Problem(404, "case is unknown", type_="unknown-case")


# What a unit sees of a case naming it: the opening, the letters addressed to it with their replies (and the
# overdue notice), redo orders, the result feedback sheet sent to it, the publication. Not the register, the
# investigation, the inspectors' return visit or the supervision copy: those are the supervisors' own record.
UNIT_DOCUMENTS = frozenset({"opened", "send_letter", "reply", "letter_overdue", "order_redo", "conclude", "publish"})
LETTER_DOCUMENTS = frozenset({"send_letter", "reply", "letter_overdue"})


def unit_sees(kind: str, body: dict[str, Any], own_letters: set[str]) -> bool:
    """Whether a unit key sees a case document: one of UNIT_DOCUMENTS, and of a letter only its own letters'."""
    if kind not in UNIT_DOCUMENTS:
        return False
    return kind not in LETTER_DOCUMENTS or body.get("letter_id") in own_letters


def step(case: CaseFacts, action: str, document: dict[str, Any], *, now: datetime,
         values: dict[str, Any] | None = None, **event_extra: Any) -> Step:
    """A step allowed in the case's state (else TransitionError) with its document and CaseStepRecorded."""
    state = next_state(case.state, action)
    event = CaseStepRecorded(case_id=case.case_id, step=action, state=state, at=now, **event_extra)
    return Step(action, state, {"state": state, "updated_at": now, **(values or {})}, _jsonable(document), event)


def register(case: CaseFacts, *, inspector: str | None, notes: str | None, who: Principal, now: datetime) -> Step:
    """登记备案: the inspector in charge (the caller unless named)."""
    name = inspector or who.name
    return step(case, "register", {"inspector": name, "notes": notes}, now=now,
                values={"registered_at": now, "inspector": name})


def investigate(case: CaseFacts, *, notes: str, findings: str | None, now: datetime) -> Step:
    """调查核实: notes and findings."""
    return step(case, "investigate", {"notes": notes, "findings": findings}, now=now)


def return_visit(case: CaseFacts, *, resolved: str, satisfaction: str, rectification: str, method: str,
                 notes: str | None, now: datetime) -> Step:
    """The inspectors call the person back and judge whether the rectification is sufficient."""
    return step(case, "return_visit", {"resolved": resolved, "satisfaction": satisfaction,
                                       "rectification": rectification, "method": method, "notes": notes}, now=now)


def order_redo(case: CaseFacts, *, reason: str, tickets: list[tuple[str, int, str | None]],
               now: datetime) -> tuple[Step, list[tuple[str, RedoOrdered]]]:
    """Rectification insufficient: each of the case's tickets (ticket_no, round, unit) goes back to its unit."""
    st = step(case, "order_redo", {"reason": reason, "ticket_nos": [no for no, _, _ in tickets]}, now=now)
    orders = [(no, RedoOrdered(reason=reason, round=rnd, ordered_at=now, unit=unit, case_id=case.case_id))
              for no, rnd, unit in tickets]
    return st, orders


def conclude(case: CaseFacts, *, result: str, solved: bool, findings: str | None, unit_codes: list[str],
             now: datetime) -> Step:
    """The result feedback sheet (调查办理结果反馈单) to the hotline centre and the units closes the loop."""
    st = step(case, "conclude", {
        "title": "调查办理结果反馈单 result feedback sheet", "result": result, "solved": solved, "findings": findings,
        "sent_to": ["hotline_center", *unit_codes]}, now=now,
        values={"concluded_at": now, "result": result, "solved": solved})
    st.event = CaseConcluded(case_id=case.case_id, result=result, concluded_at=now, solved=solved, units=unit_codes)
    return st


def publish(case: CaseFacts, *, now: datetime) -> Step:
    """督查回声: a concluded case is published (what is shown: disclosure.disclose); no event."""
    st = step(case, "publish", {"published": True}, now=now)
    st.event = None
    return st


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_jsonable(x) for x in v]
    if isinstance(v, datetime | date):
        return v.isoformat()
    return v
