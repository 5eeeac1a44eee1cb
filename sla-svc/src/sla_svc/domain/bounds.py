"""What sla accepts as a year or an instant: the years a calendar may hold (1949..2200), so no date arithmetic of a
clock, a deadline or a simulated time ever leaves what a `datetime` can hold (year 1 and 9999 overflow in UTC and in
Asia/Shanghai)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bancheng_shared.errors import Problem

FIRST_YEAR, LAST_YEAR = 1949, 2200


def check_year(year: int, field: str = "year") -> None:
    """A calendar year sla may store: 1949..2200 (422 naming the field otherwise)."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise Problem(422, f"{field}: year {year} is out of range ({FIRST_YEAR}..{LAST_YEAR})",
                      type_="invalid-calendar", errors=[{"field": field, "message": "out of range"}])


def check_instant(value: datetime, tz: ZoneInfo, field: str) -> None:
    """An instant sla may count from: with an offset, and in years 1949..2200 in UTC and in the calendars' zone."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise Problem(422, f"{field} must carry a time zone offset, e.g. 2026-10-08T09:00:00+08:00",
                      type_="validation", errors=[{"field": field, "message": "naive datetime"}])
    try:
        years = (value.year, value.astimezone(UTC).year, value.astimezone(tz).year)
    except (OverflowError, ValueError):
        years = (0, 0, 0)
    if not all(FIRST_YEAR <= y <= LAST_YEAR for y in years):
        span = f"{FIRST_YEAR}..{LAST_YEAR}"
        raise Problem(422, f"{field}: {value.isoformat()} is out of range (years {span})", type_="validation",
                      errors=[{"field": field, "message": f"must lie in the years {span}"}])
