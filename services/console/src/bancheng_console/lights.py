"""The lights and alert levels as text and shape, never colour alone, and the order of urgency (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bancheng_console.timefmt import parse

# shape per light: a triangle, a diamond and a circle read apart without colour (and in print)
SHAPES = {"red": "▲", "yellow": "◆", "green": "●"}
TIER_RANK = {"red": 0, "yellow": 1, "green": 2}
ALERT_RANK = {"alarm": 0, "urgent": 1, "warning": 2, "reported": 3}
OPEN_STATES = frozenset({"triaged", "awaiting_answer", "transferred", "transfer_received", "dispatched",
                         "return_requested", "signed", "in_progress"})


@dataclass(frozen=True)
class InboxRow:
    """A work order in the inbox with its clock's current round (when the clock is known yet)."""

    order: dict[str, Any]
    clock: dict[str, Any] | None

    @property
    def due(self) -> datetime | None:
        """The resolution deadline of the current round."""
        return parse(self.clock.get("resolve_due")) if self.clock else None

    def urgency(self, now: datetime) -> tuple[int, float, int, str]:
        """Sort key: overdue first, then the nearest deadline, then red before yellow before green."""
        due = self.due
        overdue = 0 if due is not None and due < now else 1
        seconds = (due - now).total_seconds() if due is not None else float("inf")
        return overdue, seconds, TIER_RANK.get(str(self.order.get("tier")), 3), str(self.order.get("ticket_no"))


def inbox(orders: list[dict[str, Any]], clocks: list[dict[str, Any]], now: datetime) -> list[InboxRow]:
    """Open work orders joined to their clock's latest round, most urgent first."""
    latest: dict[str, dict[str, Any]] = {}
    for c in clocks:
        seen = latest.get(c["ticket_no"])
        if seen is None or int(c.get("round", 0)) >= int(seen.get("round", 0)):
            latest[c["ticket_no"]] = c
    rows = [InboxRow(o, latest.get(o["ticket_no"])) for o in orders if o.get("state") in OPEN_STATES]
    return sorted(rows, key=lambda r: r.urgency(now))
