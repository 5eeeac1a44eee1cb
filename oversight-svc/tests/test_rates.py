"""The three rates, the closes-without-solving flag and the rankings, pure, on the hand-checked set of
test_stats.py (units A, B, C of March 2025) and on a Chongqing-sized satisfaction (about 95%)."""

from __future__ import annotations

from datetime import date
from typing import Any

from oversight_svc.domain.metrics import ROW_KEYS
from oversight_svc.domain.rates import RatePolicy, overview, rank, rates_of, unit_rows

A, B, C = "339901-market_regulation", "339902-market_regulation", "339901-urban_management"
POLICY = RatePolicy(gap_threshold=0.5, gap_min_sample=3, ranking_min_sample=2, ranking_top=10)


def unit(code: str, **counts: int) -> tuple[Any, ...]:
    """A unit's row as the rollup query returns it (ROW_KEYS order)."""
    fixed = {"unit": code, "name": f"name of {code}", "region_code": code[:6], "level": 2}
    return tuple(fixed[k] if k in fixed else counts.get(k, 0) for k in ROW_KEYS)


# A: 4 dispatched, 3 signed in time (A4 deemed); 3 visits reached the person (A4 unreachable), 2 said "yes",
# 1 satisfied + 1 basically satisfied; all 4 reported resolved by the unit
ROW_A = unit(A, dispatched=4, signed=4, signed_in_time=3, deemed_signed=1, resolved=4, self_resolved=4, visited=3,
             unreachable=1, visit_yes=2, visit_partly=1, satisfied=1, basically_satisfied=1, unsatisfied=1,
             claimed_visited=3, claimed_denied=1)
# B reports every ticket resolved; the people say none was
ROW_B = unit(B, dispatched=3, signed=3, signed_in_time=2, resolved=3, self_resolved=3, visited=3, basically_satisfied=1,
             unsatisfied=2, visit_partly=1, claimed_visited=3, claimed_denied=3, redone=1)
ROW_C = unit(C, dispatched=1, signed=1, signed_in_time=1, resolved=1, self_resolved=1, visited=1, visit_yes=1,
             satisfied=1, claimed_visited=1)


def test_three_rates_of_each_unit() -> None:
    a, b, c = unit_rows([ROW_A, ROW_B, ROW_C], POLICY)
    # response = accepted in time / dispatched; resolution = "yes" / reached visits; satisfaction = (basically)
    # satisfied / reached visits (the unreachable visit is in neither denominator)
    assert (a["response_rate"], a["resolution_rate"], a["satisfaction_rate"]) == (0.75, 0.6667, 0.6667)
    assert a["closes_without_solving"] is False  # 1 of 3 claims denied < 0.5
    assert (b["response_rate"], b["resolution_rate"], b["satisfaction_rate"]) == (0.6667, 0.0, 0.3333)
    assert (b["self_reported_resolution_rate"], b["claimed_denied_rate"], b["closes_without_solving"]) == (
        1.0, 1.0, True)
    assert (c["response_rate"], c["resolution_rate"], c["satisfaction_rate"]) == (1.0, 1.0, 1.0)


def test_nothing_counted_is_no_rate_and_too_few_claims_are_not_flagged() -> None:
    (empty,) = rates_of([unit("x")], POLICY)
    assert empty == (None, None, None, None, None, False)
    (small,) = unit_rows([unit("y", visited=2, claimed_visited=2, claimed_denied=2)], POLICY)
    assert small["claimed_denied_rate"] == 1.0 and small["closes_without_solving"] is False  # 2 < sample 3


def test_overview_totals_rankings_and_flags() -> None:
    ov = overview([ROW_A, ROW_B, ROW_C], POLICY, start=date(2025, 3, 1), end=date(2025, 3, 31), region=None,
                  received_tickets=8, red_track={})
    t = ov["totals"]
    counted = (t["dispatched"], t["signed_in_time"], t["visited"], t["visit_yes"], t["tickets_received"])
    assert counted == (8, 6, 7, 3, 8)
    assert (t["response_rate"], t["resolution_rate"], t["satisfaction_rate"]) == (0.75, round(3 / 7, 4),
                                                                                   round(4 / 7, 4))
    sat = ov["rankings"]["satisfaction_rate"]
    assert [x["unit"] for x in sat["best"]] == [A, B]  # C has 1 visit < minimum sample 2: not ranked
    assert [x["unit"] for x in sat["worst"]] == [B, A]
    assert (sat["eligible"], sat["not_ranked"], sat["min_sample"]) == (2, 1, 2)
    assert [x["unit"] for x in ov["closes_without_solving"]] == [B]
    assert [(r["region_code"], r["dispatched"], r["response_rate"]) for r in ov["by_region"]] == [
        ("339901", 5, 0.8), ("339902", 3, 0.6667)]


def test_chongqing_sized_satisfaction_and_the_minimum_sample_of_rankings() -> None:
    # Chongqing: satisfaction around 95%; a unit with 19 visits is under the default minimum sample of 20
    big = unit("500101-public_security", visited=1000, satisfied=880, basically_satisfied=70)
    small = unit("500102-public_security", visited=19, satisfied=19)
    rows = [big, small]
    (r_big, r_small) = unit_rows(rows, RatePolicy())
    assert r_big["satisfaction_rate"] == 0.95 and r_small["satisfaction_rate"] == 1.0
    ranking = rank(rows, rates_of(rows, RatePolicy()), "satisfaction_rate", "visited", min_sample=20, top=10)
    assert [x["unit"] for x in ranking["best"]] == ["500101-public_security"] and ranking["not_ranked"] == 1
