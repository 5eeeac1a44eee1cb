"""A work order handed down for a hotspot (channel `hotspot`, pure): it goes to the department of the hotspot's
kind at the level asked (the city's by default), not to the local unit of a place; with no such unit, to the
catalogue's fallback kind at that level (the city government), saying so."""

from __future__ import annotations

from dataclasses import dataclass

from bancheng_shared.contracts.intake import TicketReceived
from bancheng_shared.contracts.vocab import Channel
from triage_svc.domain.directory import DirectoryIndex, UnitRef


@dataclass(frozen=True)
class HandDown:
    """The department kind and unit level a handed-down work order is for."""

    hotspot_id: str | None
    kind: str
    level: int


def of(ticket: TicketReceived) -> HandDown | None:
    """The hand-down a received ticket carries (a `hotspot` ticket naming its department kind), else None."""
    if ticket.channel != Channel.hotspot or not ticket.department_kind:
        return None
    return HandDown(ticket.hotspot_id, ticket.department_kind, ticket.unit_level or 1)


def unit_at_level(directory: DirectoryIndex, kind: str, level: int, region_code: str | None) -> UnitRef | None:
    """The unit of a kind at exactly this level: the one whose region holds the place (the nearest), else the
    only one at that level, else None (several elsewhere: none of them is the responsible one)."""
    found = [u for (k, _r), units in directory.by_kind_region.items() if k == kind for u in units if u.level == level]
    if region_code:
        holding = [u for u in found if region_code.startswith(u.region_code)]
        if holding:
            return max(holding, key=lambda u: (len(u.region_code), u.code))
    return found[0] if len(found) == 1 else None


def responsible(directory: DirectoryIndex, hd: HandDown, region_code: str | None,
                fallback_kind: str) -> tuple[UnitRef | None, list[str]]:
    """The department a hotspot's work order goes to, and why (the explanation's lines)."""
    why = f"hotspot {hd.hotspot_id or '(no id)'}: handed down to the {hd.kind} department at level {hd.level}"
    unit = unit_at_level(directory, hd.kind, hd.level, region_code)
    if unit is not None:
        return unit, [f"{why}: {unit.code} ({unit.name})"]
    fallback = unit_at_level(directory, fallback_kind, hd.level, region_code)
    if fallback is not None:
        return fallback, [f"{why}: no unit of kind {hd.kind} at level {hd.level} in the directory; "
                          f"dispatched to the fallback {fallback.code} ({fallback.name})"]
    return None, [f"{why}: no unit of kind {hd.kind} nor {fallback_kind} at level {hd.level}; "
                  "waits for the work team"]
