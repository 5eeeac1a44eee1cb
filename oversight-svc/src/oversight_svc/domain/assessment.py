"""The yearly assessment (绩效考核): each unit's score over a year from weighted measures minus deductions, its rank,
and a one-line Chinese explanation of every figure; what a scheme version may hold.

- A rated measure scores value × weight points (a rate in [0, 1], the weights of the rated measures sum to 100).
  A unit with no sample for a measure (e.g. no return visit reached anyone) scores it at the city's value, so a
  missing sample neither helps nor hurts it; when the whole city has no sample the measure scores 0 for everyone.
- Deductions: points per supervision case, per accountability record, per overdue work order; the score is
  floored at 0.
- Rank: units with at least `min_sample` work orders dispatched to them in the year are ranked by score (ties
  share a rank: 1, 2, 2, 4); the others are scored but listed apart, not ranked.

The three rates come from domain.rates (one home for their formulas); the year's counters are the rollups' year
rows, in ROW_KEYS order.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bancheng_shared.errors import Problem
from oversight_svc.domain.metrics import AT
from oversight_svc.domain.rates import RATE_KEYS, RatePolicy, column_sums, rates_of

Row = tuple[Any, ...]


@dataclass(frozen=True)
class Measure:
    """A rated measure: its Chinese name, its denominator counter (the sample) and how that sample is said."""

    name: str
    sample: str
    sample_word: str


# the measures a scheme may weight; a rate's formula lives in domain.rates, except 按时办结率 (only here)
MEASURES: dict[str, Measure] = {
    "response_rate": Measure("响应率", "dispatched", "派单"),
    "resolution_rate": Measure("解决率", "visited", "回访"),
    "satisfaction_rate": Measure("满意率", "visited", "回访"),
    "on_time_rate": Measure("按时办结率", "resolved", "办结"),
}
# the deductions a scheme may set: counter -> (its Chinese name, the measure word of one count)
DEDUCTIONS: dict[str, tuple[str, str]] = {
    "supervised": ("督办", "件"),
    "accountability": ("问责", "起"),
    "overdue": ("超期工单", "件"),
}
WEIGHT_TOTAL = 100.0
DEDUCTION_MAX = 100.0  # points per count: more than the whole score makes no sense
MIN_SAMPLE_MAX = 1_000_000


@dataclass(frozen=True, kw_only=True)
class Scheme:
    """A version of a year's scheme: the measures' weights, the deductions per count, the minimum sample to rank."""

    year: int
    version: int
    weights: Mapping[str, float]
    deductions: Mapping[str, float] = field(default_factory=dict)
    min_sample: int = 0
    reason: str = ""
    created_by: str = ""
    created_role: str = ""
    created_at: datetime | None = None

    def view(self) -> dict[str, Any]:
        """The version as answered."""
        return {"year": self.year, "version": self.version,
                "measures": {k: float(v) for k, v in self.weights.items()},
                "deductions": {k: float(v) for k, v in self.deductions.items()}, "min_sample": self.min_sample,
                "reason": self.reason, "created_by": self.created_by, "created_role": self.created_role,
                "created_at": self.created_at}


def check(weights: Mapping[str, Any], deductions: Mapping[str, Any], min_sample: Any) -> None:
    """A scheme's numbers are valid, or a 422 problem naming every wrong field (`measures.<name>`, …)."""
    errors: list[dict[str, str]] = []

    def bad(name: str, message: str) -> None:
        errors.append({"field": name, "message": message})

    def number(name: str, v: Any, top: float) -> bool:
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            bad(name, "must be a finite number")
        elif v < 0:
            bad(name, "must not be negative")
        elif v > top:
            bad(name, f"must be at most {top:g}")
        else:
            return True
        return False

    if not weights:
        bad("measures", f"at least one measure, of: {', '.join(MEASURES)}")
    for k, v in weights.items():
        if k not in MEASURES:
            bad(f"measures.{k}", f"unknown measure, one of: {', '.join(MEASURES)}")
        else:
            number(f"measures.{k}", v, WEIGHT_TOTAL)
    if weights and not errors:
        total = sum(float(v) for v in weights.values())
        if abs(total - WEIGHT_TOTAL) > 1e-6:
            bad("measures", f"the weights must sum to {WEIGHT_TOTAL:g}, they sum to {total:g}")
    for k, v in deductions.items():
        if k not in DEDUCTIONS:
            bad(f"deductions.{k}", f"unknown deduction, one of: {', '.join(DEDUCTIONS)}")
        else:
            number(f"deductions.{k}", v, DEDUCTION_MAX)
    if isinstance(min_sample, bool) or not isinstance(min_sample, int) or not 0 <= min_sample <= MIN_SAMPLE_MAX:
        bad("min_sample", f"must be a whole number from 0 to {MIN_SAMPLE_MAX:,}")
    if errors:
        raise Problem(422, "; ".join(f"{e['field']}: {e['message']}" for e in errors), type_="validation",
                      errors=errors)


def next_version(latest: int | None) -> int:
    """The number of a year's next stored version (version 0 is the shipped default, never stored)."""
    return (latest or 0) + 1


def _num(x: float) -> str:
    """A number of points as people write it: 27.93, 18, 0.5."""
    return f"{x:.2f}".rstrip("0").rstrip(".")


def _pct(v: float) -> str:
    return f"{v * 100:.1f}%"


