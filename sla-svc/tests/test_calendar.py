"""The working-day calendar: 2025/2026 holidays and make-up days, year boundaries, unknown years,
and property-based checks against day-by-day reference implementations."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar as cc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bancheng_shared.calendar import UnknownYearError, YearCalendar, is_default_working_day, seed_years
from sla_svc import domain
from sla_svc.domain import CalendarBook, Policy

SH = ZoneInfo("Asia/Shanghai")
BOOK = CalendarBook(seed_years(range(2004, 2027)))
POLICY = Policy(tz=SH)


def D(s: str) -> date:
    return date.fromisoformat(s)


# ------------------------------------------------------------------ reference implementations

def ref_add(start: date, n: int, is_work) -> date:  # type: ignore[no-untyped-def]
    """Day by day: the Nth working day after start."""
    d, left = start, n
    while left:
        d += timedelta(days=1)
        if is_work(d):
            left -= 1
    return d


def cc_work(d: date) -> bool:
    """chinesecalendar's own answer (an independent source); years it does not know are unknown."""
    if d.year > 2026:
        raise UnknownYearError([d.year])
    return bool(cc.is_workday(d))


# ------------------------------------------------------------------ the statutory calendar

@pytest.mark.parametrize("d", ["2025-01-26", "2025-02-08", "2025-04-27", "2025-09-28", "2025-10-11",
                               "2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"])
def test_make_up_days_are_working_days(d: str) -> None:
    assert D(d).weekday() >= 5
    assert BOOK.is_working_day(D(d))


@pytest.mark.parametrize(("first", "last"), [
    ("2025-01-28", "2025-02-04"),  # Spring Festival 2025
    ("2025-10-01", "2025-10-08"),  # National Day + Mid-autumn 2025
    ("2026-02-15", "2026-02-23"),  # Spring Festival 2026
    ("2026-10-01", "2026-10-07"),  # National Day 2026
])
def test_golden_weeks_are_days_off(first: str, last: str) -> None:
    d = D(first)
    while d <= D(last):
        assert not BOOK.is_working_day(d), d
        d += timedelta(days=1)
    assert BOOK.is_working_day(D(first) - timedelta(days=1)) or D(first).weekday() >= 5
    assert BOOK.is_working_day(D(last) + timedelta(days=1))


@pytest.mark.parametrize(("start", "n", "due"), [
    ("2026-09-30", 5, "2026-10-13"),   # skips 10-01..10-07, counts make-up Saturday 10-10
    ("2026-09-18", 2, "2026-09-21"),   # counts make-up Sunday 09-20
    ("2025-09-30", 5, "2025-10-14"),   # 2025: 10-01..10-08 off, 10-11 make-up Saturday counted
    ("2025-01-24", 2, "2025-01-27"),   # 2025: 01-26 (make-up Sunday) 1, 01-27 2
    ("2025-01-24", 3, "2025-02-05"),   # then Spring Festival 01-28..02-04 is skipped
    ("2025-01-24", 6, "2025-02-08"),   # 02-08 is a make-up Saturday
    ("2026-02-13", 5, "2026-02-27"),   # 2026: 02-14 make-up, 02-15..02-23 off
    ("2026-02-13", 10, "2026-03-05"),  # complex: counts make-up Saturday 02-28
    ("2025-12-31", 1, "2026-01-04"),   # year boundary: New Year 01-01..01-03, make-up Sunday 01-04
    ("2024-12-31", 1, "2025-01-02"),   # year boundary 2025: only 01-01 off
    ("2025-12-26", 4, "2026-01-04"),   # across the boundary
    ("2026-10-01", 1, "2026-10-08"),   # dispatched on a holiday: the next working day is day 1
    ("2026-10-10", 1, "2026-10-12"),   # dispatched on a make-up Saturday: not counted
])
def test_deadlines_in_2025_and_2026(start: str, n: int, due: str) -> None:
    dl = domain.working_day_deadline(BOOK, datetime.combine(D(start), time(10), tzinfo=SH), n, SH)
    assert dl.due_date == D(due)
    assert dl.due is not None and dl.due.astimezone(SH) == datetime.combine(D(due), time(23, 59, 59, 999999), SH)
    assert dl.due_date == ref_add(D(start), n, cc_work)


