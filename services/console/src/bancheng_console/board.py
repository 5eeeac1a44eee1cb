"""The leader's board and the inspector's cases, pure: lights per region, weeks for the trends, case actions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from bancheng_console.timefmt import parse

# a copy's purpose names the tier it was issued for (triage's tier rules: red → supervision, yellow → joint
# scheduling); an open round with neither copy is green
PURPOSE_TIER = {"supervision": "red", "joint_scheduling": "yellow"}
RATES = ("response_rate", "resolution_rate", "satisfaction_rate")
# what the inspectors' forms do on a case: action → (the case API's path, the page's form)
CASE_ACTIONS = ("register", "investigate", "send_letter", "return_visit", "order_redo", "conclude", "publish")


# 问责: the measures (the API's words) and the reason categories (a code for the page → the API's word for it)
MEASURES = ("reminder_talk", "criticism", "written_review", "circulated_criticism", "admonishment", "reassignment",
            "discipline")
REASON_CATEGORIES = {"inaction": "不作为", "misconduct": "乱作为", "slow": "慢作为",
                     "lax_supervision": "不正确履行监管职责", "buck_passing": "推诿扯皮"}
REASON_CODES = {v: k for k, v in REASON_CATEGORIES.items()}


@dataclass
class Lights:
    """Open work-order rounds of a region (or the city) by light, and how many are past their deadline."""

    code: str
    red: int = 0
    yellow: int = 0
    green: int = 0
    overdue: int = 0
    tickets: set[str] = field(default_factory=set)

    @property
    def open(self) -> int:
        """Open rounds in all."""
        return self.red + self.yellow + self.green


def lights(clocks: list[dict[str, Any]], copies: list[dict[str, Any]], now: datetime,
           region_digits: int) -> tuple[Lights, list[Lights]]:
    """The city's lights and each region's (the first `region_digits` of the place's code), from sla's running
    clocks (open rounds, place, deadline) and oversight's tier copies (which tickets are red or yellow)."""
    tier: dict[str, str] = {}
    for c in copies:
        t = PURPOSE_TIER.get(str(c.get("purpose")))
        if t and (tier.get(c["ticket_no"]) != "red"):
            tier[c["ticket_no"]] = t
    city = Lights("")
    regions: dict[str, Lights] = {}
    for c in clocks:
        code = str(c.get("region_code") or "")[:region_digits] or "—"
        light = tier.get(c["ticket_no"], "green")
        due = parse(c.get("resolve_due"))
        for row in (city, regions.setdefault(code, Lights(code))):
            setattr(row, light, getattr(row, light) + 1)
            row.overdue += 1 if due is not None and due < now else 0
            row.tickets.add(c["ticket_no"])
    return city, sorted(regions.values(), key=lambda r: r.code)


def weeks(today: date, n: int) -> list[tuple[date, date]]:
    """The last `n` weeks (Monday to Sunday), oldest first; the last one is this week up to today."""
    monday = today - timedelta(days=today.weekday())
    return [(monday - timedelta(weeks=i), min(monday - timedelta(weeks=i) + timedelta(days=6), today))
            for i in range(n - 1, -1, -1)]


def percent(rate: float | None) -> str:
    """A rate as a percentage with one decimal, or a dash when nothing was counted."""
    return "—" if rate is None else f"{rate * 100:.1f}%"


def points(values: list[float | None], width: int, height: int) -> list[tuple[float, float]]:
    """SVG points for rates in [0, 1] spread over the width (weeks without a rate are skipped)."""
    step = width / max(len(values) - 1, 1)
    return [(round(i * step, 1), round(height - v * height, 1)) for i, v in enumerate(values) if v is not None]


def case_buttons(allowed: list[str]) -> list[str]:
    """The forms an inspector's page offers: exactly the case's allowed actions it can do (a reply is the unit's)."""
    return [a for a in CASE_ACTIONS if a in allowed]


def can_hold_accountable(case: dict[str, Any]) -> bool:
    """Someone can be held accountable once the case is registered and names a unit (at any later step, to the end)."""
    return case.get("state") not in (None, "opened") and bool(case.get("units"))


def reply_due(letters: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The unanswered letter due first (the one the case waits for), or None."""
    open_ = [x for x in letters if not x.get("replied_at")]
    return min(open_, key=lambda x: str(x.get("due_at")), default=None)
