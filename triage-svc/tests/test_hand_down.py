"""A work order handed down for a hotspot (channel `hotspot`) goes to the department of the hotspot's kind at the
level asked (the city's by default), not to the local unit the text's place would give (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

from triage_helpers import NOW, catalogue, directory

from bancheng_shared.contracts.intake import TicketReceived
from bancheng_shared.contracts.triage import TicketDispatched, TicketTriaged
from bancheng_shared.contracts.vocab import Channel
from triage_svc.domain import hand_down, triage
from triage_svc.domain.directory import DirectoryIndex, UnitRef

SUMMARY = ("共性问题：共享单车乱停放。近期共4件同类工单，涉及3个地方（339901001、339902003、339903002）。"
           "东湖区城关街道地铁口共享单车乱停放堵塞盲道，请作为牵头部门统筹解决。工单号：BC1、BC2、BC3、BC4。")


def handed(content: str = SUMMARY, kind: str | None = "urban_management", level: int | None = 1,
           channel: Channel = Channel.hotspot, region: str | None = "3399") -> TicketReceived:
    return TicketReceived(channel=channel, content=content, region_code=region, hotspot_id="HS-0123456789",
                          department_kind=kind, unit_level=level, received_at=datetime(2026, 11, 3, 1, tzinfo=UTC))


def test_only_a_hotspot_ticket_naming_a_kind_is_handed_down() -> None:
    assert hand_down.of(handed()) == hand_down.HandDown("HS-0123456789", "urban_management", 1)
    assert hand_down.of(handed(channel=Channel.hotline)) is None
    assert hand_down.of(handed(kind=None)) is None
    assert hand_down.of(handed(level=None)) == hand_down.HandDown("HS-0123456789", "urban_management", 1)


def test_goes_to_the_city_department_not_the_street_the_text_names() -> None:
    t = triage.triage("BC9", handed(), catalogue=catalogue(), directory=directory(), now=NOW)
    wo = t.work_order
    # the text names 东湖区城关街道: a hotline ticket would go to the district's urban management
    assert (wo.state, wo.route, wo.lead_unit, wo.channel) == ("dispatched", "dispatch", "3399-urban_management",
                                                              "hotspot")
    triaged, dispatched = [e for e in t.events if isinstance(e, TicketTriaged | TicketDispatched)]
    assert isinstance(dispatched, TicketDispatched) and dispatched.unit_level == 1
    assert isinstance(triaged, TicketTriaged) and triaged.lead_kind == "urban_management"
    assert any("hotspot HS-0123456789: handed down to the urban_management department at level 1: "
               "3399-urban_management" in line for line in triaged.explanation)
    plain = triage.triage("BC8", handed(channel=Channel.hotline, region=None), catalogue=catalogue(),
                          directory=directory(), now=NOW)
    assert plain.work_order.lead_unit != "3399-urban_management"


def test_the_level_asked_is_the_district() -> None:
    t = triage.triage("BC9", handed(level=2, region="339902"), catalogue=catalogue(), directory=directory(), now=NOW)
    assert t.work_order.lead_unit == "339902-urban_management"


def test_no_unit_of_the_kind_at_that_level_goes_to_the_fallback_and_says_so() -> None:
    # water is a city-level company only: at district level there is none, the district government takes it
    t = triage.triage("BC9", handed(kind="water", level=2, region="339901"), catalogue=catalogue(),
                      directory=directory(), now=NOW)
    assert t.work_order.lead_unit == "339901-local_government"
    triaged = next(e for e in t.events if isinstance(e, TicketTriaged))
    assert any("no unit of kind water at level 2" in line and "fallback 339901-local_government" in line
               for line in triaged.explanation)


def test_no_unit_at_all_waits_for_the_work_team() -> None:
    t = triage.triage("BC9", handed(kind="water", level=4, region=None), catalogue=catalogue(),
                      directory=DirectoryIndex.build([]), now=NOW)
    assert t.work_order.state == "triaged" and t.work_order.lead_unit is None
    assert any("waits for the work team" in line for line in t.work_order.explanation)


def test_unit_at_level_prefers_the_region_holding_the_place() -> None:
    units = [UnitRef("A-um", "甲市城管局", 1, "urban_management", "3301", None),
             UnitRef("B-um", "乙市城管局", 1, "urban_management", "3302", None)]
    idx = DirectoryIndex.build(units)
    assert hand_down.unit_at_level(idx, "urban_management", 1, "330201") == units[1]
    # two cities and no place: neither is the responsible one
    assert hand_down.unit_at_level(idx, "urban_management", 1, None) is None
    assert hand_down.unit_at_level(DirectoryIndex.build(units[:1]), "urban_management", 1, None) == units[0]
    assert hand_down.unit_at_level(idx, "urban_management", 2, "330201") is None
