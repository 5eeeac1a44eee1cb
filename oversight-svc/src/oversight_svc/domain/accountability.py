"""Accountability (问责): a measure decided for a person of a unit (提醒谈话 … 党纪政务处分), recorded by the
inspectors, or first proposed when a supervision letter went unanswered and then decided or dismissed; and the
red-track figures (Hanyang: red tickets investigated, problems solved, people held accountable)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from bancheng_shared.contracts.oversight import AccountabilityDecided
from bancheng_shared.contracts.vocab import AccountabilityMeasure
from bancheng_shared.errors import Problem
from oversight_svc.domain.ids import new_id


@dataclass(frozen=True)
class Decision:
    """A record's columns to store; the measure's count and AccountabilityDecided (None when dismissed)."""

    record_id: str
    unit: str
    values: dict[str, Any]
    event: AccountabilityDecided | None
    key: str  # the event's envelope key: the first linked ticket, else the record


def _decided(record_id: str, unit: str, measure: AccountabilityMeasure, reason_category: str, case_ids: list[str],
             ticket_nos: list[str], at: datetime) -> tuple[AccountabilityDecided, str]:
    event = AccountabilityDecided(record_id=record_id, unit=unit, measure=measure, reason_category=reason_category,
                                  case_ids=case_ids, decided_at=at)
    return event, (ticket_nos[0] if ticket_nos else "") or record_id


def check_links(case_ids: list[str], known: Iterable[str]) -> None:
    """Every linked case must exist (422 naming the field)."""
    have = set(known)
    for cid in case_ids:
        if cid not in have:
            raise Problem(422, f"case_ids: case {cid!r} is unknown", type_="unknown-case")


def record(*, unit: str, person_name: str, person_post: str, measure: AccountabilityMeasure, reason_category: str,
           reason: str | None, case_ids: list[str], ticket_nos: list[str], known_cases: Iterable[str],
           decided_by: str, decided_at: datetime) -> Decision:
    """A measure decided (by hand): the record and AccountabilityDecided; its time needs an offset and its
    linked cases must exist (422 naming the field)."""
    if decided_at.tzinfo is None:
        raise Problem(422, "decided_at: needs a time zone offset", type_="validation")
    check_links(case_ids, known_cases)
    record_id = new_id("ACC")
    event, key = _decided(record_id, unit, measure, reason_category, case_ids, ticket_nos, decided_at)
    return Decision(record_id, unit, {
        "record_id": record_id, "status": "decided", "unit": unit, "person_name": person_name,
        "person_post": person_post, "measure": measure, "reason_category": reason_category, "reason": reason,
        "case_ids": case_ids, "ticket_nos": ticket_nos, "decided_by": decided_by, "decided_at": decided_at}, event, key)


class Proposal(Protocol):
    """A stored record as a decision reads it."""

    record_id: str
    status: str
    unit: str
    reason: str | None
    case_ids: list[str]
    ticket_nos: list[str]


def decide(r: Proposal, *, dismiss: bool, person: tuple[str, str] | None, measure: AccountabilityMeasure | None,
           reason_category: str | None, reason: str | None, decided_by: str, now: datetime) -> Decision:
    """Decide a proposed record (person, measure and reason category required) or dismiss it; only once."""
    if r.status != "proposed":
        raise Problem(409, f"record {r.record_id} is {r.status!r}; only a proposed record is decided",
                      type_="invalid-transition", state=r.status, allowed_actions=[])
    if dismiss:
        return Decision(r.record_id, r.unit, {
            "status": "dismissed", "reason": (r.reason or "") + f" | dismissed: {reason or ''}",
            "decided_by": decided_by, "decided_at": now}, None, r.record_id)
    for name, value in (("person", person), ("measure", measure), ("reason_category", reason_category)):
        if not value:
            raise Problem(422, f"{name}: required to decide a measure", type_="validation")
    assert person is not None and measure is not None and reason_category is not None
    event, key = _decided(r.record_id, r.unit, measure, reason_category, r.case_ids, r.ticket_nos, now)
    return Decision(r.record_id, r.unit, {
        "status": "decided", "person_name": person[0], "person_post": person[1], "measure": measure,
        "reason_category": reason_category, "reason": reason or r.reason, "decided_by": decided_by,
        "decided_at": now}, event, key)


class Decided(Protocol):
    """A decided record as the figures count it."""

    unit: str
    person_name: str | None
    measure: str | None
    case_ids: list[str] | None


def red_track(*, investigated: int, solved: int, concluded: int, decided: Iterable[Decided],
              red_cases: Collection[str]) -> dict[str, Any]:
    """The red-track figures: red tickets investigated, problems solved, red cases concluded, people held
    accountable in red tickets' cases (a person once however many measures; a record counts when one of its cases
    is a red ticket's case, `red_cases`), measures by kind."""
    people: set[tuple[str, str | None]] = set()
    by_measure: dict[str, int] = defaultdict(int)
    for a in decided:
        if not set(a.case_ids or ()) & set(red_cases):
            continue  # accountability from a supervision case that is not a red ticket's (an escalation, say)
        people.add((a.unit, a.person_name))
        by_measure[str(a.measure)] += 1
    return {
        "red_tickets_investigated": int(investigated),
        "problems_solved": int(solved),
        "cases_concluded": int(concluded),
        "people_held_accountable": len(people),
        "accountability_measures": dict(sorted(by_measure.items())),
    }
