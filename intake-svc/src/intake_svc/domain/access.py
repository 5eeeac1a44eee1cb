"""Which tickets a caller may see and touch: a unit only the tickets now at its unit (and must not learn that
others exist), a person only their own ticket with its proof, a closed ticket takes no follow-ups."""

from __future__ import annotations

from collections.abc import Collection

from bancheng_shared.errors import Problem
from bancheng_shared.principal import Principal, Role
from intake_svc.domain.merging import MERGED


def unknown_ticket(ticket_no: str) -> Problem:
    """404 for a number that does not exist or that the caller may not see: the same answer for both."""
    return Problem(404, f"no ticket numbered {ticket_no!r}", type_="unknown-ticket")


def check_visible(who: Principal, ticket_no: str, unit: str | None) -> None:
    """A unit key sees only tickets now at its unit; other staff see every ticket."""
    if not who.can_see_unit(unit):
        raise unknown_ticket(ticket_no)


def unit_filter(who: Principal, unit: str | None) -> str | None:
    """The unit a list is limited to: a unit key lists only its own unit (403 when it asks for another)."""
    if who.role != Role.unit:
        return unit
    if unit and unit != who.unit_code:
        raise Problem(403, "a unit key lists only its own unit's tickets", type_="forbidden")
    return who.unit_code


def needs_proof(who: Principal) -> bool:
    """Front ends add to a ticket for the person, who proves it is theirs; operators (and admins) need no proof."""
    return who.role not in (Role.operator, Role.admin)


def no_proof_match() -> Problem:
    """404 when a front end's proof does not open the ticket."""
    return Problem(404, "no ticket matches this number and proof (phone_last4 or token)", type_="unknown-ticket")


def check_takes_follow_ups(ticket_no: str, status: str, status_label: str, closed: Collection[str]) -> None:
    """A closed (answered, transferred) ticket takes no follow-ups, nor one merged into another: the person files a
    new request (409)."""
    if status in closed or status == MERGED:
        raise Problem(409, f"ticket {ticket_no} is {status_label}; file a new request instead", type_="ticket-closed")
