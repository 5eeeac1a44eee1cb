"""Pure rules: periods, rates, the case state machine, PII stripping, hotspot clustering."""

from datetime import UTC, date, datetime

import pytest

from bancheng_shared.errors import Problem
from oversight_svc.domain import cases, disclosure, hotspots, periods, rates, visits
from oversight_svc.domain.metrics import ROW_KEYS
from oversight_svc.domain.periods import period_bounds


def test_split_period_uses_years_months_and_edge_days() -> None:
    parts = periods.split_period(date(2024, 12, 30), date(2026, 2, 3))
    assert parts == [
        ("d", date(2024, 12, 30), date(2024, 12, 31)),
        ("y", date(2025, 1, 1), date(2025, 1, 1)),
        ("m", date(2026, 1, 1), date(2026, 1, 1)),
        ("d", date(2026, 2, 1), date(2026, 2, 3)),
    ]
    # the covered days add up to the period exactly
    assert periods.split_period(date(2025, 2, 1), date(2025, 2, 28)) == [("m", date(2025, 2, 1), date(2025, 2, 1))]
    assert periods.split_period(date(2025, 3, 5), date(2025, 3, 5)) == [("d", date(2025, 3, 5), date(2025, 3, 5))]


def test_rates_and_gap_flag() -> None:
    row = {"dispatched": 4, "signed_in_time": 3, "visited": 4, "visit_yes": 1, "satisfied": 1,
           "basically_satisfied": 1, "resolved": 4, "self_resolved": 4, "claimed_visited": 4, "claimed_denied": 3}
    policy = rates.RatePolicy(gap_threshold=0.3, gap_min_sample=3)
    rates.with_rates(row, policy)
    assert row["response_rate"] == 0.75
    assert row["resolution_rate"] == 0.25
    assert row["satisfaction_rate"] == 0.5
    assert row["self_reported_resolution_rate"] == 1.0
    assert row["closes_without_solving"] is True
    small = rates.with_rates({**row, "claimed_visited": 2, "claimed_denied": 2}, policy)
    assert small["closes_without_solving"] is False  # too few visits to flag
    assert rates.with_rates({}, rates.RatePolicy(gap_min_sample=1))["response_rate"] is None


def _unit(unit: str, **counts: int) -> tuple[object, ...]:
    """A unit's row as the rollup query returns it (ROW_KEYS order)."""
    return tuple(unit if k == "unit" else counts.get(k, 0) for k in ROW_KEYS)


def test_ranking_needs_minimum_sample() -> None:
    # satisfaction 0.9 of 100 visits, 1.0 of 3, 0.5 of 50
    rows = [_unit("a", visited=100, satisfied=90), _unit("b", visited=3, satisfied=3),
            _unit("c", visited=50, satisfied=25)]
    r = rates.rank(rows, rates.rates_of(rows, rates.RatePolicy()), "satisfaction_rate", "visited", min_sample=20,
                   top=5)
    assert [x["unit"] for x in r["best"]] == ["a", "c"]
    assert [x["unit"] for x in r["worst"]] == ["c", "a"]
    assert r["not_ranked"] == 1


def test_state_machine_names_state_and_allowed_actions() -> None:
    assert cases.next_state("opened", "register") == "registered"
    assert cases.next_state("investigating", "investigate") == "investigating"
    with pytest.raises(cases.TransitionError) as e:
        cases.next_state("opened", "conclude")
    assert e.value.state == "opened" and e.value.allowed == ["register"]
    assert "'opened'" in str(e.value)
    # every path to concluded passes a return visit
    assert "conclude" not in cases.TRANSITIONS["replied"]


def test_visit_rules() -> None:
    assert visits.orders_redo("unsatisfied", "subjective")
    assert not visits.orders_redo("unsatisfied", "objective")
    assert visits.deltas(None, "unreachable", True, False) == {"unreachable": 1}
    d = visits.deltas("partly", "basically_satisfied", True, False)
    assert d["visited"] == 1 and d["visit_partly"] == 1 and d["claimed_denied"] == 1 and "visit_yes" not in d


def test_strip_pii() -> None:
    text = "刘洋（电话13812345678，身份证420102199001011234，邮箱liu@example.com）反映街道不作为"
    out = disclosure.strip_pii(text, ["刘洋"])
    assert "13812345678" not in out and "420102199001011234" not in out and "liu@example.com" not in out
    assert "刘洋" not in out and "刘某" in out


def test_hotspots_need_several_places_and_similar_text() -> None:
    T = hotspots.HotspotTicket
    items = [
        T("t1", "postal", "complaint", "339901001", "快递代收点按重量违规收取取件费，不交费不许取件"),
        T("t2", "postal", "complaint", "339901002", "乡镇快递代收点违规收取取件费1到10元"),
        T("t3", "postal", "complaint", "339902001", "快递代收点收取件费不交不给取件"),
        T("t4", "postal", "complaint", "339902001", "邮政网点营业时间太短"),
        T("t5", "water", "complaint", "339903001", "快递代收点违规收取取件费"),
    ]
    hs = hotspots.find_hotspots(items, min_places=3, threshold=0.35, place_digits=9)
    assert len(hs) == 1
    assert hs[0]["ticket_nos"] == ["t1", "t2", "t3"]
    assert hs[0]["places"] == ["339901001", "339901002", "339902001"]
    assert hotspots.find_hotspots(items, min_places=3, threshold=0.35, place_digits=6) == []  # only 2 districts