def test_explanation_names_skipped_holidays_and_counted_make_up_days() -> None:
    dl = domain.working_day_deadline(BOOK, datetime(2026, 9, 30, 15, tzinfo=SH), 5, SH)
    assert dl.explanation == ("5 working days from 2026-09-30 (not counted) to 2026-10-13; skipped "
                              "2026-10-01..2026-10-07 国庆节 National Day; counted 2026-10-10 (国庆节 National Day, "
                              "调休上班)")


def test_adjacent_holidays_of_different_names_are_named_apart() -> None:
    notes = BOOK.explain(D("2023-09-27"), D("2023-10-09"))
    assert notes[:2] == ["skipped 2023-09-29 中秋节 Mid-autumn Festival",
                         "skipped 2023-09-30..2023-10-06 国庆节 National Day"]
    assert "counted 2023-10-07 (国庆节 National Day, 调休上班)" in notes


def test_local_date_decides_the_day_of_dispatch() -> None:
    # 2026-09-30 17:30 UTC is already 10-01 01:30 in Shanghai: counted from National Day, not from 09-30
    dl = domain.working_day_deadline(BOOK, datetime.fromisoformat("2026-09-30T17:30:00+00:00"), 1, SH)
    assert dl.due_date == D("2026-10-08")


def test_a_deadline_in_an_unknown_year_is_not_guessed() -> None:
    dl = domain.working_day_deadline(BOOK, datetime(2026, 12, 28, 10, tzinfo=SH), 10, SH)
    assert dl.due is None and dl.missing_years == (2027,)
    assert "does not cover 2027" in dl.explanation
    with pytest.raises(UnknownYearError):
        BOOK.is_working_day(D("2027-01-04"))


def test_memoised_deadlines_are_those_of_the_book_they_were_computed_with() -> None:
    start = datetime(2026, 12, 28, 10, tzinfo=SH)
    book = CalendarBook(seed_years([2026]))
    flagged = domain.working_day_deadline(book, start, 10, SH)
    assert domain.working_day_deadline(book, start, 10, SH) is flagged  # the same book answers from memory
    assert flagged.due is None and flagged.missing_years == (2027,)
    loaded = CalendarBook([*seed_years([2026]), YearCalendar(year=2027, holidays={}, workdays={})])
    assert domain.working_day_deadline(loaded, start, 10, SH).due_date == D("2027-01-11")  # a new book: computed


def test_a_gap_between_known_years_is_unknown_not_skipped() -> None:
    book = CalendarBook([*seed_years([2026]), YearCalendar(2028)])
    assert len(book.runs) == 2
    assert book.add_working_days(D("2028-01-03"), 1) == D("2028-01-04")
    with pytest.raises(UnknownYearError) as exc:
        book.add_working_days(D("2026-12-30"), 5)
    assert exc.value.years == [2027]


def test_urgent_starts_when_two_working_days_remain() -> None:
    c = {"started_at": datetime(2026, 9, 30, 10, tzinfo=SH), "working_days": 5}
    out = domain.compute_deadlines(BOOK, POLICY, c)
    # deadline 10-13 (Tuesday): 10-12 and 10-13 remain from the start of 10-12 (10-11 is a Sunday)
    assert out["urgent_from"] == datetime(2026, 10, 12, tzinfo=SH)
    assert out["accept_due"].astimezone(SH).date() == D("2026-10-09")


def test_pause_counts_whole_working_days_after_the_pause_day() -> None:
    # paused Friday 2026-09-25, resumed Friday 10-09: (09-25, 10-09] holds 09-28, 09-29, 09-30, 10-08, 10-09
    assert domain.paused_working_days(BOOK, POLICY, datetime(2026, 9, 25, 16, tzinfo=SH),
                                      datetime(2026, 10, 9, 9, tzinfo=SH)) == 5
    # same day: nothing added
    assert domain.paused_working_days(BOOK, POLICY, datetime(2026, 9, 25, 9, tzinfo=SH),
                                      datetime(2026, 9, 25, 17, tzinfo=SH)) == 0


# ------------------------------------------------------------------ property-based

dates = st.dates(min_value=date(2004, 1, 1), max_value=date(2026, 12, 31))


@settings(max_examples=200, deadline=None)
@given(start=dates, n=st.integers(min_value=1, max_value=25))
def test_add_working_days_matches_day_by_day_chinesecalendar(start: date, n: int) -> None:
    try:
        expected: date | None = ref_add(start, n, cc_work)
    except UnknownYearError:
        expected = None
    if expected is None:
        with pytest.raises(UnknownYearError):
            BOOK.add_working_days(start, n)
    else:
        assert BOOK.add_working_days(start, n) == expected


