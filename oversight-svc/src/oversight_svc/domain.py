"""oversight rules (pure): the rollup metrics and periods, the three rates, the case state machine,
return-visit rules, PII stripping for disclosure, and hotspot clustering."""

from __future__ import annotations

import hashlib
import heapq
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

# Counters kept per unit and period (one column each in the rollups).
METRICS: tuple[str, ...] = (
    "received",  # delivered to the unit (lead or co-unit)
    "dispatched",  # dispatched to it as lead unit
    "signed",  # signed for (by the unit or deemed)
    "signed_in_time",  # signed by the unit itself within the acceptance window
    "deemed_signed",  # the window passed: counted as signed (逾期视为签收)
    "returned",  # return requests
    "return_approved",  # return requests the work team approved
    "resolved",  # results submitted (办结), any outcome
    "self_resolved",  # results the unit reported as fully resolved
    "resolved_in_time",  # results submitted by the (extended) deadline
    "overdue",  # rounds that reached the alarm (overdue)
    "extended",  # extensions granted
    "urged",  # urge notices (催办)
    "supervised",  # escalations to supervision and supervision cases naming the unit
    "visited",  # return visits that reached the person
    "unreachable",  # return visits that could not reach the person
    "visit_yes",  # the person said: resolved
    "visit_partly",  # the person said: partly resolved
    "satisfied",
    "basically_satisfied",
    "unsatisfied",
    "claimed_visited",  # reached visits of rounds the unit reported as resolved
    "claimed_denied",  # ... where the person said it was not (or only partly) resolved
    "redone",  # redo orders (发回重办)
    "accountability",  # accountability measures decided
)

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

REASON_CATEGORIES: dict[str, str] = {
    "inaction": "不作为",
    "misconduct": "乱作为",
    "slowness": "慢作为",
    "improper_supervision": "不正确履行监管职责",
    "buck_passing": "推诿扯皮",
}


