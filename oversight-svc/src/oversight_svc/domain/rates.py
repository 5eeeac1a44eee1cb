"""The three rates (三率), the closes-without-solving flag, rankings with a minimum sample, the overview.

- response rate 响应率 = signed_in_time / dispatched
- resolution rate 解决率 = visit_yes / visited (resolved in the person's own words)
- satisfaction rate 满意率 = (satisfied + basically_satisfied) / visited

A unit's row is a tuple in ROW_KEYS order (what the rollup query returns): the statistics of 20,000 units are
computed on the tuples by position, without a dict per unit.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from oversight_svc.domain.metrics import AT, METRICS, ROW_KEYS

Row = tuple[Any, ...]

RATE_DEFINITIONS = {
    "response_rate": "响应率 = signed_in_time / dispatched：按时签收（由单位自己在签收时限内签收，不含逾期视为签收）"
    "的派单数 ÷ 作为主办单位收到的派单数。Accepted in time (signed by the unit itself within the acceptance "
    "window; deemed signing does not count) / work orders dispatched to it as lead unit.",
    "resolution_rate": "解决率 = visit_yes / visited：回访中群众自己说“已解决”的次数 ÷ 回访接通次数"
    "（“部分解决”不计入）。"
    "Resolved in the person's own words (answer 'yes'; 'partly' does not count) / return visits that reached "
    "the person.",
    "satisfaction_rate": "满意率 = (satisfied + basically_satisfied) / visited：满意与基本满意 ÷ 回访接通次数"
    "（未接通的回访不计入分母）。Satisfied + basically satisfied / return visits that reached the person "
    "(unreachable visits are not in the denominator).",
    "claimed_resolution_rate": "自报解决率与群众回答之差："
    "claimed_visited 为单位自报 resolved 的被回访轮次；claimed_denied 为其中群众说未解决或部分解决的。"
    "closes_without_solving 标记：claimed_denied / claimed_visited ≥ 阈值且样本足够。Of the visited rounds the "
    "unit reported as resolved, the share the person denied; flagged when over the threshold with enough sample.",
}

RATE_KEYS: tuple[str, ...] = ("response_rate", "resolution_rate", "satisfaction_rate",
                              "self_reported_resolution_rate", "claimed_denied_rate", "closes_without_solving")
_R = {k: i for i, k in enumerate(RATE_KEYS)}


@dataclass(frozen=True, kw_only=True)
class RatePolicy:
    """The numbers officials set for rankings and the closes-without-solving flag."""

    gap_threshold: float = 0.3  # share of "resolved" claims the people deny that flags a unit
    gap_min_sample: int = 5
    ranking_min_sample: int = 20  # a unit needs this many in a rate's denominator to be ranked
    ranking_top: int = 10


def rates_of(rows: Sequence[Row], policy: RatePolicy) -> list[Row]:
    """Per row (same order): the RATE_KEYS values — three rates, the self-reported resolution rate, the share
    of claims the people denied, and the closes-without-solving flag. A rate is None when nothing was counted."""
    gap, sample = policy.gap_threshold, policy.gap_min_sample
    i_disp, i_sit, i_vis, i_yes, i_sat, i_bas, i_res, i_self, i_cv, i_cd = (AT[k] for k in (
        "dispatched", "signed_in_time", "visited", "visit_yes", "satisfied", "basically_satisfied", "resolved",
        "self_resolved", "claimed_visited", "claimed_denied"))
    # counts per unit are small integers, so the same (numerator, denominator) pairs recur across 20,000
    # units: a dict lookup instead of round() (~0.5 µs each, 100,000 calls per query); same values
    memo: dict[tuple[int, int], float] = {}

    def q(n: int, d: int) -> float | None:
        if not d:
            return None
        v = memo.get((n, d))
        if v is None:
            v = memo[(n, d)] = round(n / d, 4)
        return v

    out = []
    for r in rows:
        vis, cv = r[i_vis], r[i_cv]
        denied = q(r[i_cd], cv)
        out.append((q(r[i_sit], r[i_disp]), q(r[i_yes], vis), q(r[i_sat] + r[i_bas], vis), q(r[i_self], r[i_res]),
                    denied, bool(denied is not None and cv >= sample and denied >= gap)))
    return out


def with_rates(row: dict[str, Any], policy: RatePolicy) -> dict[str, Any]:
    """Add the rates (rates_of) to one row of counters given as a dict (totals, a region)."""
    values = tuple(row.get(k) or 0 for k in ROW_KEYS)
    row.update(zip(RATE_KEYS, rates_of([values], policy)[0], strict=True))
    return row


def unit_rows(rows: Sequence[Row], policy: RatePolicy) -> list[dict[str, Any]]:
    """Each unit's row as a dict with its rates (ROW_KEYS then RATE_KEYS)."""
    keys = ROW_KEYS + RATE_KEYS
    return [dict(zip(keys, r + x, strict=True)) for r, x in zip(rows, rates_of(rows, policy), strict=True)]


