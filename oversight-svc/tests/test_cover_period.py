"""The signed period cover used by the statistics: every day of [start, end] counted exactly once."""

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from oversight_svc.domain import periods


def _days(grain: str, first: date) -> list[date]:
    """The days one rollup row of this grain and period start covers."""
    last = {"d": first, "m": periods.month_end(first), "q": periods.quarter_end(first),
            "y": date(first.year, 12, 31)}[grain]
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _net_days(start: date, end: date) -> dict[date, int]:
    net: dict[date, int] = {}
    for sign, grain, first, last in periods.cover_period(start, end):
        p = first
        while p <= last:  # each period start in the range, then the next one of the same grain
            for d in _days(grain, p):
                net[d] = net.get(d, 0) + sign
            p = _days(grain, p)[-1] + timedelta(days=1)
    return {d: n for d, n in net.items() if n}


@settings(max_examples=300, deadline=None)
@given(st.dates(date(2023, 1, 1), date(2026, 12, 31)), st.integers(0, 800))
def test_cover_counts_each_day_once(start: date, length: int) -> None:
    end = start + timedelta(days=length)
    assert _net_days(start, end) == {start + timedelta(days=i): 1 for i in range(length + 1)}


def test_cover_uses_quarters_and_month_minus_days() -> None:
    assert periods.cover_period(date(2025, 4, 1), date(2025, 6, 30)) == [(1, "q", date(2025, 4, 1), date(2025, 4, 1))]
    # 2 March .. 30 May: March, April and May minus 1 March and 31 May (2 days instead of 30 + 30)
    assert periods.cover_period(date(2025, 3, 2), date(2025, 5, 30)) == [
        (1, "m", date(2025, 3, 1), date(2025, 5, 1)),
        (-1, "d", date(2025, 3, 1), date(2025, 3, 1)),
        (-1, "d", date(2025, 5, 31), date(2025, 5, 31)),
    ]
    # a short edge stays as days
    assert periods.cover_period(date(2025, 3, 17), date(2025, 4, 30)) == [
        (1, "d", date(2025, 3, 17), date(2025, 3, 31)), (1, "m", date(2025, 4, 1), date(2025, 4, 1))]
