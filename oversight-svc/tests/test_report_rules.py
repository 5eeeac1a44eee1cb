"""Pure rules of a readable report: the change from the previous period (环比) and what regions are called."""

from __future__ import annotations

from datetime import date

import pytest

from oversight_svc.domain.change import changes, count_change, format_change, previous_period, rate_change
from oversight_svc.domain.regions import place_of, region_names, shared_place


@pytest.mark.parametrize(("period", "first", "bounds"), [
    ("month", date(2025, 3, 1), (date(2025, 2, 1), date(2025, 2, 28))),
    ("month", date(2024, 3, 1), (date(2024, 2, 1), date(2024, 2, 29))),  # leap February
    ("month", date(2025, 1, 1), (date(2024, 12, 1), date(2024, 12, 31))),  # across the year end
    ("week", date(2025, 3, 3), (date(2025, 2, 24), date(2025, 3, 2))),
    ("quarter", date(2025, 4, 1), (date(2025, 1, 1), date(2025, 3, 31))),
    ("quarter", date(2025, 1, 1), (date(2024, 10, 1), date(2024, 12, 31))),
    ("year", date(2025, 1, 1), (date(2024, 1, 1), date(2024, 12, 31))),
])
def test_the_previous_period_is_the_one_of_the_same_kind_just_before(period: str, first: date,
                                                                     bounds: tuple[date, date]) -> None:
    assert previous_period(period, first, min_year=1990) == bounds


def test_no_previous_period_before_the_years_kept() -> None:
    assert previous_period("month", date(1990, 1, 1), min_year=1990) is None
    assert previous_period("year", date(1990, 1, 1), min_year=1990) is None
    assert previous_period("month", date(1990, 2, 1), min_year=1990) == (date(1990, 1, 1), date(1990, 1, 31))


def test_a_rate_changes_in_percentage_points_a_count_by_its_difference() -> None:
    assert rate_change(0.93, 0.907) == 2.3
    assert rate_change(0.5, 0.625) == -12.5
    assert rate_change(0.8, 0.8) == 0.0 and str(rate_change(0.8, 0.8)) == "0.0"  # never "-0.0"
    assert rate_change(None, 0.9) is None and rate_change(0.9, None) is None
    assert count_change(112, 100) == 12 and count_change(3, 5) == -2 and count_change(4, None) == 4


def test_changes_of_a_region_not_there_before() -> None:
    now = {"dispatched": 40, "overdue": 2, "response_rate": 0.95, "resolution_rate": None, "satisfaction_rate": 0.9}
    before = {"dispatched": 28, "overdue": 5, "response_rate": 0.9, "resolution_rate": 0.8, "satisfaction_rate": None}
    assert changes(now, before) == {"dispatched": 12, "overdue": -3, "response_rate": 5.0, "resolution_rate": None,
                                    "satisfaction_rate": None}
    # a region with no figures in the previous period: its counts all came this period, its rates have no change
    assert changes(now, None) == {"dispatched": 40, "overdue": 2, "response_rate": None, "resolution_rate": None,
                                  "satisfaction_rate": None}


@pytest.mark.parametrize(("value", "rate", "text"), [
    (2.3, True, "+2.3 个百分点"), (-1.0, True, "-1.0 个百分点"), (0.0, True, "持平"), (None, True, "—"),
    (12, False, "+12"), (-3, False, "-3"), (0, False, "持平"),
])
def test_a_change_as_people_read_it(value: float | None, rate: bool, text: str) -> None:
    assert format_change(value, rate=rate) == text


def test_a_region_is_called_by_its_local_governments_place() -> None:
    assert place_of("东湖区人民政府") == "东湖区"
    assert place_of("东湖区城关街道办事处") == "东湖区城关街道"
    assert place_of("东湖区城关街道一社区居委会") == "东湖区城关街道一社区"
    assert place_of("东湖区市场监督管理局") is None and place_of("人民政府") is None
    names = region_names([
        ("339901", "东湖区市场监督管理局"), ("339901", "东湖区人民政府"), ("339901", "东湖区公安分局"),
        ("339901001", "东湖区城关街道办事处"),
        ("339902", "西岭区住房和城乡建设局"), ("339902", "西岭区人力资源和社会保障局"),  # no government seen
        ("339903", "临江县供电公司"),  # one unit, no government: no name
        ("3399", "示范市人民政府"), ("3399", None), (None, "无区划单位"),
    ])
    assert names == {"339901": "东湖区", "339901001": "东湖区城关街道", "339902": "西岭区", "3399": "示范市"}


def test_what_units_share_is_cut_after_a_place_word() -> None:
    assert shared_place(["青山县教育局", "青山县卫生健康委员会"]) == "青山县"
    assert shared_place(["长江镇卫生院", "长江镇中心小学"]) == "长江镇"
    assert shared_place(["国网供电", "国网燃气"]) is None  # they share no place
    assert shared_place(["东湖区教育局", "东湖区教育局"]) is None  # one name is not a shared place