def grains_of(day: date) -> list[tuple[str, date]]:
    """The day, month, quarter and year periods a day falls in."""
    return [("d", day), ("m", day.replace(day=1)), ("q", date(day.year, (day.month - 1) // 3 * 3 + 1, 1)),
            ("y", date(day.year, 1, 1))]


def _month_end(d: date) -> date:
    nxt = (d.replace(day=28) + timedelta(days=4)).replace(day=1)
    return nxt - timedelta(days=1)


def split_period(start: date, end: date) -> list[tuple[str, date, date]]:
    """Cover [start, end] with whole years, whole months and leftover days: (grain, first, last) ranges."""
    out: list[tuple[str, date, date]] = []
    cur = start
    while cur <= end:
        if cur.month == 1 and cur.day == 1 and date(cur.year, 12, 31) <= end:
            grain, nxt = "y", date(cur.year + 1, 1, 1)
        elif cur.day == 1 and _month_end(cur) <= end:
            grain, nxt = "m", _month_end(cur) + timedelta(days=1)
        else:
            grain, nxt = "d", cur + timedelta(days=1)
        if out and out[-1][0] == grain:
            out[-1] = (grain, out[-1][1], cur)
        else:
            out.append((grain, cur, cur))
        cur = nxt
    return out


def _quarter_end(d: date) -> date:
    return _month_end(date(d.year, (d.month - 1) // 3 * 3 + 3, 1))


def cover_period(start: date, end: date) -> list[tuple[int, str, date, date]]:
    """Cover [start, end] with signed rollup ranges (sign, grain, first, last): whole years, quarters and
    months, and at each ragged edge either the leftover days or, when fewer, the whole month minus the days
    outside the period (so an edge reads at most 15 days of rows instead of 30)."""
    out: list[tuple[int, str, date, date]] = []

    def add(sign: int, grain: str, first: date, last: date) -> None:
        for i, (s, g, a, b) in enumerate(out):  # extend an adjacent range of the same sign and grain
            if (s, g) == (sign, grain) and b + _STEP[grain](b) == first:
                out[i] = (sign, grain, a, last)
                return
        out.append((sign, grain, first, last))

    cur = start
    while cur <= end:
        if cur.month == 1 and cur.day == 1 and date(cur.year, 12, 31) <= end:
            add(1, "y", cur, cur)
            cur = date(cur.year + 1, 1, 1)
        elif cur.day == 1 and cur.month % 3 == 1 and _quarter_end(cur) <= end:
            add(1, "q", cur, cur)
            cur = _quarter_end(cur) + timedelta(days=1)
        elif cur.day == 1 and _month_end(cur) <= end:
            add(1, "m", cur, cur)
            cur = _month_end(cur) + timedelta(days=1)
        else:  # a ragged piece of one month: [cur, last]
            first, month_end = cur.replace(day=1), _month_end(cur)
            last = min(end, month_end)
            inside = (last - cur).days + 1
            outside = (month_end - first).days + 1 - inside
            if outside < inside:
                add(1, "m", first, first)
                if cur > first:
                    add(-1, "d", first, cur - timedelta(days=1))
                if last < month_end:
                    add(-1, "d", last + timedelta(days=1), month_end)
            else:
                add(1, "d", cur, last)
            cur = last + timedelta(days=1)
    return out


_STEP = {"d": lambda d: timedelta(days=1), "m": lambda d: _month_end(d) - d + timedelta(days=1),
         "q": lambda d: _quarter_end(d) - d + timedelta(days=1),
         "y": lambda d: date(d.year + 1, 1, 1) - d}


def rate(numerator: int, denominator: int) -> float | None:
    """A rate in [0, 1], or None when nothing was counted."""
    return round(numerator / denominator, 4) if denominator else None


def with_rates(row: dict[str, Any], *, gap_threshold: float, min_sample: int) -> dict[str, Any]:
    """Add the three rates and the closes-without-solving flag to a row of counters."""
    # called once per unit per query (20,000 units): locals and inline rounding instead of rate()
    g = row.get
    dispatched, visited, resolved, claimed = g("dispatched", 0), g("visited", 0), g("resolved", 0), \
        g("claimed_visited", 0)
    row["response_rate"] = round(g("signed_in_time", 0) / dispatched, 4) if dispatched else None
    if visited:
        row["resolution_rate"] = round(g("visit_yes", 0) / visited, 4)
        row["satisfaction_rate"] = round((g("satisfied", 0) + g("basically_satisfied", 0)) / visited, 4)
    else:
        row["resolution_rate"] = row["satisfaction_rate"] = None
    row["self_reported_resolution_rate"] = round(g("self_resolved", 0) / resolved, 4) if resolved else None
    denied = round(g("claimed_denied", 0) / claimed, 4) if claimed else None
    row["claimed_denied_rate"] = denied
    row["closes_without_solving"] = bool(denied is not None and claimed >= min_sample and denied >= gap_threshold)
    return row


def rank(rows: Sequence[dict[str, Any]], key: str, sample_key: str, min_sample: int,
         top: int) -> dict[str, Any]:
    """Best and worst units by a rate, among units with at least min_sample in the rate's denominator."""
    eligible = [r for r in rows if r.get(sample_key, 0) >= min_sample and r.get(key) is not None]
    # nsmallest == sorted(...)[:top] (stable), without sorting 20,000 units twice
    best = heapq.nsmallest(top, eligible, key=lambda r: (-r[key], -r[sample_key], r["unit"]))
    worst = heapq.nsmallest(top, eligible, key=lambda r: (r[key], -r[sample_key], r["unit"]))
    brief = ("unit", "name", key, sample_key)
    return {
        "rate": key,
        "min_sample": min_sample,
        "eligible": len(eligible),
        "not_ranked": len(rows) - len(eligible),
        "best": [{k: r.get(k) for k in brief} for r in best],
        "worst": [{k: r.get(k) for k in brief} for r in worst],
    }


def unit_region(unit: str, dispatched_region: str | None) -> str | None:
    """A unit's region: the numeric prefix of its code ('339901-market_regulation'), else the dispatch's."""
    head = unit.split("-", 1)[0]
    return head if head.isdigit() else dispatched_region


# ---- supervision cases: an explicit state machine -------------------------------------------------

STATES = ("opened", "registered", "investigating", "letter_sent", "replied", "visited", "redo", "concluded")

# state -> action -> next state (None = stays)
TRANSITIONS: dict[str, dict[str, str | None]] = {
    "opened": {"register": "registered"},
    "registered": {"investigate": "investigating", "send_letter": "letter_sent"},
    "investigating": {"investigate": None, "send_letter": "letter_sent"},
    "letter_sent": {"reply": "replied", "investigate": None},
    "replied": {"return_visit": "visited", "send_letter": "letter_sent", "order_redo": "redo"},
    "visited": {"return_visit": None, "order_redo": "redo", "conclude": "concluded"},
    "redo": {"send_letter": "letter_sent", "investigate": None},
    "concluded": {"publish": None},
}

STEP_NAMES = {
    "register": "登记备案 registration",
    "investigate": "调查核实 investigation",
    "send_letter": "督办函 supervision letter",
    "reply": "督办回复函 reply letter",
    "return_visit": "回访 return visit",
    "order_redo": "整改不到位，再次办理 redo",
    "conclude": "调查办理结果反馈单 result feedback sheet",
    "publish": "督查回声 publication",
}


class TransitionError(Exception):
    """An action not allowed in the case's state."""

    def __init__(self, state: str, action: str) -> None:
        self.state = state
        self.action = action
        self.allowed = sorted(TRANSITIONS.get(state, {}))
        super().__init__(
            f"case is {state!r}: {action!r} is not allowed; allowed: {', '.join(self.allowed) or 'none'}"
        )


def next_state(state: str, action: str) -> str:
    """The state after an action, or TransitionError."""
    allowed = TRANSITIONS.get(state, {})
    if action not in allowed:
        raise TransitionError(state, action)
    nxt = allowed[action]
    return state if nxt is None else nxt


# ---- return visits --------------------------------------------------------------------------------

def visit_orders_redo(satisfaction: str, cause: str | None) -> bool:
    """Unsatisfied through the unit's own fault (主观原因) → redo."""
    return satisfaction == "unsatisfied" and cause == "subjective"


def visit_deltas(resolved: str | None, satisfaction: str, claimed_resolved: bool, redo: bool) -> dict[str, int]:
    """The counters one return visit adds to its unit."""
    if satisfaction == "unreachable":
        return {"unreachable": 1}
    d = {"visited": 1, satisfaction: 1, "redone": int(redo)}
    if resolved == "yes":
        d["visit_yes"] = 1
    elif resolved == "partly":
        d["visit_partly"] = 1
    if claimed_resolved:
        d["claimed_visited"] = 1
        d["claimed_denied"] = int(resolved != "yes")
    return d


# ---- disclosure: strip personal data --------------------------------------------------------------

_PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)|(?<!\d)0\d{2,3}-?\d{7,8}(?!\d)")
_ID = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")


def mask_name(name: str) -> str:
    """刘某 for 刘洋: the surname and 某, as published outcomes name people."""
    name = name.strip()
    return (name[0] + "某") if name else name


def strip_pii(text: str, names: Iterable[str] = ()) -> str:
    """Remove phone numbers, ID numbers, e-mail addresses and the given personal names from a text."""
    out = _ID.sub("[证件号已隐去]", text)
    out = _PHONE.sub("[电话已隐去]", out)
    out = _EMAIL.sub("[邮箱已隐去]", out)
    for n in sorted({n.strip() for n in names if n and len(n.strip()) >= 2}, key=len, reverse=True):
        out = out.replace(n, mask_name(n))
    return out


# ---- hotspots --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class HotspotTicket:
    """A ticket as hotspot mining sees it."""

    ticket_no: str
    kind: str
    category: str | None
    region_code: str | None
    text: str


def _place(region_code: str | None, level_digits: int) -> str | None:
    return region_code[:level_digits] if region_code and len(region_code) >= level_digits else region_code


def _shingles(text: str) -> set[str]:
    t = re.sub(r"\s+", "", text)
    return {t[i : i + 2] for i in range(len(t) - 1)} or {t}


def similarity(a: set[str], b: set[str]) -> float:
    """Overlap coefficient of two character-bigram sets (robust to one text being longer)."""
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


def _find(parent: list[int], i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]  # path halving keeps the union-find flat
        i = parent[i]
    return i


def find_hotspots(items: Sequence[HotspotTicket], *, min_places: int, threshold: float,
                  place_digits: int) -> list[dict[str, Any]]:
    """Groups of tickets of the same kind and category, with similar text, in at least min_places places."""
    by_kind: dict[tuple[str, str | None], list[HotspotTicket]] = {}
    for it in items:
        by_kind.setdefault((it.kind, it.category), []).append(it)
    out: list[dict[str, Any]] = []
    for (kind, category), group in by_kind.items():
        places_in_group = {_place(t.region_code, place_digits) for t in group}
        if len(places_in_group) < min_places:
            continue
        sh = [_shingles(t.text) for t in group]
        parent = list(range(len(group)))
        for i in range(len(group)):
            for j in range(i + 1, len(group)):
                if similarity(sh[i], sh[j]) >= threshold:
                    parent[_find(parent, i)] = _find(parent, j)
        clusters: dict[int, list[int]] = {}
        for i in range(len(group)):
            clusters.setdefault(_find(parent, i), []).append(i)
        for idx in clusters.values():
            members = [group[i] for i in idx]
            places = sorted({p for t in members if (p := _place(t.region_code, place_digits))})
            if len(places) < min_places:
                continue
            nos = sorted(t.ticket_no for t in members)
            common = set.intersection(*(sh[i] for i in idx))
            hid = "HS-" + hashlib.sha1(f"{kind}|{category}|{nos[0]}".encode()).hexdigest()[:10]
            out.append({
                "hotspot_id": hid,
                "kind": kind,
                "category": category,
                "title": f"{kind}: {len(nos)} similar tickets in {len(places)} places",
                "ticket_nos": nos,
                "places": places,
                "common_terms": sorted(common)[:20],
            })
    out.sort(key=lambda h: (-len(h["places"]), -len(h["ticket_nos"]), h["hotspot_id"]))
    return out
