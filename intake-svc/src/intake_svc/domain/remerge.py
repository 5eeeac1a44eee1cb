"""并单 by hand: an operator merges a ticket into another as its repeat, takes a merged request back out as its own
ticket (撤销并单), or rejects a possible repeat. The rules of what may be done; the stores do it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bancheng_shared.errors import Problem
from intake_svc.domain.merging import MergePolicy
from intake_svc.domain.problems import field_problem
from intake_svc.domain.similarity import containment, shingles, similarity


@dataclass(frozen=True, slots=True)
class TicketState:
    """What the merge rule reads of a ticket."""

    ticket_no: str
    status: str
    status_label: str
    merged_into: str | None
    repeat_count: int


@dataclass(frozen=True, slots=True)
class RepeatState:
    """What the unmerge rule reads of a merged request."""

    ticket_no: str
    seq: int
    unmerged_into: str | None
    unmerged_at: datetime | None


def check_merge(source: TicketState, target: TicketState, policy: MergePolicy) -> None:
    """Whether `source` may be merged into `target`: two open tickets, neither merged away, `source` with no repeats
    of its own (they would have to move with it: unmerge them first)."""
    if source.ticket_no == target.ticket_no:
        raise field_problem("into", "a ticket cannot be merged into itself")
    if source.merged_into:
        raise Problem(409, f"ticket {source.ticket_no} was merged into {source.merged_into} already",
                      type_="already-merged", merged_into=source.merged_into)
    if target.merged_into:
        raise Problem(409, f"ticket {target.ticket_no} was itself merged into {target.merged_into}: merge into "
                      f"{target.merged_into} instead", type_="merge-refused", merged_into=target.merged_into)
    for t in (source, target):
        if not policy.is_open(t.status):
            raise Problem(409, f"ticket {t.ticket_no} is {t.status_label}: only open tickets are merged",
                          type_="ticket-closed", ticket_no=t.ticket_no)
    if source.repeat_count:
        raise Problem(409, f"ticket {source.ticket_no} has {source.repeat_count} repeat(s) merged into it: unmerge "
                      f"them first, or merge {target.ticket_no} into it instead", type_="merge-refused")


def same_person(phone_a: str | None, id_a: str | None, phone_b: str | None, id_b: str | None) -> bool:
    """The same phone or the same ID number (by their keyed hashes)."""
    return bool((phone_a and phone_a == phone_b) or (id_a and id_a == id_b))


def merge_score(source_text: str, target_text: str, same_person: bool) -> float:
    """How alike the two requests read, as the automatic rule would score the pair (the same person: containment)."""
    a, b = shingles(source_text), shingles(target_text)
    return round(containment(a, b) if same_person else similarity(a, b), 4)


def check_unmerge(found: RepeatState | None, ticket_no: str, seq: int) -> RepeatState:
    """The merged request to take out: it exists and was not taken out before (409 naming its ticket)."""
    if found is None:
        raise Problem(404, f"ticket {ticket_no} has no repeat number {seq}", type_="unknown-repeat")
    if found.unmerged_into:
        at = f" at {found.unmerged_at.isoformat()}" if found.unmerged_at else ""
        raise Problem(409, f"repeat {seq} of ticket {ticket_no} was unmerged already{at}: it is ticket "
                      f"{found.unmerged_into}", type_="already-unmerged", ticket_no=found.unmerged_into)
    return found


def unmerged_twice(ticket_no: str, seq: int) -> Problem:
    """A concurrent unmerge of the same request took it first."""
    return Problem(409, f"repeat {seq} of ticket {ticket_no} was unmerged already", type_="already-unmerged")


def changed_meanwhile(ticket_no: str) -> Problem:
    """The ticket was merged or closed by a concurrent request since it was read."""
    return Problem(409, f"ticket {ticket_no} changed meanwhile (merged or closed); read it again",
                   type_="merge-refused")


def check_reject(state: str | None, ticket_no: str, candidate_no: str) -> None:
    """A possible repeat is rejected once, while it is open."""
    if state is None:
        raise Problem(404, f"ticket {ticket_no} has no possible repeat {candidate_no}", type_="unknown-repeat")
    if state != "open":
        raise Problem(409, f"the possible repeat {candidate_no} of ticket {ticket_no} was {state} already",
                      type_="possible-repeat-decided", state=state)


def request_of(*, channel: str, content: str, title: str | None = None, category: str | None = None,
               name: str | None = None, phone: str | None = None, id_number: str | None = None,
               anonymous: bool = False, enterprise_name: str | None = None, credit_code: str | None = None,
               region_code: str | None = None, address: str | None = None, longitude: float | None = None,
               latitude: float | None = None, external_id: str | None = None, happened_at: datetime | None = None,
               attachments: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A registration body from what a ticket or a repeat kept of its request (None and empty parts left out)."""
    person = {k: v for k, v in (("name", name), ("phone", phone), ("id_number", id_number)) if v}
    place = {k: v for k, v in (("region_code", region_code), ("address", address), ("longitude", longitude),
                               ("latitude", latitude)) if v is not None}
    body: dict[str, Any] = {"channel": channel, "content": content, "title": title, "category": category,
                            "external_id": external_id, "happened_at": happened_at,
                            "attachments": attachments or []}
    if person:
        body["complainant"] = person
    elif anonymous:
        body["complainant"] = {"anonymous": True}
    if enterprise_name:
        body["enterprise"] = {"name": enterprise_name, "credit_code": credit_code}
    if place:
        body["location"] = place
    return {k: v for k, v in body.items() if v is not None}
