"""triage rules (pure): classification against the routing catalogue, tier, response level, unit choice."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from bancheng_shared.contracts.vocab import Category, Domain, Route, Tier

CATEGORY_CUES: list[tuple[Category, tuple[str, ...]]] = [
    (Category.praise, ("表扬", "感谢", "点赞")),
    (Category.report, ("举报",)),
    (Category.suggestion, ("建议",)),
    (Category.consult, ("咨询", "请问", "怎么办理", "如何")),
    (Category.help, ("求助", "帮忙", "救助")),
]


def load_catalogue() -> dict[str, Any]:
    """The default routing catalogue shipped with the service."""
    return json.loads(resources.files("triage_svc").joinpath("data/catalogue.json").read_text("utf-8"))


@dataclass
class Classification:
    """What a request is, how hard, and where it goes, with the reasons."""

    category: Category
    domain: Domain
    department_kinds: list[str]
    tier: Tier
    response_level: int
    route: Route
    complex: bool
    explanation: list[str] = field(default_factory=list)


def classify(content: str, catalogue: dict[str, Any], category_hint: Category | None = None) -> Classification:
    """Classify a request's text against the catalogue; every decision says why."""
    why: list[str] = []
    category = category_hint
    if category is None:
        category = Category.complaint
        for cat, cues in CATEGORY_CUES:
            hit = next((c for c in cues if c in content), None)
            if hit:
                category = cat
                why.append(f"category {cat.value}: cue '{hit}'")
                break
        else:
            why.append("category complaint: no cue, default")
    else:
        why.append(f"category {category.value}: as stated at intake")

    scores: dict[str, list[str]] = {}
    for rule in catalogue["rules"]:
        hits = [k for k in rule["keywords"] if k in content]
        if hits:
            scores.setdefault(rule["kind"], []).extend(hits)
    ranked = sorted(scores.items(), key=lambda kv: -len(kv[1]))
    kinds = [k for k, _ in ranked] or [catalogue["fallback_kind"]]
    for k, hits in ranked:
        why.append(f"kind {k}: keywords {', '.join(hits)}")
    if not ranked:
        why.append(f"kind {kinds[0]}: no catalogue match, local government of the place")
    domain = Domain.social_management
    for rule in catalogue["rules"]:
        if rule["kind"] == kinds[0]:
            domain = Domain(rule["domain"])
            break

    route = Route.dispatch
    if any(w in content for w in catalogue.get("petition_words", [])):
        route = Route.petition
        why.append("route petition: 信访 matter")
    elif any(w in content for w in catalogue.get("legal_words", [])):
        route = Route.legal
        why.append("route legal: in litigation or judged")

    tier = Tier.green
    conduct = [w for w in catalogue.get("conduct_words", []) if w in content]
    complex_ = len(kinds) > 1
    if conduct:
        tier = Tier.red
        why.append(f"tier red: complaint about officials' conduct ({', '.join(conduct)})")
    elif complex_:
        tier = Tier.yellow
        why.append(f"tier yellow: {len(kinds)} kinds of department must coordinate")
    response_level = 1 if tier == Tier.red else 2
    return Classification(category, domain, kinds[:3], tier, response_level, route, complex_ or tier == Tier.red,
                          why)


@dataclass(frozen=True)
class UnitRef:
    """A unit of the directory, as routing needs it."""

    code: str
    name: str
    level: int
    kind: str
    region_code: str
    parent_code: str | None


def choose_unit(kind: str, region_code: str | None, candidates: list[UnitRef]) -> UnitRef | None:
    """The unit of the kind nearest to the place: same region, else up the hierarchy, else city level."""
    of_kind = [u for u in candidates if u.kind == kind]
    if region_code:
        # walk from the most specific region prefix to the city
        for cut in range(len(region_code), 1, -1):
            prefix = region_code[:cut]
            same = [u for u in of_kind if u.region_code == prefix]
            if same:
                return sorted(same, key=lambda u: u.level)[0]
    city = sorted(of_kind, key=lambda u: u.level)
    return city[0] if city else None
