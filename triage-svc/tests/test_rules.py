"""Classification, special routes, tiers and learning from corrections (pure)."""

from __future__ import annotations

from functools import cache

from bancheng_shared.contracts.vocab import Category, Route, Tier
from triage_svc.demo_directory import demo_city
from triage_svc.domain import classifier, tiers
from triage_svc.domain.catalogue import load_catalogue
from triage_svc.domain.directory import DirectoryIndex, UnitRef
from triage_svc.domain.routing import decide


@cache
def compiled() -> classifier.Compiled:
    return classifier.compile_catalogue(load_catalogue(), 0)


@cache
def index() -> DirectoryIndex:
    return DirectoryIndex.build(UnitRef(r["code"], r["name"], r["level"], r["kind"], r["region_code"],
                                        r["parent_code"]) for r in demo_city())


def test_first_flow_ticket_goes_to_district_market_regulation() -> None:
    t = decide("东湖区城关街道一家超市卖过期食品，商家拒绝退款", "339901001", None, None, compiled(), index())
    assert t.lead is not None and t.lead.code == "339901-market_regulation"
    assert t.decision.route == Route.dispatch
    assert any("market_regulation" in w for w in t.decision.explanation)


def test_place_resolved_from_address_text() -> None:
    t = decide("西岭区新华街道二社区门口的路灯坏了一个月", None, None, None, compiled(), index())
    assert t.region_code == "339902002002"
    assert t.place_source == "address_text"
    assert t.lead is not None and t.lead.region_code.startswith("339902")


def test_unclear_ownership_falls_back_to_local_government_of_the_place() -> None:
    t = decide("东湖区人民街道这件事情不知道该找谁", None, None, None, compiled(), index())
    assert t.decision.department_kinds[0] == "local_government"
    assert t.lead is not None and t.lead.code == "339901003-local_government"


def test_special_routes() -> None:
    c = compiled()
    assert classifier.classify("我的问题在县信访局反映了三年都没有结果", c).route == Route.petition
    d = classifier.classify("法院已经判决对方赔钱，可是一直不执行", c)
    assert d.route == Route.legal and d.target_kind == "political_legal"
    a = classifier.classify("请问办居住证需要什么材料，在哪里办", c)
    assert a.route == Route.answer and a.suggested_answer and a.category == Category.consult
    assert classifier.classify("派出所不给我办居住证，一直刁难", c).route == Route.dispatch


def test_conduct_complaint_is_red_and_level_one() -> None:
    t = decide("街道办对我们反映的问题一直推诿扯皮，不作为", "339901001", None, None, compiled(), index())
    assert t.tier.tier == Tier.red and t.response_level == 1
    assert t.tier.conduct


def test_tier_rules() -> None:
    r = tiers.DEFAULT_TIER_RULES
    assert tiers.evaluate(tiers.TierFacts(content="路灯坏了"), r).tier == Tier.green
    assert tiers.evaluate(tiers.TierFacts(content="x", units=2), r).tier == Tier.yellow
    assert tiers.evaluate(tiers.TierFacts(content="x", repeats=2, own_repeats=2), r).tier == Tier.yellow
    assert tiers.evaluate(tiers.TierFacts(content="x", repeats=2), r).tier == Tier.green  # other people's
    assert tiers.evaluate(tiers.TierFacts(content="x", repeats=1, own_repeats=1), r).tier == Tier.green
    assert tiers.evaluate(tiers.TierFacts(content="x", repeats=1, own_repeats=1, urgent=True), r).tier == Tier.red
    assert tiers.evaluate(tiers.TierFacts(content="x", repeats=1, urgent=True), r).tier == Tier.green
    assert tiers.evaluate(tiers.TierFacts(content="x", returns=2), r).tier == Tier.yellow
    assert tiers.evaluate(tiers.TierFacts(content="吃拿卡要"), r).tier == Tier.red
    assert tiers.higher(Tier.red, Tier.green) == Tier.red


def test_a_correction_changes_the_next_similar_decision() -> None:
    doc = load_catalogue()
    text = "小区门口的电动车充电桩经常坏，车充不了电"
    similar = "我们小区门口的电动车充电桩又坏了，充不上电"
    base = classifier.compile_catalogue(doc, 0)
    before = classifier.classify(similar, base).department_kinds[0]
    target = "emergency" if before != "emergency" else "civil_affairs"
    corr = classifier.Correction(1, frozenset(classifier.ngrams(text)), target, None, None, "充电设施安全属应急")
    after_c = classifier.compile_catalogue(doc, 0, [corr], [(text, target, 3.0)])
    after = classifier.classify(similar, after_c)
    assert after.department_kinds[0] == target
    assert any("correction #1" in w for w in after.explanation)
    # an unrelated request is not affected
    assert classifier.classify("超市卖过期食品", after_c).department_kinds[0] == "market_regulation"
