"""The scorecard: pure figures from the labels and what the stack made of each item (no I/O)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from bancheng_services.simulate.generator import Item

TIERS = {"green": 0, "yellow": 1, "red": 2}
SPECIAL = ("petition", "legal")
# kinds of item with nothing that calls for red: red there is over-tiering (shown, not a threshold)
ORDINARY = ("complaint", "same_place_other", "consult", "lookalike")
THRESHOLDS: dict[str, tuple[str, float]] = {
    "false_merge_rate": ("<=", 0.005),
    "same_person_repeats_found": (">=", 0.95),
    "items_without_clock": ("<=", 0),
    "false_transfer_rate": ("<=", 0.01),
    "tier_at_or_above_min": (">=", 0.95),
    "lost": ("<=", 0),
    "doubled": ("<=", 0),
    "rates_differing_from_log": ("<=", 0),
    "red_without_case": ("<=", 0),
}


@dataclass
class Observed:
    """What the stack made of one item."""

    ticket_no: str | None = None
    merged: bool = False
    work_order: dict[str, Any] | None = None
    has_clock: bool = False
    started_on: date | None = None
    working_days: int | None = None
    resolve_due_date: date | None = None
    clock_unit: str | None = None


@dataclass
class Scorecard:
    """The figures, and which thresholds fail."""

    figures: dict[str, Any] = field(default_factory=dict)
    by_kind: dict[str, dict[str, Any]] = field(default_factory=dict)
    rates: list[dict[str, Any]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The scorecard as JSON."""
        return {"figures": self.figures, "by_kind": self.by_kind, "rates": self.rates, "failures": self.failures}


def ratio(n: int, d: int) -> float | None:
    """n / d, None without a denominator."""
    return round(n / d, 4) if d else None


def reference_due(start: date, n: int, is_working_day: Callable[[date], bool]) -> date:
    """The n-th working day after `start`, walking the calendar day by day (the reference for sla's deadlines)."""
    d, left = start, n
    while left > 0:
        d += timedelta(days=1)
        if is_working_day(d):
            left -= 1
    return d


def merges(items: list[Item], obs: Mapping[str, Observed]) -> dict[str, Any]:
    """False merges, same-person repeats found, same-place merges, lost and doubled."""
    by_id = {i.id: i for i in items}
    wrong = found = same_place = 0
    should_stand = [i for i in items if i.merge_with is None]
    for i in items:
        o = obs.get(i.id, Observed())
        base = obs.get(i.merge_with or "", Observed())
        if i.merge_with is None:
            wrong += o.merged
        elif o.merged and o.ticket_no is not None and o.ticket_no == base.ticket_no:
            if by_id[i.id].same_person:
                found += 1
            else:
                same_place += 1
        elif o.merged:
            wrong += 1
    repeats = [i for i in items if i.same_person]
    others = [i for i in items if i.merge_with is not None and not i.same_person]
    return {"items": len(items), "false_merges": wrong, "false_merge_rate": ratio(wrong, len(items)),
            "standalone_items": len(should_stand), "same_person_repeats": len(repeats),
            "same_person_repeats_found": ratio(found, len(repeats)),
            "same_place_other_person": len(others), "same_place_merged": same_place}


def bookkeeping(items: list[Item], obs: Mapping[str, Observed], tickets_seen: int | None) -> dict[str, Any]:
    """Tickets lost (no ticket, or no work order for an own ticket) or doubled (more work orders than own tickets)."""
    own = {o.ticket_no for i in items if (o := obs.get(i.id)) and o.ticket_no and not o.merged}
    lost = sum(1 for i in items if not (o := obs.get(i.id)) or not o.ticket_no)
    lost += sum(1 for i in items if (o := obs.get(i.id)) and o.ticket_no and not o.merged and o.work_order is None)
    doubled = max(0, tickets_seen - len(own)) if tickets_seen is not None else 0
    observed = sum(1 for i in items if (o := obs.get(i.id)) and o.ticket_no)
    return {"observed": observed, "own_tickets": len(own), "lost": lost, "doubled": doubled}