def values_of(rows: Sequence[Row]) -> list[dict[str, float | None]]:
    """Each row's measure values (None when its denominator is 0)."""
    at = {k: RATE_KEYS.index(k) for k in MEASURES if k in RATE_KEYS}
    i_in_time, i_resolved = AT["resolved_in_time"], AT["resolved"]
    out = []
    for r, x in zip(rows, rates_of(rows, RatePolicy()), strict=True):
        v: dict[str, float | None] = {k: x[i] for k, i in at.items()}
        v["on_time_rate"] = round(r[i_in_time] / r[i_resolved], 4) if r[i_resolved] else None
        out.append(v)
    return out


def _measure(key: str, weight: float, value: float | None, city: float | None, sample: int) -> dict[str, Any]:
    m = MEASURES[key]
    w = _num(weight)
    if value is not None:
        points = round(weight * value, 2)
        city_part = f"，全市 {_pct(city)}" if city is not None else ""
        line = (f"{m.name} {_pct(value)}（{m.sample_word} {sample}{city_part}），"
                f"得 {_num(points)}/{w} 分")
        basis = "unit"
    elif city is not None:
        points = round(weight * city, 2)
        line = f"{m.name} 无{m.sample_word}样本，按全市 {_pct(city)} 计，得 {_num(points)}/{w} 分"
        basis = "city"
    else:
        points = 0.0
        line = f"{m.name} 全市均无{m.sample_word}样本，得 0/{w} 分"
        basis = "none"
    return {"measure": key, "name": m.name, "value": value, "city_value": city, "sample": sample, "basis": basis,
            "weight": weight, "points": points, "explanation": line}


def _deduction(key: str, per: float, count: int) -> dict[str, Any]:
    name, word = DEDUCTIONS[key]
    points = round(per * count, 2)
    line = (f"{name} {count} {word}，每{word}扣 {_num(per)} 分，扣 {_num(points)} 分" if points
            else f"{name} {count} {word}，不扣分")
    return {"deduction": key, "name": name, "count": count, "per": per, "points": points, "explanation": line}


def assess(rows: Sequence[Row], scheme: Scheme) -> dict[str, Any]:
    """Every unit's score, rank and explanations for the year (rows: the year's counters in ROW_KEYS order)."""
    values = values_of(rows)
    # small counts recur across a city's 20,000 units: a measure's or a deduction's answer (value, sample, count)
    # is built once and shared (answers are read, never changed); 2 s → a fraction of it
    measure_memo: dict[tuple[str, float, float | None, int], dict[str, Any]] = {}
    deduction_memo: dict[tuple[str, float, int], dict[str, Any]] = {}

    def measure(k: str, w: float, v: float | None, n: int) -> dict[str, Any]:
        got = measure_memo.get((k, w, v, n))
        if got is None:
            got = measure_memo[(k, w, v, n)] = _measure(k, w, v, city[k], n)
        return got

    def deduction(k: str, per: float, n: int) -> dict[str, Any]:
        got = deduction_memo.get((k, per, n))
        if got is None:
            got = deduction_memo[(k, per, n)] = _deduction(k, per, n)
        return got

    totals = column_sums(rows)
    city_row = tuple([None] * (len(AT) - len(totals)) + [totals[k] for k in totals])
    city = values_of([city_row])[0] if rows else dict.fromkeys(MEASURES)
    weights = [(k, float(w)) for k, w in scheme.weights.items()]
    per_count = [(k, float(per)) for k, per in scheme.deductions.items()]
    sample_at = {k: AT[m.sample] for k, m in MEASURES.items()}
    units = []
    for r, v in zip(rows, values, strict=True):
        measures = [measure(k, w, v[k], r[sample_at[k]]) for k, w in weights]
        deductions = [deduction(k, per, r[AT[k]]) for k, per in per_count]
        rated = round(sum(m["points"] for m in measures), 2)
        deducted = round(sum(d["points"] for d in deductions), 2)
        score = max(0.0, round(rated - deducted, 2))
        sample = int(r[AT["dispatched"]])
        units.append({"unit": r[AT["unit"]], "name": r[AT["name"]], "region_code": r[AT["region_code"]],
                      "score": score, "rated_points": rated, "deducted_points": deducted, "sample": sample,
                      "ranked": sample >= scheme.min_sample, "rank": None,
                      "measures": measures, "deductions": deductions})
    ranked = sorted((u for u in units if u["ranked"]), key=lambda u: (-u["score"], u["unit"]))
    higher, previous = 0, None
    for i, u in enumerate(ranked):
        if u["score"] != previous:
            higher, previous = i, u["score"]
        u["rank"] = higher + 1
    shared = Counter(u["rank"] for u in ranked)
    for u in units:
        floor = "，不足 0 分按 0 分计" if u["rated_points"] - u["deducted_points"] < 0 else ""
        head = (f"总分 {_num(u['score'])} 分（指标得分 {_num(u['rated_points'])}，"
                f"扣分 {_num(u['deducted_points'])}{floor}）")
        if u["ranked"]:
            tie = "并列" if shared[u["rank"]] > 1 else ""
            tail = f"{tie}第 {u['rank']} 名（共 {len(ranked)} 个单位参加排名）"
        else:
            tail = f"派单 {u['sample']} 件，少于最低样本 {scheme.min_sample} 件，不参加排名"
        u["explanation"] = f"{head}，{tail}"
    return {"year": scheme.year, "scheme": scheme.view(),
            "city": {k: city[k] for k in scheme.weights},
            "ranked": ranked,
            "not_ranked": sorted((u for u in units if not u["ranked"]), key=lambda u: (-u["score"], u["unit"]))}
