"""The working-day calendar core: arithmetic on ordinal tables, explanations, unknown years."""

from datetime import date

import pytest

from bancheng_shared.calendar import UnknownYearError, WorkingCalendar, YearCalendar, seed_years

CAL = WorkingCalendar(seed_years(range(2023, 2027)))


def test_national_day_2026_with_its_make_up_day() -> None:
    start = date(2026, 9, 30)
    assert CAL.add_working_days(start, 5) == date(2026, 10, 13)
    assert CAL.explain(start, date(2026, 10, 13)) == [
        "skipped 2026-10-01..2026-10-07 国庆节 National Day",
        "counted 2026-10-10 (国庆节 National Day, 调休上班)",
    ]


def test_adjacent_holidays_with_different_names_are_named_apart() -> None:
    notes = CAL.explain(date(2023, 9, 28), date(2023, 10, 9))
    assert notes[0].startswith("skipped 2023-09-29 中秋节")
    assert notes[1].startswith("skipped 2023-09-30..2023-10-06 国庆节")


def test_subtract_and_count_agree_with_add() -> None:
    d = date(2026, 2, 12)
    end = CAL.add_working_days(d, 7)
    assert CAL.working_days_between(d, end) == 7
    assert CAL.subtract_working_days(end, 7) == d or not CAL.is_working_day(d)


def test_a_deadline_in_an_unknown_year_is_refused_not_guessed() -> None:
    with pytest.raises(UnknownYearError) as err:
        CAL.add_working_days(date(2026, 12, 28), 10)
    assert err.value.years == [2027]
    with pytest.raises(UnknownYearError):
        CAL.is_working_day(date(2027, 1, 4))


def test_year_data_validation_names_the_date() -> None:
    bad = YearCalendar(2027, holidays={date(2027, 1, 1): "元旦"}, workdays={date(2027, 1, 1): "x",
                                                                          date(2026, 12, 27): "y"})
    errors = bad.validate()
    assert any("2027-01-01 is both" in e for e in errors)
    assert any("2026-12-27" in e for e in errors)