def column_sums(rows: Sequence[Row]) -> dict[str, int]:
    """Each counter summed over rows (column-wise: zip(*rows) and sum, not 25 dict updates per unit)."""
    if not rows:
        return dict.fromkeys(METRICS, 0)
    cols = list(zip(*rows, strict=True))[len(ROW_KEYS) - len(METRICS):]
    return {k: int(sum(c)) for k, c in zip(METRICS, cols, strict=True)}


def rank(rows: Sequence[Row], rates: Sequence[Row], key: str, sample_key: str, *, min_sample: int,
         top: int) -> dict[str, Any]:
    """Best and worst units by a rate, among units with at least min_sample in the rate's denominator."""
    ri, si, ui, ni = _R[key], AT[sample_key], AT["unit"], AT["name"]
    eligible = [i for i, r in enumerate(rows) if r[si] >= min_sample and rates[i][ri] is not None]
    # nsmallest == sorted(...)[:top] (stable), without sorting 20,000 units twice
    best = heapq.nsmallest(top, eligible, key=lambda i: (-rates[i][ri], -rows[i][si], rows[i][ui]))
    worst = heapq.nsmallest(top, eligible, key=lambda i: (rates[i][ri], -rows[i][si], rows[i][ui]))

    def brief(i: int) -> dict[str, Any]:
        return {"unit": rows[i][ui], "name": rows[i][ni], key: rates[i][ri], sample_key: rows[i][si]}

    return {"rate": key, "min_sample": min_sample, "eligible": len(eligible), "not_ranked": len(rows) - len(eligible),
            "best": [brief(i) for i in best], "worst": [brief(i) for i in worst]}


def summary(rows: Sequence[Row], policy: RatePolicy, *,
            received_tickets: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The totals and each region's counters and rates (what a report compares with the previous period)."""
    by_region_rows: dict[str, list[Row]] = defaultdict(list)
    for t in rows:
        by_region_rows[t[AT["region_code"]] or "unknown"].append(t)
    totals: dict[str, Any] = column_sums(rows)
    totals["tickets_received"] = received_tickets
    with_rates(totals, policy)
    regions = [with_rates({"region_code": reg, "units": len(ts), **column_sums(ts)}, policy)
               for reg, ts in sorted(by_region_rows.items())]
    return totals, regions


def overview(rows: Sequence[Row], policy: RatePolicy, *, start: date, end: date, region: str | None,
             received_tickets: int, red_track: dict[str, Any]) -> dict[str, Any]:
    """Totals, per-region figures, rankings, units that close without solving, red-track figures."""
    rates = rates_of(rows, policy)
    totals, regions = summary(rows, policy, received_tickets=received_tickets)
    n, top = policy.ranking_min_sample, policy.ranking_top
    i_flag, i_den = _R["closes_without_solving"], _R["claimed_denied_rate"]
    flagged = sorted((i for i, x in enumerate(rates) if x[i_flag]), key=lambda i: -(rates[i][i_den] or 0))
    return {
        "from": start, "to": end, "region": region, "units": len(rows),
        "totals": totals,
        "by_region": regions,
        "rankings": {
            "response_rate": rank(rows, rates, "response_rate", "dispatched", min_sample=n, top=top),
            "resolution_rate": rank(rows, rates, "resolution_rate", "visited", min_sample=n, top=top),
            "satisfaction_rate": rank(rows, rates, "satisfaction_rate", "visited", min_sample=n, top=top),
        },
        "closes_without_solving": [
            {"unit": rows[i][AT["unit"]], "name": rows[i][AT["name"]],
             "claimed_visited": rows[i][AT["claimed_visited"]], "claimed_denied": rows[i][AT["claimed_denied"]],
             "claimed_denied_rate": rates[i][i_den],
             "self_reported_resolution_rate": rates[i][_R["self_reported_resolution_rate"]],
             "resolution_rate": rates[i][_R["resolution_rate"]]}
            for i in flagged
        ],
        "red_track": red_track,
        "definitions": RATE_DEFINITIONS,
    }
