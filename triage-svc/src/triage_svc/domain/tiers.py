"""Tier (红黄绿灯) and response-level (三级响应) rules (pure); the rules themselves are catalogue data.

Hanyang's tiers: units to coordinate (2 → yellow, 4 → red), hard matters (多次反映, 来回跑 …) and mass matters
(联名, 集体上访, 几十户, 整栋楼 …) → at least yellow, complaints about officials' conduct (不作为、乱作为、慢作为、
推诿扯皮, 吃拿卡要 and their paraphrases) and every report of bribery or corruption (受贿, 回扣, 好处费 …) → red,
the same person's repeats (2 → yellow, 5 → red, any while sla says the deadline is near → red; another person's
merged request is counted but raises nothing), returned twice → yellow. Each cue group is words, patterns and
look-alikes (`cues`), all catalogue data. Copies: green → archive after completion, yellow → joint scheduling,
red → supervision by the business-environment office and discipline inspection (纪委监委). Response levels:
3 answered directly, 2 dispatched, 1 difficult (red).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bancheng_shared.contracts.vocab import TIER_ORDER, Route, Tier
from triage_svc.domain import cues

# the cue groups of the tier rules and the tier each gives unless the rules say otherwise (`<group>_tier`)
CUE_GROUPS = {"difficulty": "yellow", "mass": "yellow", "conduct": "red", "corruption": "red"}
GROUP_REASONS = {"difficulty": "hard matter", "mass": "many people raise it together",
                 "conduct": "complaint about officials' conduct", "corruption": "report of bribery or corruption"}

DEFAULT_TIER_RULES: dict[str, Any] = {  # what a catalogue without tier rules gets (the shipped one has more words)
    "coordination": [{"min_units": 2, "tier": "yellow"}, {"min_units": 4, "tier": "red"}],
    "difficulty_words": ["多次反映", "反复反映", "一直没解决", "一直未解决", "长期", "多年", "好几年", "多个部门",
                         "几个部门", "来回跑", "两头跑", "跑了好几趟"],
    "mass_words": ["联名", "集体上访", "群体", "几十户", "上百户", "整栋楼", "全体业主"],
    "conduct_words": ["不作为", "乱作为", "慢作为", "推诿扯皮", "推诿", "踢皮球", "吃拿卡要", "互相推脱", "相互推诿",
                      "敷衍了事", "刁难", "索要好处", "暴力执法"],
    "corruption_words": ["受贿", "行贿", "贿赂", "贪污", "腐败", "好处费", "回扣"],
    "repeats": [{"min_repeats": 2, "tier": "yellow", "same_person": True},
                {"min_repeats": 5, "tier": "red", "same_person": True},
                {"min_repeats": 1, "urgent": True, "tier": "red", "same_person": True}],
    "returns": [{"min_returns": 2, "tier": "yellow"}],
    "response_level": {"green": 2, "yellow": 2, "red": 1},
    "consult_level": 3,  # a consultation sent to a unit is answered online within 1 working day (level 3)
    "consult_max_tier": "green",
    "consult_unless": ["合理吗", "凭什么", "投诉", "举报"],  # a complaint put as a question is no consultation
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
    repeats: int = 0  # every merged repeat
    urgent: bool = False
    returns: int = 0
    own_repeats: int = 0  # repeats from the person who asked first: what the repeat rules count by default


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
    conduct: list[str] = []
    for group, default in CUE_GROUPS.items():
        hits = cues.from_doc(r, group).find(facts.content)
        counting = r.get(f"{group}_count")
        if counting:  # "三十多户", "两千多人": a count of people or households of at least `min`
            hits += cues.counted(cues.from_doc(r, group).strip(facts.content), counting["nouns"], int(counting["min"]))
        if hits:
            bump(r.get(f"{group}_tier", default), f"{GROUP_REASONS[group]} ({', '.join(hits)})")
            if group in ("conduct", "corruption"):
                conduct += hits
    for rule in r.get("repeats", []):
        n, whose = (facts.own_repeats, "by the same person") if rule.get("same_person", True) \
            else (facts.repeats, "by anyone")
        if n >= int(rule["min_repeats"]) and (not rule.get("urgent") or facts.urgent):
            extra = " while the deadline is near (urgent)" if rule.get("urgent") else ""
            bump(rule["tier"], f"repeated {n} time(s) {whose}{extra} (rule: at least {rule['min_repeats']})")
    for rule in r.get("returns", []):
        if facts.returns >= int(rule["min_returns"]):
            bump(rule["tier"], f"returned {facts.returns} time(s) (rule: at least {rule['min_returns']})")
    return TierDecision(tier, why, conduct)


def response_level(tier: Tier | str, rules: dict[str, Any] | None = None) -> int:
    """Response level of a dispatched matter by its tier (level 3 is the answer route)."""
    r = rules or DEFAULT_TIER_RULES
    return int(r.get("response_level", {}).get(Tier(tier).value, 2))


ANSWERED_LEVEL = 3  # simple: answered on the spot / online within 1 working day


def is_consultation(category: str | None, tier: Tier | str, rules: dict[str, Any] | None = None,
                    content: str = "") -> bool:
    """A consultation (咨询) no rule made harder than `consult_max_tier` and not a complaint put as a question
    (`consult_unless`: "这合理吗？"): simple, answered within a working day whoever answers it (the rules'
    `consult_level`; absent: consultations take their tier's level)."""
    r = rules or DEFAULT_TIER_RULES
    if category != "consult" or "consult_level" not in r:
        return False
    if any(w in content for w in r.get("consult_unless", [])):
        return False
    return TIER_ORDER[Tier(tier)] <= TIER_ORDER[Tier(r.get("consult_max_tier", "green"))]


def level_of(route: Route, tier: Tier | str, rules: dict[str, Any] | None = None, category: str | None = None,
             content: str = "") -> int:
    """A decided matter's response level: 3 when it is answered directly, a simple consultation's level when it
    goes to a unit for an online answer, else its tier's level."""
    r = rules or DEFAULT_TIER_RULES
    if route == Route.answer:
        return ANSWERED_LEVEL
    if is_consultation(category, tier, r, content):
        return int(r["consult_level"])
    return response_level(tier, r)


def level_for_unit(level: int, tier: Tier | str, rules: dict[str, Any] | None = None,
                   category: str | None = None, content: str = "") -> int:
    """The level of a matter sent to a unit: a level-3 matter keeps it when it is a simple consultation (an online
    answer within a working day), else takes its tier's level; others keep theirs."""
    if level != ANSWERED_LEVEL:
        return level
    r = rules or DEFAULT_TIER_RULES
    return int(r["consult_level"]) if is_consultation(category, tier, r, content) else response_level(tier, r)


def is_complex(tier: Tier | str, rules: dict[str, Any] | None = None) -> bool:
    """Complex matters get the longer resolution period."""
    r = rules or DEFAULT_TIER_RULES
    return TIER_ORDER[Tier(tier)] >= TIER_ORDER[Tier(r.get("complex_from", "yellow"))]


def copy_rule(tier: Tier | str, on: str, rules: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The tier's copy rule when it fires on `on` ('tier' when reached, 'resolution' after completion)."""
    r = rules or DEFAULT_TIER_RULES
    rule = r.get("copy", {}).get(Tier(tier).value)
    return rule if rule and rule.get("on") == on else None
