"""Routing: the special routes (信访, 涉法涉诉, answer, hotline) and dispatch to the unit of the kind nearest the place;
a received ticket becomes a work order (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from triage_helpers import NOW, catalogue, directory, work_order

from bancheng_shared.contracts.intake import TicketReceived
from bancheng_shared.contracts.triage import TicketDispatched, TicketTransferred, TicketTriaged, TierCopyIssued
from bancheng_shared.contracts.vocab import Channel, Route
from bancheng_shared.errors import Problem
from triage_svc.domain import classifier, routing, triage
from triage_svc.domain.directory import DirectoryIndex, UnitRef


def received(content: str, region: str | None = None, address: str | None = None) -> TicketReceived:
    return TicketReceived(channel=Channel.hotline, content=content, region_code=region, address=address,
                          received_at=datetime(2025, 3, 3, 1, 0, tzinfo=UTC))


def test_dispatched_to_the_district_unit_of_the_kind() -> None:
    t = triage.triage("BC1", received("东湖区城关街道一家超市卖过期食品，商家拒绝退款", "339901001"),
                      catalogue=catalogue(), directory=directory(), now=NOW)
    wo = t.work_order
    assert (wo.state, wo.route, wo.lead_unit, wo.round, wo.tier, wo.response_level) == (
        "dispatched", "dispatch", "339901-market_regulation", 1, "green", 2)
    triaged, dispatched = t.events
    assert isinstance(triaged, TicketTriaged) and triaged.lead_kind == "market_regulation"
    assert isinstance(dispatched, TicketDispatched) and dispatched.unit_level == 2 and dispatched.round == 1
    assert (t.log.action, t.log.actor, t.log.from_state, t.log.to_state) == ("triage", "system", None, "dispatched")


def test_no_unit_of_the_kind_in_the_district_goes_up_to_the_city() -> None:
    # gas is a city-level company in the demo city: the nearest unit of the kind is the city's
    r = routing.decide("西岭区人民街道的燃气管道漏气，味道很大", None, None, None, catalogue(), directory())
    assert r.region_code == "339902003" and r.place_source == "address_text"
    assert r.lead is not None and r.lead.code == "3399-gas"


def test_the_nearest_unit_same_region_then_up_the_hierarchy() -> None:
    idx = DirectoryIndex.build([
        UnitRef("3399-water", "示范市水务集团", 1, "water", "3399", None),
        UnitRef("339901-water", "东湖区水务站", 2, "water", "339901", None),
    ])

    def code(kind: str, region: str | None, max_level: int = 4) -> str | None:
        u = idx.choose(kind, region, max_level)
        return u.code if u else None

    assert code("water", "339901001") == "339901-water"  # same region
    assert code("water", "339902001") == "3399-water"  # up the hierarchy
    assert code("water", "339901001", max_level=1) == "3399-water"  # the kind's level at most
    assert code("water", None) == "3399-water"  # no place: the highest
    assert code("gas", "339901001") is None


def test_petition_goes_to_the_petition_office_off_the_track() -> None:
    t = triage.triage("BC2", received("我的宅基地问题在区信访局反映了三年没有结果", "339901001"),
                      catalogue=catalogue(), directory=directory(), now=NOW)
    assert (t.work_order.state, t.work_order.route, t.work_order.lead_unit) == ("transferred", "petition", None)
    transfer = t.events[-1]
    assert isinstance(transfer, TicketTransferred) and transfer.to_unit == "339901-petition"
    assert t.work_order.transfer_unit == "339901-petition"  # the receiving organ, which signs for it
    assert transfer.reason.startswith("route petition")


def test_matters_in_litigation_go_to_the_political_legal_organs() -> None:
    d = classifier.classify("法院已经判决对方赔钱，可是一直不执行", catalogue())
    assert d.route == Route.legal and d.target_kind == "political_legal"
    t = triage.triage("BC3", received("法院判决了对方赔偿，到现在也没执行"), catalogue=catalogue(),
                      directory=directory(), now=NOW)
    transfer = t.events[-1]
    assert t.work_order.state == "transferred" and t.work_order.transfer_unit == "3399-political_legal"
    assert isinstance(transfer, TicketTransferred) and transfer.to_unit == "3399-political_legal"


def test_a_simple_consultation_waits_for_the_operators_answer_at_level_3() -> None:
    t = triage.triage("BC4", received("请问办居住证需要什么材料，在哪里办"), catalogue=catalogue(),
                      directory=directory(), now=NOW)
    wo = t.work_order
    assert (wo.state, wo.route, wo.response_level) == ("awaiting_answer", "answer", 3)
    assert wo.suggested_answer and wo.knowledge_id
    assert [type(e).__name__ for e in t.events] == ["TicketTriaged"]


def test_the_hotline_route_by_a_correction_waits_for_the_work_team() -> None:
    text = "小区门口早餐摊每天早上占道经营"
    corr = classifier.Correction(1, frozenset(classifier.ngrams(text)), None, None, "hotline", "按热线普通程序办理")
    c = classifier.compile_catalogue(catalogue().doc, 0, [corr])
    t = triage.triage("BC5", received(text, "339901001"), catalogue=c, directory=directory(), now=NOW)
    assert (t.work_order.state, t.work_order.route, t.work_order.lead_unit) == ("triaged", "hotline", None)
    assert t.work_order.explanation is not None
    assert t.work_order.explanation[-1] == "no unit found in the directory: waits for a manual dispatch"
    triaged = t.events[0]
    # the event carries the explanation as decided, the work order the line added after it
    assert isinstance(triaged, TicketTriaged) and triaged.explanation == t.work_order.explanation[:-1]


def test_a_red_ticket_is_copied_for_supervision_when_triaged() -> None:
    t = triage.triage("BC6", received("东湖区城关街道的小区里有人在绿化带私搭乱建，城管和住建互相推诿", "339901001"),
                      catalogue=catalogue(), directory=directory(), now=NOW)
    assert t.work_order.tier == "red" and t.work_order.response_level == 1 and t.work_order.copies == ["red:tier"]
    copy = t.events[1]
    assert isinstance(copy, TierCopyIssued) and copy.to_kinds == ["business_environment", "discipline"]


def test_the_unit_a_returned_work_order_goes_to() -> None:
    wo = work_order(department_kinds=["market_regulation", "urban_management"])
    assert routing.pick_unit(wo, directory(), "339902-market_regulation").code == "339902-market_regulation"
    assert routing.pick_unit(wo, directory(), None).code == "339901-urban_management"  # the next kind
    only = work_order(department_kinds=["market_regulation"])
    assert routing.pick_unit(only, directory(), None).code == "339901001-local_government"  # the street's
    with pytest.raises(Problem) as info:
        routing.pick_unit(wo, directory(), "339999-nowhere")
    assert info.value.status == 422 and info.value.extra["errors"][0]["field"] == "new_unit"


def test_co_units_must_be_active_units_each_named_once() -> None:
    assert routing.known_units(directory(), ["339901-health", "339901-health", "339901-education"]) == [
        "339901-health", "339901-education"]
    with pytest.raises(Problem) as info:
        routing.known_units(directory(), ["339901-health", "339901-spaceport"])
    assert info.value.extra["errors"] == [{"field": "co_units", "message": "unknown unit 339901-spaceport"}]


def test_unit_level() -> None:
    assert routing.unit_level(directory(), "3399-gas") == 1
    assert routing.unit_level(directory(), "339901001-local_government") == 3
    assert routing.unit_level(directory(), "gone-unit") == 2


def test_a_matter_that_needs_four_units_names_them_and_is_red() -> None:
    text = ("您好，我是东湖区城关街道幸福家园小区的居民，小区门口的马路被挖开一个月没人管，自来水管道破裂停水三天，"
            "燃气管道漏气味道很大，路灯电线被挖断停电，建筑渣土乱堆占道，希望尽快处理，谢谢")
    r = routing.decide(text, "339901001", None, None, catalogue(), directory())
    assert set(r.decision.department_kinds) >= {"urban_management", "water", "gas", "power"}
    assert 1 + len(r.co) >= 4 and r.tier.tier == "red"
    assert any("units must coordinate" in line for line in r.tier.reasons)


def test_an_ordinary_matter_keeps_one_unit() -> None:
    text = ("您好，我是东湖区城关街道的村民，我住的地方比较偏，小区门口那盏路灯坏了一个多星期，"
            "晚上出门黑漆漆的，希望尽快处理")
    r = routing.decide(text, "339901001", None, None, catalogue(), directory())
    assert r.co == [] and r.tier.tier == "green"


def test_a_direct_answer_names_the_hotline_centre_for_its_clock() -> None:
    t = triage.triage("BC2", received("请问办居住证需要什么材料，在哪里办", "339901001"), catalogue=catalogue(),
                      directory=directory(), now=NOW)
    assert t.work_order.route == "answer" and t.work_order.response_level == 3
    triaged = t.events[0]
    assert isinstance(triaged, TicketTriaged) and triaged.answer_unit == "3399-hotline_center"
    d = triage.triage("BC3", received("东湖区城关街道一家超市卖过期食品，商家拒绝退款", "339901001"),
                      catalogue=catalogue(), directory=directory(), now=NOW)
    assert isinstance(d.events[0], TicketTriaged) and d.events[0].answer_unit is None
