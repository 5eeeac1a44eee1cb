"""The yearly assessment's scoring rule (domain/assessment.py), pure: hand-checked points and explanations, ties,
units with no visits, deductions floored at 0, samples below the minimum, what a scheme version may hold."""

from __future__ import annotations

from typing import Any

import pytest

from bancheng_shared.errors import Problem
from oversight_svc.domain.assessment import Scheme, assess, check, next_version
from oversight_svc.domain.metrics import METRICS

WEIGHTS = {"response_rate": 20, "resolution_rate": 30, "satisfaction_rate": 30, "on_time_rate": 20}
PER = {"supervised": 1, "accountability": 2, "overdue": 0.5}


def row(unit: str, name: str, **counts: int) -> tuple[Any, ...]:
    assert set(counts) <= set(METRICS)
    return (unit, name, unit.split("-")[0], 2, *(counts.get(m, 0) for m in METRICS))


def scheme(min_sample: int = 20, **kw: Any) -> Scheme:
    return Scheme(year=2025, version=3, weights=kw.get("weights", WEIGHTS), deductions=kw.get("deductions", PER),
                  min_sample=min_sample)


def every(out: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {u["unit"]: u for u in (*out["ranked"], *out["not_ranked"])}


MARKET = row("339901-market_regulation", "江北区市场监督管理局", dispatched=40, signed_in_time=36, resolved=38,
             resolved_in_time=34, visited=30, visit_yes=27, satisfied=25, basically_satisfied=3, supervised=2,
             overdue=4)
HOUSING = row("339901-housing", "江北区住房和城乡建设局", dispatched=60, signed_in_time=42, resolved=60,
              resolved_in_time=45, visited=50, visit_yes=30, satisfied=30, basically_satisfied=10, accountability=1)


def test_points_deductions_and_explanations_hand_checked() -> None:
    out = assess([MARKET, HOUSING], scheme())
    # city: response 78/100, resolution 57/80, satisfaction 68/80, on time 79/98
    assert out["city"] == {"response_rate": 0.78, "resolution_rate": 0.7125, "satisfaction_rate": 0.85,
                           "on_time_rate": 0.8061}
    m = every(out)["339901-market_regulation"]
    pts = {x["measure"]: x["points"] for x in m["measures"]}
    # 0.9 × 20, 0.9 × 30, 0.9333 × 30, 0.8947 × 20
    assert pts == {"response_rate": 18.0, "resolution_rate": 27.0, "satisfaction_rate": 28.0, "on_time_rate": 17.89}
    assert (m["rated_points"], m["deducted_points"], m["score"]) == (90.89, 4.0, 86.89)
    lines = {x["measure"]: x["explanation"] for x in m["measures"]}
    assert lines["satisfaction_rate"] == "满意率 93.3%（回访 30，全市 85.0%），得 28/30 分"
    assert lines["on_time_rate"] == "按时办结率 89.5%（办结 38，全市 80.6%），得 17.89/20 分"
    ded = {d["deduction"]: d["explanation"] for d in m["deductions"]}
    assert ded == {"supervised": "督办 2 件，每件扣 1 分，扣 2 分", "accountability": "问责 0 起，不扣分",
                   "overdue": "超期工单 4 件，每件扣 0.5 分，扣 2 分"}
    assert m["explanation"] == "总分 86.89 分（指标得分 90.89，扣分 4），第 1 名（共 2 个单位参加排名）"
    h = every(out)["339901-housing"]
    # 0.7 × 20 + 0.6 × 30 + 0.8 × 30 + 0.75 × 20 = 71, minus one accountability record (2)
    assert (h["score"], h["rank"]) == (69.0, 2)


def test_ties_share_a_rank_and_the_next_rank_skips() -> None:
    a = row("339902-a", "甲", dispatched=20, signed_in_time=20)
    b = row("339902-b", "乙", dispatched=20, signed_in_time=20)
    c = row("339902-c", "丙", dispatched=20, signed_in_time=10)
    out = assess([c, b, a], scheme(weights={"response_rate": 100}, deductions={}))
    assert [(u["unit"], u["rank"]) for u in out["ranked"]] == [("339902-a", 1), ("339902-b", 1), ("339902-c", 3)]
    assert out["ranked"][0]["explanation"].endswith("并列第 1 名（共 3 个单位参加排名）")
    assert out["ranked"][2]["explanation"].endswith("，第 3 名（共 3 个单位参加排名）")


def test_a_unit_without_visits_scores_the_city_value() -> None:
    quiet = row("339901-culture", "江北区文化和旅游局", dispatched=25, signed_in_time=25, resolved=0)
    out = assess([MARKET, HOUSING, quiet], scheme())
    u = every(out)["339901-culture"]
    by = {x["measure"]: x for x in u["measures"]}
    assert by["satisfaction_rate"]["value"] is None and by["satisfaction_rate"]["basis"] == "city"
    assert by["satisfaction_rate"]["points"] == 25.5  # the city's 85.0% of 30
    assert by["satisfaction_rate"]["explanation"] == "满意率 无回访样本，按全市 85.0% 计，得 25.5/30 分"
    assert by["on_time_rate"]["explanation"] == "按时办结率 无办结样本，按全市 80.6% 计，得 16.12/20 分"
    assert by["response_rate"]["points"] == 20.0 and by["response_rate"]["basis"] == "unit"


def test_a_measure_nobody_has_scores_zero_for_everyone() -> None:
    out = assess([row("339903-a", "甲", dispatched=30, signed_in_time=15)], scheme())
    by = {x["measure"]: x for x in out["ranked"][0]["measures"]}
    assert by["resolution_rate"]["basis"] == "none" and by["resolution_rate"]["points"] == 0.0
    assert by["resolution_rate"]["explanation"] == "解决率 全市均无回访样本，得 0/30 分"
    assert out["ranked"][0]["score"] == 10.0


def test_deductions_floor_the_score_at_zero() -> None:
    bad = row("339904-a", "某街道办事处", dispatched=30, signed_in_time=3, resolved=30, visited=10, visit_yes=1,
              satisfied=1, accountability=20, supervised=15, overdue=25)
    u = assess([bad], scheme())["ranked"][0]
    assert u["rated_points"] < u["deducted_points"] and u["score"] == 0.0
    assert "不足 0 分按 0 分计" in u["explanation"]


def test_a_sample_below_the_minimum_is_scored_but_not_ranked() -> None:
    small = row("339905-a", "某镇人民政府", dispatched=19, signed_in_time=19, resolved=19, resolved_in_time=19,
                visited=19, visit_yes=19, satisfied=19)
    out = assess([MARKET, small], scheme(min_sample=20))
    assert [u["unit"] for u in out["ranked"]] == ["339901-market_regulation"]
    u = out["not_ranked"][0]
    assert (u["ranked"], u["rank"], u["score"]) == (False, None, 100.0)
    assert u["explanation"] == "总分 100 分（指标得分 100，扣分 0），派单 19 件，少于最低样本 20 件，不参加排名"
    assert out["ranked"][0]["explanation"].endswith("第 1 名（共 1 个单位参加排名）")


def test_no_units_no_rows() -> None:
    out = assess([], scheme())
    assert out["ranked"] == [] and out["not_ranked"] == [] and out["city"]["response_rate"] is None


def fields(weights: Any, deductions: Any = None, min_sample: Any = 20) -> list[str]:
    with pytest.raises(Problem) as e:
        check(weights, deductions or {}, min_sample)
    assert e.value.status == 422 and e.value.type_ == "validation"
    return [x["field"] for x in e.value.extra["errors"]]


def test_scheme_checks_name_the_field() -> None:
    check(WEIGHTS, PER, 20)  # the default's numbers pass
    check({"response_rate": 33.3, "resolution_rate": 33.3, "satisfaction_rate": 33.4}, {}, 0)
    assert fields({**WEIGHTS, "on_time_rate": 10}) == ["measures"]  # 90
    assert fields({**WEIGHTS, "kindness": 0}) == ["measures.kindness"]
    assert fields({**WEIGHTS, "response_rate": -20, "resolution_rate": 70}) == ["measures.response_rate"]
    assert fields({**WEIGHTS, "response_rate": float("nan")}) == ["measures.response_rate"]
    assert fields({}) == ["measures"]
    assert fields(WEIGHTS, {"overdue": -1, "late_reply": 1}) == ["deductions.overdue", "deductions.late_reply"]
    assert fields(WEIGHTS, None, -1) == ["min_sample"]
    assert fields(WEIGHTS, None, True) == ["min_sample"]


def test_versions_count_from_one_over_the_default() -> None:
    assert next_version(None) == 1 and next_version(4) == 5


def test_the_default_scheme_is_a_data_file_checked_like_a_version(tmp_path: Any) -> None:
    from oversight_svc.adapters.assessment import default_scheme, load_default

    shipped = load_default(None)
    assert sum(shipped["measures"].values()) == 100 and shipped["min_sample"] == 20
    assert default_scheme(shipped, 2026).version == 0
    own = tmp_path / "scheme.json"
    own.write_text('{"measures": {"satisfaction_rate": 100}, "min_sample": 5, "reason": "区级试行"}', "utf-8")
    assert default_scheme(load_default(str(own)), 2026).weights == {"satisfaction_rate": 100}
    own.write_text('{"measures": {"satisfaction_rate": 90}}', "utf-8")
    with pytest.raises(Problem):  # a wrong file stops the service at start, not at the first score
        load_default(str(own))
