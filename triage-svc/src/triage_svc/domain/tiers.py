"""Tier (红黄绿灯) and response-level (三级响应) rules (pure); the rules themselves are catalogue data.

Hanyang's tiers: units to coordinate (2 → yellow, 4 → red), hard matters and many people together (联名, 群体,
几十户 …) → at least yellow, complaints about officials' conduct (不作为、乱作为、慢作为、推诿扯皮) and demands
for favours (吃拿卡要、索要好处) → red, repeats (2 → yellow, 5 → red, any while sla says the deadline is near →
red), returned twice → yellow. Copies: green → archive after completion, yellow → joint scheduling, red →
supervision by the business-environment office and discipline inspection. Response levels: 3 answered directly,
2 dispatched, 1 difficult (red).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bancheng_shared.contracts.vocab import TIER_ORDER, Route, Tier

DEFAULT_TIER_RULES: dict[str, Any] = {
    "coordination": [{"min_units": 2, "tier": "yellow"}, {"min_units": 4, "tier": "red"}],
    "difficulty_words": ["多次反映", "反复反映", "一直没解决", "一直未解决", "长期", "多年", "好几年", "群体",
                         "几十户", "上百户", "联名", "多个部门", "几个部门", "来回跑", "两头跑", "跑了好几趟"],
    "difficulty_tier": "yellow",
    "conduct_words": ["不作为", "乱作为", "慢作为", "推诿扯皮", "推诿", "扯皮", "踢皮球", "吃拿卡要",
                      "互相推脱", "相互推诿", "敷衍了事", "刁难", "索要好处"],
    "conduct_tier": "red",
    "repeats": [{"min_repeats": 2, "tier": "yellow"}, {"min_repeats": 5, "tier": "red"},
                {"min_repeats": 1, "urgent": True, "tier": "red"}],
    "returns": [{"min_returns": 2, "tier": "yellow"}],
    "response_level": {"green": 2, "yellow": 2, "red": 1},
    "complex_from": "yellow",
    "copy": {
        "green": {"on": "resolution", "purpose": "archive", "to_kinds": ["business_environment"]},
        "yellow": {"on": "tier", "purpose": "joint_scheduling", "to_kinds": ["business_environment"]},
        "red": {"on": "tier", "purpose": "supervision", "to_kinds": ["business_environment", "discipline"]},
    },
}


@dataclass
class TierFacts:
    """What the tier rules look at."""

    content: str = ""
    units: int = 1
    repeats: int = 0
    urgent: bool = False
    returns: int = 0


@dataclass
class TierDecision:
    """The tier the rules give, and why."""

    tier: Tier
    reasons: list[str] = field(default_factory=list)
    conduct: list[str] = field(default_factory=list)


def higher(a: Tier | str, b: Tier | str) -> Tier:
    """The higher of two tiers."""
    ta, tb = Tier(a), Tier(b)
    return ta if TIER_ORDER[ta] >= TIER_ORDER[tb] else tb


def evaluate(facts: TierFacts, rules: dict[str, Any] | None = None) -> TierDecision:
    """The tier the facts earn under the rules (every rule that fires is named)."""
    r = rules or DEFAULT_TIER_RULES
    tier = Tier.green
    why: list[str] = []

    def bump(t: str, reason: str) -> None:
        nonlocal tier
        why.append(f"tier {t}: {reason}")
        tier = higher(tier, t)

    for rule in r.get("coordination", []):
        if facts.units >= int(rule["min_units"]):
            bump(rule["tier"], f"{facts.units} units must coordinate (rule: at least {rule['min_units']})")
    hard = [w for w in r.get("difficulty_words", []) if w in facts.content]
    if hard:
        bump(r.get("difficulty_tier", "yellow"), f"hard matter ({', '.join(hard)})")
    conduct = [w for w in r.get("conduct_words", []) if w in facts.content]
    if conduct:
        bump(r.get("conduct_tier", "red"), f"complaint about officials' conduct ({', '.join(conduct)})")
    for rule in r.get("repeats", []):
        if facts.repeats >= int(rule["min_repeats"]) and (not rule.get("urgent") or facts.urgent):
            extra = " while the deadline is near (urgent)" if rule.get("urgent") else ""
            bump(rule["tier"], f"repeated {facts.repeats} time(s){extra} (rule: at least {rule['min_repeats']})")
    for rule in r.get("returns", []):
        if facts.returns >= int(rule["min_returns"]):
            bump(rule["tier"], f"returned {facts.returns} time(s) (rule: at least {rule['min_returns']})")
    return TierDecision(tier, why, conduct)


def response_level(tier: Tier | str, rules: dict[str, Any] | None = None) -> int:
    """Response level of a dispatched matter by its tier (level 3 is the answer route)."""
    r = rules or DEFAULT_TIER_RULES
    return int(r.get("response_level", {}).get(Tier(tier).value, 2))


ANSWERED_LEVEL = 3  # simple: answered on the spot / online within 1 working day


def level_of(route: Route, tier: Tier | str, rules: dict[str, Any] | None = None) -> int:
    """A decided matter's response level: 3 when it is answered directly, else its tier's level."""
    return ANSWERED_LEVEL if route == Route.answer else response_level(tier, rules)


def level_for_unit(level: int, tier: Tier | str, rules: dict[str, Any] | None = None) -> int:
    """The level of a matter sent to a unit: a level-3 matter takes its tier's level, others keep theirs."""
    return response_level(tier, rules) if level == ANSWERED_LEVEL else level


def is_complex(tier: Tier | str, rules: dict[str, Any] | None = None) -> bool:
    """Complex matters get the longer resolution period."""
    r = rules or DEFAULT_TIER_RULES
    return TIER_ORDER[Tier(tier)] >= TIER_ORDER[Tier(r.get("complex_from", "yellow"))]


def copy_rule(tier: Tier | str, on: str, rules: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The tier's copy rule when it fires on `on` ('tier' when reached, 'resolution' after completion)."""
    r = rules or DEFAULT_TIER_RULES
    rule = r.get("copy", {}).get(Tier(tier).value)
    return rule if rule and rule.get("on") == on else None