def accuracy(items: list[Item], obs: Mapping[str, Observed]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Department kind / route / category / tier / units accuracy by kind; false transfers; items without a clock."""
    tally: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    false_transfer = [0, 0]
    tier_all = [0, 0]
    kind_all = [0, 0]
    ordinary_red = [0, 0]
    no_clock = 0
    for i in items:
        o = obs.get(i.id)
        if o is None or o.merged or o.work_order is None:
            continue
        wo, t = o.work_order, tally[i.kind]
        kinds = wo.get("department_kinds") or []
        if i.dept_kind:
            _count(t["dept_kind"], bool(kinds) and kinds[0] == i.dept_kind)
            _count(kind_all, bool(kinds) and kinds[0] == i.dept_kind)
        _count(t["route"], right_route(i, wo))
        if i.category:
            _count(t["category"], wo.get("category") == i.category)
        ok_tier = TIERS.get(str(wo.get("tier")), -1) >= TIERS[i.min_tier]
        _count(t["tier"], ok_tier)
        _count(tier_all, ok_tier)
        if i.kind in ORDINARY:
            _count(ordinary_red, wo.get("tier") == "red")
        if i.units_needed > 1:  # every department the matter needs is named (not merely as many units)
            needed = set(i.extra.get("kinds") or [])
            named = set(kinds) if needed else set()
            _count(t["units"], needed <= named if needed else 1 + len(wo.get("co_units") or []) >= i.units_needed)
        if i.route not in SPECIAL:
            _count(false_transfer, wo.get("route") in SPECIAL)
        no_clock += not o.has_clock
    by_kind = {k: {m: {"right": r, "of": n, "rate": ratio(r, n)} for m, (r, n) in v.items()}
               for k, v in sorted(tally.items())}
    figures = {"false_transfers": false_transfer[0], "false_transfer_rate": ratio(*false_transfer),
               "tier_at_or_above_min": ratio(*tier_all), "ordinary_items_red": ratio(*ordinary_red),
               "department_kind_right": ratio(*kind_all),
               "items_without_clock": no_clock}
    return figures, by_kind


def right_route(item: Item, wo: Mapping[str, Any]) -> bool:
    """The route the item should take. A consultation is right when the hotline answers it or hands it to a unit
    for an online answer on the level-3 clock (response level 3, one working day)."""
    if item.route == "answer" and wo.get("route") == "dispatch":
        return wo.get("response_level") == 3
    return wo.get("route") == item.route


def deadlines(items: list[Item], obs: Mapping[str, Observed], is_working_day: Callable[[date], bool]) -> dict[str, int]:
    """sla's resolution deadlines against the day-by-day reference."""
    checked = wrong = 0
    for i in items:
        o = obs.get(i.id)
        if o is None or o.merged or o.started_on is None or o.working_days is None or o.resolve_due_date is None:
            continue
        checked += 1
        wrong += reference_due(o.started_on, o.working_days, is_working_day) != o.resolve_due_date
    return {"deadlines_checked": checked, "deadlines_differing": wrong}


def log_rates(log: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """The three rates per unit from the simulation's own log (dispatches, signings on time, return visits)."""
    c: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for e in log:
        u = c[str(e["unit"])]
        if e["what"] == "dispatched":
            u["dispatched"] += 1
        elif e["what"] == "signed" and e.get("in_time"):
            u["signed_in_time"] += 1
        elif e["what"] == "visit" and e["satisfaction"] != "unreachable":
            u["visited"] += 1
            u["visit_yes"] += e.get("resolved") == "yes"
            u["satisfied"] += e["satisfaction"] in ("satisfied", "basically_satisfied")
    return {unit: {"response_rate": ratio(v["signed_in_time"], v["dispatched"]),
                   "resolution_rate": ratio(v["visit_yes"], v["visited"]),
                   "satisfaction_rate": ratio(v["satisfied"], v["visited"])} for unit, v in c.items()}


def compare_rates(mine: Mapping[str, Mapping[str, Any]],
                  theirs: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per unit and rate: the log's figure, oversight's, and whether they agree (to 0.001)."""
    rows = []
    for unit in sorted(set(mine) | set(theirs)):
        for rate in ("response_rate", "resolution_rate", "satisfaction_rate"):
            a, b = (mine.get(unit) or {}).get(rate), (theirs.get(unit) or {}).get(rate)
            same = (a is None and b is None) or (a is not None and b is not None and abs(a - b) < 0.001)
            rows.append({"unit": unit, "rate": rate, "log": a, "oversight": b, "same": same})
    return rows


def build(items: list[Item], obs: Mapping[str, Observed], *, tickets_seen: int | None,
          is_working_day: Callable[[date], bool], log: list[dict[str, Any]],
          oversight_rates: Mapping[str, Mapping[str, Any]], red_tickets: set[str], case_tickets: set[str]) -> Scorecard:
    """Every figure, then the thresholds that fail."""
    card = Scorecard()
    card.figures.update(merges(items, obs))
    card.figures.update(bookkeeping(items, obs, tickets_seen))
    acc, card.by_kind = accuracy(items, obs)
    card.figures.update(acc)
    card.figures.update(deadlines(items, obs, is_working_day))
    card.rates = compare_rates(log_rates(log), oversight_rates)
    card.figures["rates_differing_from_log"] = sum(not r["same"] for r in card.rates)
    card.figures["red_tickets"] = len(red_tickets)
    card.figures["red_without_case"] = len(red_tickets - case_tickets)
    card.failures = failures(card.figures)
    return card


def failures(figures: Mapping[str, Any]) -> list[str]:
    """The thresholds a figure misses (a figure that could not be measured fails too)."""
    out = []
    for name, (op, limit) in THRESHOLDS.items():
        v = figures.get(name)
        if v is None or (op == "<=" and v > limit) or (op == ">=" and v < limit):
            out.append(f"{name} = {v} (want {op} {limit})")
    return out


def render(card: Scorecard) -> str:
    """The scorecard as a text table."""
    lines = ["Scorecard 记分卡", "-" * 60]
    lines += [f"  {k:<32} {v}" for k, v in card.figures.items()]
    lines += ["", "By kind of item (right/of):"]
    for kind, ms in card.by_kind.items():
        lines.append(f"  {kind:<18} " + "  ".join(f"{m} {v['right']}/{v['of']}" for m, v in ms.items()))
    differing = [r for r in card.rates if not r["same"]]
    lines += ["", f"Rates per unit: {len(card.rates)} compared, {len(differing)} differ from the log"]
    lines += [f"  {r['unit']:<28} {r['rate']:<18} log {r['log']}  oversight {r['oversight']}" for r in differing[:15]]
    lines += ["", "Thresholds failing:" if card.failures else "All thresholds met."]
    lines += [f"  FAIL {f}" for f in card.failures]
    return "\n".join(lines)


def _count(cell: list[int], ok: bool) -> None:
    cell[0] += ok
    cell[1] += 1
