"""oversight rules (pure): which event counts toward which unit metric, and the three rates."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from bancheng_shared.contracts import EventEnvelope

# event type -> (payload field naming the unit, metric)
COUNTED: dict[str, tuple[str, str]] = {
    "TicketDispatched": ("lead_unit", "dispatched"),
    "TicketSigned": ("unit", "signed"),
    "ReturnRequested": ("unit", "returned"),
    "ResolutionSubmitted": ("unit", "resolved"),
    "UrgeIssued": ("unit", "urged"),
    "EscalatedToSupervision": ("unit", "supervised"),
}


def counted_metric(env: EventEnvelope, tz: ZoneInfo) -> tuple[str, date, str] | None:
    """(unit, local day, metric) an event adds one to, or None."""
    spec = COUNTED.get(env.type)
    if spec is None:
        return None
    unit = env.payload.get(spec[0])
    if not unit:
        return None
    at: datetime = env.occurred_at
    return unit, at.astimezone(tz).date(), spec[1]


def rate(numerator: int, denominator: int) -> float | None:
    """A rate in [0, 1], or None when nothing was counted."""
    return round(numerator / denominator, 4) if denominator else None
