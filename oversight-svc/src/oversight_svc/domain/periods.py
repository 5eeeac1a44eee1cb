"""Periods: the rollup grains (day, month, quarter, year), how a period is covered by them, report periods."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bancheng_shared.errors import Problem


def grains_of(day: date) -> list[tuple[str, date]]:
    """The day, month, quarter and year periods a day falls in."""
    return [("d", day), ("m", day.replace(day=1)), ("q", date(day.year, (day.month - 1) // 3 * 3 + 1, 1)),
            ("y", date(day.year, 1, 1))]


def month_end(d: date) -> date:
    """The last day of d's month."""
    nxt = (d.replace(day=28) + timedelta(days=4)).replace(day=1)
    return nxt - timedelta(days=1)


def quarter_end(d: date) -> date:
    """The last day of d's quarter."""
    return month_end(date(d.year, (d.month - 1) // 3 * 3 + 3, 1))


def split_period(start: date, end: date) -> list[tuple[str, date, date]]:
    """Cover [start, end] with whole years, whole months and leftover days: (grain, first, last) ranges."""
    out: list[tuple[str, date, date]] = []
    cur = start
    while cur <= end:
        if cur.month == 1 and cur.day == 1 and date(cur.year, 12, 31) <= end:
            grain, nxt = "y", date(cur.year + 1, 1, 1)
        elif cur.day == 1 and month_end(cur) <= end:
            grain, nxt = "m", month_end(cur) + timedelta(days=1)
        else:
            grain, nxt = "d", cur + timedelta(days=1)
        if out and out[-1][0] == grain:
            out[-1] = (grain, out[-1][1], cur)
        else:
            out.append((grain, cur, cur))
        cur = nxt
    return out


_STEP: dict[str, Callable[[date], timedelta]] = {
    "d": lambda d: timedelta(days=1), "m": lambda d: month_end(d) - d + timedelta(days=1),
    "q": lambda d: quarter_end(d) - d + timedelta(days=1), "y": lambda d: date(d.year + 1, 1, 1) - d}


def cover_period(start: date, end: date) -> list[tuple[int, str, date, date]]:
    """Cover [start, end] with signed rollup ranges (sign, grain, first, last): whole years, quarters and
    months, and at each ragged edge either the leftover days or, when fewer, the whole month minus the days
    outside the period (so an edge reads at most 15 days of rows instead of 30)."""
    out: list[tuple[int, str, date, date]] = []

    def add(sign: int, grain: str, first: date, last: date) -> None:
        for i, (s, g, a, b) in enumerate(out):  # extend an adjacent range of the same sign and grain
            if (s, g) == (sign, grain) and b + _STEP[grain](b) == first:
                out[i] = (sign, grain, a, last)
                return
        out.append((sign, grain, first, last))

    cur = start
    while cur <= end:
        if cur.month == 1 and cur.day == 1 and date(cur.year, 12, 31) <= end:
            add(1, "y", cur, cur)
            cur = date(cur.year + 1, 1, 1)
        elif cur.day == 1 and cur.month % 3 == 1 and quarter_end(cur) <= end:
            add(1, "q", cur, cur)
            cur = quarter_end(cur) + timedelta(days=1)
        elif cur.day == 1 and month_end(cur) <= end:
            add(1, "m", cur, cur)
            cur = month_end(cur) + timedelta(days=1)
        else:  # a ragged piece of one month: [cur, last]
            first, last_of_month = cur.replace(day=1), month_end(cur)
            last = min(end, last_of_month)
            inside = (last - cur).days + 1
            outside = (last_of_month - first).days + 1 - inside
            if outside < inside:
                add(1, "m", first, first)
                if cur > first:
                    add(-1, "d", first, cur - timedelta(days=1))
                if last < last_of_month:
                    add(-1, "d", last + timedelta(days=1), last_of_month)
            else:
                add(1, "d", cur, last)
            cur = last + timedelta(days=1)
    return out


def check_day(name: str, d: date, *, min_year: int, max_year: int) -> None:
    """A day of a period must lie in the years statistics cover (422 naming the field), so that the period around
    it, a window before it and its local bounds in UTC are all real dates (never year 0 or 10000)."""
    if not min_year <= d.year <= max_year:
        raise Problem(422, f"{name}: {d} is out of range ({min_year}..{max_year})", type_="period-out-of-range")


def check_period(start: date, end: date, *, min_year: int, max_year: int) -> None:
    """Out-of-range or reversed periods are refused (422)."""
    if end < start:
        raise Problem(422, f"to: {end} is before from: {start}", type_="invalid-period")
    for name, d in (("from", start), ("to", end)):
        check_day(name, d, min_year=min_year, max_year=max_year)


def local_bounds(start: date, end: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end] in local days as a UTC half-open interval."""
    return (datetime.combine(start, time.min, tzinfo=tz).astimezone(UTC),
            datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz).astimezone(UTC))


def period_bounds(period: str, day: date) -> tuple[date, date]:
    """The week (Mon–Sun), month, quarter or year containing a day (the periods of reports)."""
    if period == "week":
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=6)
    if period == "month":
        start = day.replace(day=1)
    elif period == "quarter":
        start = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    else:
        return date(day.year, 1, 1), date(day.year, 12, 31)
    months = 1 if period == "month" else 3
    y, m = start.year + (start.month - 1 + months) // 12, (start.month - 1 + months) % 12 + 1
    return start, date(y, m, 1) - timedelta(days=1)