@settings(max_examples=150, deadline=None)
@given(a=dates, span=st.integers(min_value=0, max_value=120))
def test_working_days_between_matches_counting_day_by_day(a: date, span: int) -> None:
    b = min(a + timedelta(days=span), date(2026, 12, 31))
    expected = sum(1 for i in range(1, (b - a).days + 1) if cc_work(a + timedelta(days=i)))
    assert BOOK.working_days_between(a, b) == expected


@settings(max_examples=150, deadline=None)
@given(end=st.dates(min_value=date(2004, 3, 1), max_value=date(2026, 12, 31)), n=st.integers(1, 30))
def test_subtract_working_days_matches_day_by_day(end: date, n: int) -> None:
    d, left = end, n
    while left:
        d -= timedelta(days=1)
        if cc_work(d):
            left -= 1
    assert BOOK.subtract_working_days(end, n) == d


@settings(max_examples=150, deadline=None)
@given(start=st.datetimes(min_value=datetime(2004, 1, 2), max_value=datetime(2026, 12, 20),
                          timezones=st.just(ZoneInfo("UTC"))), n=st.sampled_from([1, 2, 5, 10]))
def test_fast_deadline_path_equals_the_explained_one(start: datetime, n: int) -> None:
    explained = domain.working_day_deadline(BOOK, start, n, SH)
    try:
        fast: datetime | None = domain.due_at(BOOK, start, n, SH)
    except UnknownYearError:
        fast = None
    assert fast == explained.due


@st.composite
def year_calendars(draw: st.DrawFn) -> YearCalendar:
    """A random year's data the way the API accepts it (holidays anywhere, make-up days on weekends)."""
    year = 2030
    days = [date(year, 1, 1) + timedelta(days=i) for i in range(365)]
    holidays = draw(st.sets(st.sampled_from(days), max_size=40))
    weekends = [d for d in days if d.weekday() >= 5 and d not in holidays]
    workdays = draw(st.sets(st.sampled_from(weekends), max_size=12))
    return YearCalendar(year, {d: "h" for d in holidays}, {d: "w" for d in workdays})


@settings(max_examples=60, deadline=None)
@given(cal=year_calendars(), start=st.dates(date(2030, 1, 1), date(2030, 12, 31)), n=st.integers(1, 15))
def test_loaded_calendars_match_a_day_by_day_reference(cal: YearCalendar, start: date, n: int) -> None:
    book = CalendarBook([cal])

    def work(d: date) -> bool:
        if d.year != 2030:
            raise UnknownYearError([d.year])
        return is_default_working_day(d, cal)

    try:
        expected: date | None = ref_add(start, n, work)
    except UnknownYearError:
        expected = None
    if expected is None:
        with pytest.raises(UnknownYearError):
            book.add_working_days(start, n)
    else:
        got = book.add_working_days(start, n)
        assert got == expected
        assert book.working_days_between(start, got) == n
        assert book.is_working_day(got)


# ------------------------------------------------------------------ validation of loaded years

def _errors(holidays: list[dict], workdays: list[dict], year: int = 2027) -> list[dict]:
    cal, errors = domain.validate_year_payload(year, holidays, workdays)
    assert (cal is None) == bool(errors)
    return errors


def test_validation_names_the_wrong_date() -> None:
    assert _errors([{"date": "2027-13-01"}], []) == [
        {"field": "holidays[0].date", "message": "'2027-13-01' is not a date (YYYY-MM-DD)"}]
    assert "not in year 2027" in _errors([{"date": "2026-10-01"}], [])[0]["message"]
    dup = _errors([{"date": "2027-02-06"}, {"date": "2027-02-06"}], [])
    assert dup[0]["field"] == "holidays[1].date" and "twice" in dup[0]["message"]
    over = _errors([{"date": "2027-02-06"}], [{"date": "2027-02-06"}])
    assert over[0]["field"] == "workdays[0].date" and "overlaps" in over[0]["message"]
    weekday = _errors([], [{"date": "2027-02-08"}])  # a Monday
    assert "weekday" in weekday[0]["message"]
    assert _errors([{"date": "2027-1-1"}], [])[0]["field"] == "holidays[0].date"
    assert _errors([{"date": "2027-01-01", "name": "元旦"}], [{"date": "2027-02-20"}]) == []
