"""The change from the previous period (环比): a report compares each figure with the period of the same kind just
before it (a month with the month before, a week with the week before, a quarter, a year).

- a count changes by the difference of the counts: +12, −3
- a rate changes by the difference of the rates in percentage points (个百分点): 93.0% then 90.7% → +2.3
- a rate with nothing counted in either period has no change (None, shown as —)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Any

from oversight_svc.domain.periods import period_bounds

RATES = ("response_rate", "resolution_rate", "satisfaction_rate")
COUNTS = ("tickets_received", "dispatched", "signed_in_time", "returned", "resolved", "resolved_in_time", "overdue",
          "extended", "urged", "supervised", "visited", "redone", "accountability")


def previous_period(period: str, first: date, *, min_year: int) -> tuple[date, date] | None:
    """The period of the same kind just before the one starting on `first`; None before the years kept."""
    if first <= date(min_year, 1, 1):
        return None
    return period_bounds(period, first - timedelta(days=1))


def count_change(now: int | None, before: int | None) -> int:
    """How much a count went up (down when negative); a count not there is 0."""
    return (now or 0) - (before or 0)


def rate_change(now: float | None, before: float | None) -> float | None:
    """How much a rate went up, in percentage points to one decimal; None when either period counted nothing."""
    if now is None or before is None:
        return None
    return round((now - before) * 100, 1) + 0.0  # + 0.0: −0.0 reads as 0


def changes(now: Mapping[str, Any], before: Mapping[str, Any] | None, *, counts: Iterable[str] = COUNTS,
            rates: Iterable[str] = RATES) -> dict[str, int | float | None]:
    """Each count's and each rate's change from `before` (a region or unit not there before counted nothing)."""
    prev = before or {}
    out: dict[str, int | float | None] = {k: count_change(now.get(k), prev.get(k)) for k in counts if k in now}
    out.update({k: rate_change(now.get(k), prev.get(k)) for k in rates})
    return out


def format_change(value: float | None, *, rate: bool, points_word: bool = True) -> str:
    """A change as people read it: '+2.3 个百分点', '-1.0 个百分点', '+12', '-3', '持平' (no change), '—' (none);
    without `points_word` a rate's change is '+2.3' (a table whose header says 百分点)."""
    if value is None:
        return "—"
    if value == 0:
        return "持平"
    if rate:
        return f"{value:+.1f} 个百分点" if points_word else f"{value:+.1f}"
    return f"{int(value):+d}"