@pytest.mark.parametrize(("period", "day", "bounds"), [
    ("week", date(2025, 3, 5), (date(2025, 3, 3), date(2025, 3, 9))),
    ("month", date(2025, 2, 14), (date(2025, 2, 1), date(2025, 2, 28))),
    ("quarter", date(2025, 11, 2), (date(2025, 10, 1), date(2025, 12, 31))),
    ("year", date(2024, 6, 1), (date(2024, 1, 1), date(2024, 12, 31))),
])
def test_report_periods(period: str, day: date, bounds: tuple[date, date]) -> None:
    assert period_bounds(period, day) == bounds


def test_a_disclosure_names_units_and_masks_people() -> None:
    d = disclosure.disclose(case_id="CASE-1", title="刘洋反映街道证照邮寄服务缺失",
                            summary="群众刘洋（13812345678）反映；负责人张小明提醒谈话。", outcome="",
                            names=["刘洋", "张小明"], unit_names=["东湖区市场监管局"], concluded_on=None,
                            now=datetime(2025, 3, 20, tzinfo=UTC))
    assert d["title"] == "刘某反映街道证照邮寄服务缺失"
    assert d["summary"] == "群众刘某（[电话已隐去]）反映；负责人张某提醒谈话。"
    assert d["units"] == ["东湖区市场监管局"]


def test_periods_out_of_range_or_reversed_are_refused() -> None:
    periods.check_period(date(2025, 3, 1), date(2025, 3, 31), min_year=1990, max_year=2199)
    for start, end, type_ in ((date(2025, 3, 31), date(2025, 3, 1), "invalid-period"),
                              (date(1800, 1, 1), date(2025, 3, 1), "period-out-of-range")):
        with pytest.raises(Problem) as e:
            periods.check_period(start, end, min_year=1990, max_year=2199)
        assert (e.value.status, e.value.type_) == (422, type_)


def test_an_informant_given_as_free_text_is_stripped_part_by_part() -> None:
    names = disclosure.informant_names("张三 13900001111，东湖区")
    assert names[0] == "张三 13900001111，东湖区" and "张三" in names and "13900001111" not in names[1:]
    out = disclosure.strip_pii("群众张三（13900001111）反映窗口索要好处费", names)
    assert "张三" not in out and "13900001111" not in out and "张某" in out
    assert disclosure.informant_names(None) == [] and disclosure.informant_names("") == []
    d = disclosure.disclose(case_id="C", title="a@b.cn " * 80, summary="", outcome="", names=[], unit_names=[],
                            concluded_on=None, now=datetime(2025, 3, 1, tzinfo=UTC))
    assert len(d["title"]) <= 500  # a stripped e-mail's mark is longer than a short address


def test_a_day_outside_the_covered_years_is_refused_before_any_period_is_counted() -> None:
    periods.check_day("start", date(2025, 3, 1), min_year=1990, max_year=2199)
    for d in (date(1, 1, 1), date(9999, 12, 31)):
        with pytest.raises(Problem) as e:
            periods.check_day("start", d, min_year=1990, max_year=2199)
        assert (e.value.status, e.value.type_, e.value.detail.split(":")[0]) == (422, "period-out-of-range", "start")


def test_a_published_text_masks_the_people_and_addresses_it_names_itself() -> None:
    # the case knows none of these names: they are written in the text by whoever drafted the outcome
    summary = ("市民王芳反映，她住在东湖区幸福路88号阳光花园3栋2单元501室，楼下餐馆油烟扰民，身份证号"
               "420102199001011234，联系电话0710-3456789。经查，业主欧阳明华等人反映的问题属实；街道主任李建国"
               "已提醒谈话，负责人：孙丽在现场说明了情况，来电人名叫赵四。")
    out = disclosure.strip_pii(summary)
    for secret in ("王芳", "欧阳明华", "李建国", "孙丽", "赵四", "88号", "3栋", "2单元", "501室",
                   "420102199001011234", "3456789"):
        assert secret not in out, secret
    assert "市民王某反映" in out and "业主欧阳某等人" in out and "主任李某已" in out and "来电人名叫赵某" in out
    assert "幸福路××阳光花园××" in out  # the road and the estate stay: the public learns where, not which door


def test_published_text_keeps_what_is_not_personal() -> None:
    # counts, dates, lines and numbered documents are not addresses; words after 群众 are not always names
    text = "2025年3月5日，区市场监管局对5家超市开展检查，30户居民和群众反映的地铁3号线施工噪音、5号文件落实情况已整改。"
    assert disclosure.strip_pii(text) == text
    assert disclosure.mask_name("欧阳明华") == "欧阳某" and disclosure.mask_name("刘洋") == "刘某"
