"""The calendar in force and letter due dates, pure: the seeded years overridden by the versions sla publishes
(the highest version of a year wins), N working days after sending, the unknown year refused."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from bancheng_shared.calendar import UnknownYearError, YearCalendar
from bancheng_shared.errors import Problem
from oversight_svc.domain.calendar import CalendarInForce, ReceivedYear, in_force
from oversight_svc.domain.letters import due_at

TZ = ZoneInfo("Asia/Shanghai")
# 2025 as published by the State Council: National Day 1–8 October, make-up working days 28 September, 11 October
SEED_2025 = YearCalendar(year=2025, holidays={date(2025, 10, d): "国庆节、中秋节" for d in range(1, 9)},
                         workdays={date(2025, 9, 28): "调休", date(2025, 10, 11): "调休"})
SEED_2026 = YearCalendar(year=2026, holidays={date(2026, 1, 1): "元旦"})


def received(year: int, version: int, *holidays: str) -> ReceivedYear:
    return ReceivedYear(year, version, [{"date": d, "name": "假日"} for d in holidays])


def test_received_versions_override_the_seed_and_the_highest_version_wins() -> None:
    years = in_force([SEED_2025, SEED_2026], [received(2026, 2, "2026-01-02"), received(2026, 1),
                                              received(2027, 1, "2027-01-01")])
    assert sorted(years) == [2025, 2026, 2027]
    assert years[2025] is SEED_2025
    assert list(years[2026].holidays) == [date(2026, 1, 2)]  # version 2, whatever the order received
    assert list(years[2027].holidays) == [date(2027, 1, 1)]


def test_working_days_skip_the_holidays_and_count_the_make_up_days() -> None:
    cal = CalendarInForce(in_force([SEED_2025, SEED_2026], []))
    # sent Friday 26 September 2025: Sunday 28th is a make-up working day, 1–8 October are off
    assert cal.add_working_days(date(2025, 9, 26), 5) == date(2025, 10, 10)
    assert cal.add_working_days(date(2025, 12, 29), 5) == date(2026, 1, 6)  # 1 January 2026 off
    with pytest.raises(UnknownYearError):
        cal.add_working_days(date(2026, 12, 28), 5)
    with pytest.raises(UnknownYearError):
        cal.add_working_days(date(2030, 3, 2), 1)  # a year nobody knows


def test_counting_stays_within_the_run_of_consecutive_known_years() -> None:
    cal = CalendarInForce(in_force([SEED_2025], [received(2027, 1)]))  # 2026 unknown between them
    assert cal.add_working_days(date(2027, 3, 1), 1) == date(2027, 3, 2)
    with pytest.raises(UnknownYearError):
        cal.add_working_days(date(2025, 12, 30), 5)


def test_letter_due_date_is_the_end_of_the_local_day() -> None:
    cal = CalendarInForce(in_force([SEED_2025, SEED_2026], [received(2027, 1, "2027-01-01", "2027-01-04")]))
    sent = datetime(2026, 12, 28, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai
    due = due_at(sent=sent, due_date=None, working_days=5, default_working_days=5, calendar=cal, tz=TZ)
    assert due == datetime(2027, 1, 6, 15, 59, 59, tzinfo=UTC)  # 29, 30, 31 Dec, (1, 4 Jan off) 5, 6 Jan
    given = due_at(sent=sent, due_date=date(2026, 12, 30), working_days=None, default_working_days=5,
                   calendar=cal, tz=TZ)
    assert given == datetime(2026, 12, 30, 15, 59, 59, tzinfo=UTC)


def test_a_letter_needing_an_unknown_year_or_due_before_it_is_sent_is_refused() -> None:
    cal = CalendarInForce(in_force([SEED_2025, SEED_2026], []))
    sent = datetime(2026, 12, 28, 1, 0, tzinfo=UTC)
    with pytest.raises(Problem) as e:
        due_at(sent=sent, due_date=None, working_days=None, default_working_days=5, calendar=cal, tz=TZ)
    assert (e.value.status, e.value.type_) == (422, "unknown-calendar-year")
    assert e.value.detail.startswith("working_days:") and "2027" in e.value.detail
    with pytest.raises(Problem) as e:
        due_at(sent=sent, due_date=date(2026, 12, 27), working_days=None, default_working_days=5, calendar=cal,
               tz=TZ)
    assert (e.value.status, e.value.detail.split(":")[0]) == (422, "due_date")


def test_a_letter_due_past_the_longest_wait_is_refused() -> None:
    cal = CalendarInForce(in_force([SEED_2025, SEED_2026], []))
    sent = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
    last = due_at(sent=sent, due_date=date(2026, 1, 15), working_days=None, default_working_days=5, calendar=cal,
                  tz=TZ, max_days=10)
    assert last == datetime(2026, 1, 15, 15, 59, 59, tzinfo=UTC)
    for far in (date(2026, 1, 16), date(9999, 12, 31)):  # year 9999 would never be raised (nor fit UTC west of it)
        with pytest.raises(Problem) as e:
            due_at(sent=sent, due_date=far, working_days=None, default_working_days=5, calendar=cal, tz=TZ,
                   max_days=10)
        assert (e.value.status, e.value.detail.split(":")[0]) == (422, "due_date")
