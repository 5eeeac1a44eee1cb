"""Routing (分流 and 派单, pure): what a request is, where it is, how hard, and which units get it.

Routes: `dispatch` to the unit of the decided kind nearest the place (its catalogue level at most; none of
that kind → the local government of the place), co-units for the other kinds the request's clauses are about; `petition`
(信访) to the petition office and `legal` (涉法涉诉) to the political-legal organs, off the dispatch track;
`answer`, a simple consultation the knowledge base answers (response level 3); `hotline`, the ordinary hotline
procedure, only by a work-team correction (no unit: the work order waits for the work team).
"""

from __future__ import annotations

from dataclasses import dataclass

from bancheng_shared.contracts.vocab import Category, Route
from bancheng_shared.errors import Problem
from triage_svc.domain import bounds, classifier, hand_down, tiers
from triage_svc.domain.directory import DirectoryIndex, UnitRef
from triage_svc.domain.work_order import WorkOrder

TRANSFER_ROUTES = (Route.petition, Route.legal)
DEFAULT_UNIT_LEVEL = 2  # a unit no longer in the directory is taken for a district one


@dataclass
class Routing:
    """The full decision for a received request: classification, place, tier, lead and co-units, level."""

    decision: classifier.Decision
    region_code: str | None
    place_source: str
    tier: tiers.TierDecision
    lead: UnitRef | None
    co: list[UnitRef]
    response_level: int
    complex: bool


def decide(text: str, region_code: str | None, address: str | None, hint: Category | None,
           catalogue: classifier.Compiled, directory: DirectoryIndex,
           handed: hand_down.HandDown | None = None) -> Routing:
    """Classify, place, tier and route a request (no I/O): what the consumer and the benchmark run. A work order
    `handed` down for a hotspot goes to the department of its kind and level, whatever the text's place."""
    b, idx = catalogue, directory
    d = classifier.classify(text, b, hint)
    if handed is not None:
        d.route, d.target_kind, d.department_kinds = Route.dispatch, handed.kind, [handed.kind]
    place_source = "given" if region_code else "none"
    if not region_code:
        region_code, why = idx.resolve_place(f"{address or ''} {text}")
        if region_code:
            place_source = "address_text"
            d.explanation.extend(why)
        else:
            d.explanation.append("place: no region code and no directory name in the text; city level")
    lead: UnitRef | None = None
    co: list[UnitRef] = []
    if handed is not None:
        lead, why = hand_down.responsible(idx, handed, region_code, b.fallback_kind)
        d.explanation.extend(why)
    elif d.route == Route.dispatch:
        rule = b.by_kind.get(d.department_kinds[0])
        lead = idx.choose(d.department_kinds[0], region_code, rule.level if rule else b.fallback_level)
        if lead is None:
            d.explanation.append(f"no unit of kind {d.department_kinds[0]} near the place: local government")
            lead = idx.choose(b.fallback_kind, region_code, b.fallback_level)
        for k in d.department_kinds[1:]:
            r = b.by_kind.get(k)
            u = idx.choose(k, region_code, r.level if r else 4)
            # each unit once: two kinds one unit handles are one unit to coordinate
            if u is not None and lead is not None and u.code != lead.code and all(u.code != x.code for x in co):
                co.append(u)
    t = tiers.evaluate(tiers.TierFacts(content=text, units=1 + len(co)), b.tier_rules)
    level = tiers.level_of(d.route, t.tier, b.tier_rules, d.category.value, text)
    d.explanation.extend(t.reasons or ["tier green: no tier rule fired"])
    d.explanation.append(f"response level {level}")
    d.explanation = bounds.lines(d.explanation)  # a correction's reason, a place's names: bounded for consumers
    return Routing(d, region_code, place_source, t, lead, co, level, tiers.is_complex(t.tier, b.tier_rules))


def transfer_target(route: Route, region_code: str | None, directory: DirectoryIndex) -> UnitRef | None:
    """The petition office or the political-legal unit nearest the place, for a matter leaving the track."""
    return directory.choose(classifier.ROUTE_TARGET_KIND[route], region_code)


def pick_unit(wo: WorkOrder, directory: DirectoryIndex, code: str | None, field_name: str = "new_unit") -> UnitRef:
    """The unit a work order goes to: the one named (active), else the next kind of the decision near the place,
    else the local government of the place; 422 naming the field when there is none."""
    if code:
        u = directory.by_code.get(code)
        if u is None:
            raise Problem(422, f"{field_name}: unknown or inactive unit {code!r}", type_="unknown-unit",
                          errors=[{"field": field_name, "message": "unknown or inactive unit"}])
        return u
    for k in [*wo.department_kinds[1:], "local_government"]:
        u = directory.choose(k, wo.region_code, 3)
        if u is not None and u.code != wo.lead_unit:
            return u
    raise Problem(422, f"{field_name}: name the unit to re-dispatch to", type_="unknown-unit")


def known_units(directory: DirectoryIndex, codes: list[str]) -> list[str]:
    """Co-units named by the work team, each once; 422 listing those not active in the directory."""
    if not codes:
        return []
    missing = [c for c in codes if c not in directory.by_code]
    if missing:
        raise Problem(422, f"unknown or inactive units: {', '.join(missing)}", type_="unknown-unit",
                      errors=[{"field": "co_units", "message": f"unknown unit {c}"} for c in missing])
    return list(dict.fromkeys(codes))


def unit_level(directory: DirectoryIndex, code: str | None) -> int:
    """The level of a unit of the directory (a district's when it is not there any more)."""
    u = directory.by_code.get(code) if code else None
    return u.level if u else DEFAULT_UNIT_LEVEL
