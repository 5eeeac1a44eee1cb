"""Hanyang's tiers (红黄绿灯) and the three response levels (三级响应), on the shipped catalogue's rules (pure)."""

from __future__ import annotations

from typing import Any

import pytest
from triage_helpers import catalogue

from bancheng_shared.contracts.vocab import Route, Tier
from triage_svc.domain import tiers
from triage_svc.domain.tiers import TierFacts, evaluate


def rules() -> dict[str, Any]:
    return catalogue().tier_rules


def tier_of(content: str, **facts: Any) -> Tier:
    return evaluate(TierFacts(content=content, **facts), rules()).tier


def test_the_shipped_catalogue_carries_the_default_tier_rules() -> None:
    # the same numbers, copies and levels; every default word among the shipped ones (which has more, and patterns)
    shipped, default = rules(), tiers.DEFAULT_TIER_RULES
    for key, value in default.items():
        if key.endswith(("_words", "_unless")):
            assert set(value) <= set(shipped[key]), key
        else:
            assert shipped[key] == value, key


@pytest.mark.parametrize("text", [
    "东湖区城管局对我们反映的占道经营问题不作为，打了三次电话都说不归他们管",
    "街道执法队乱作为，没有任何手续就把我家的招牌拆了",
    "办个营业执照变更拖了一个多月，窗口慢作为",
    "住建局和城管局推诿扯皮，小区违建谁都不管",
])
def test_complaints_about_officials_conduct_are_red(text: str) -> None:
    decision = evaluate(TierFacts(content=text), rules())
    assert decision.tier == Tier.red and decision.conduct
    assert any("complaint about officials' conduct" in r for r in decision.reasons)


@pytest.mark.parametrize("text", [
    "办证窗口工作人员索要好处，不给钱就不给办",
    "市场所的人到店里吃拿卡要，不给就说要罚款",
])
def test_demands_for_favours_are_red(text: str) -> None:
    assert tier_of(content=text) == Tier.red


@pytest.mark.parametrize("text", [
    "我们小区二十几户业主联名反映，门口的路灯坏了三个月没人修",
    "村里几十户人家的自来水一直是浑的",
    "这是群体性的欠薪问题，工地上的工人都没拿到工资",
])
def test_matters_many_people_raise_together_are_at_least_yellow(text: str) -> None:
    assert tier_of(content=text) in (Tier.yellow, Tier.red)


def test_units_to_coordinate() -> None:
    assert tier_of(content="路灯坏了", units=1) == Tier.green
    assert tier_of(content="路灯坏了", units=2) == Tier.yellow
    assert tier_of(content="路灯坏了", units=3) == Tier.yellow
    assert tier_of(content="路灯坏了", units=4) == Tier.red


def test_repeats_and_repeats_near_the_deadline() -> None:
    assert tier_of(content="又来反映", repeats=1, own_repeats=1) == Tier.green
    assert tier_of(content="又来反映", repeats=2, own_repeats=2) == Tier.yellow
    assert tier_of(content="又来反映", repeats=4, own_repeats=4) == Tier.yellow
    assert tier_of(content="又来反映", repeats=5, own_repeats=5) == Tier.red
    # the same person again while sla says the deadline is 2 working days away (urgent): red
    assert tier_of(content="又来反映", repeats=1, own_repeats=1, urgent=True) == Tier.red
    assert tier_of(content="又来反映", repeats=0, urgent=True) == Tier.green
    # other people's requests merged in are counted, and raise nothing (near the deadline neither)
    assert tier_of(content="又来反映", repeats=6, own_repeats=0) == Tier.green
    assert tier_of(content="又来反映", repeats=3, own_repeats=0, urgent=True) == Tier.green


def test_returned_twice_is_yellow() -> None:
    assert tier_of(content="x", returns=1) == Tier.green
    assert tier_of(content="x", returns=2) == Tier.yellow


def test_every_rule_that_fires_is_named_and_the_highest_wins() -> None:
    d = evaluate(TierFacts(content="几个部门推诿扯皮，我们联名反映", units=2, repeats=2, own_repeats=2), rules())
    assert d.tier == Tier.red
    assert len(d.reasons) == 5  # coordination, hard matter, mass matter, conduct, repeats


def test_three_response_levels() -> None:
    r = rules()
    assert tiers.level_of(Route.answer, Tier.green, r) == 3  # answered on the spot / online
    assert tiers.level_of(Route.dispatch, Tier.green, r) == 2  # dispatched to the unit
    assert tiers.level_of(Route.dispatch, Tier.yellow, r) == 2
    assert tiers.level_of(Route.dispatch, Tier.red, r) == 1  # difficult: one case, one discussion
    assert tiers.level_of(Route.petition, Tier.red, r) == 1
    # a level-3 matter sent to a unit takes its tier's level; others keep theirs
    assert tiers.level_for_unit(3, Tier.green, r) == 2
    assert tiers.level_for_unit(3, Tier.red, r) == 1
    assert tiers.level_for_unit(1, Tier.green, r) == 1


def test_complex_from_yellow() -> None:
    assert [tiers.is_complex(t, rules()) for t in (Tier.green, Tier.yellow, Tier.red)] == [False, True, True]


def test_copy_rules() -> None:
    r = rules()
    assert tiers.copy_rule(Tier.green, "tier", r) is None
    assert tiers.copy_rule(Tier.green, "resolution", r) == {
        "on": "resolution", "purpose": "archive", "to_kinds": ["business_environment"]}
    assert tiers.copy_rule(Tier.yellow, "tier", r) == {
        "on": "tier", "purpose": "joint_scheduling", "to_kinds": ["business_environment"]}
    assert tiers.copy_rule(Tier.red, "tier", r) == {
        "on": "tier", "purpose": "supervision", "to_kinds": ["business_environment", "discipline"]}
    assert tiers.copy_rule(Tier.red, "resolution", r) is None


@pytest.mark.parametrize(("text", "level"), [
    # a consultation goes to a unit for an online answer within 1 working day (level 3), whoever answers it
    ("您好，我是东湖区城关街道的居民，现在是灵活就业人员，想问一下灵活就业人员怎么缴纳社保，在哪里办，谢谢", 3),
    ("请问一下孩子上小学的入学登记需要准备哪些材料？我们是外地户口，麻烦告知，谢谢", 3),
    # a complaint put as a question is no consultation; a consultation a tier rule raised takes its tier's level
    ("东湖区城关街道一家超市卖过期食品，商家拒绝退款，这合理吗？", 2),
    ("请问我们小区三十多户居民联名反映的电梯问题怎么还没人管？", 2),
])
def test_consultations_are_level_three_wherever_they_go(text: str, level: int) -> None:
    from triage_helpers import directory

    from triage_svc.domain import routing
    r = routing.decide(text, "339901001", None, None, catalogue(), directory())
    assert r.response_level == level, (r.decision.category, r.tier.tier, r.decision.route)


def test_a_consultation_sent_to_a_unit_keeps_level_three() -> None:
    r = rules()
    assert tiers.level_for_unit(3, Tier.green, r, "consult", "请问社保怎么交") == 3
    assert tiers.level_for_unit(3, Tier.green, r, "complaint", "路灯坏了") == 2
    assert tiers.level_for_unit(3, Tier.yellow, r, "consult", "请问社保怎么交") == 2
    assert tiers.level_for_unit(3, Tier.green, r, "consult", "这合理吗？") == 2
    assert tiers.level_of(Route.dispatch, Tier.green, {k: v for k, v in r.items() if k != "consult_level"},
                          "consult") == 2  # without the setting: the tier's level
