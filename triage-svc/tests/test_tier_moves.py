"""How a work order's tier moves: automatically only up, by a person with a reason; copies issued once (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from triage_helpers import NOW, UNIT, UNIT_CODE, WORK_TEAM, catalogue, directory, event_types, work_order

from bancheng_shared.contracts.intake import RepeatReceived
from bancheng_shared.contracts.sla import AlertRaised
from bancheng_shared.contracts.triage import TierChanged, TierCopyIssued
from bancheng_shared.contracts.vocab import AlertLevel, Channel, Tier
from bancheng_shared.errors import Problem
from triage_svc.domain import tier_moves
from triage_svc.domain.lifecycle import TransitionRefused


def repeat(count: int) -> RepeatReceived:
    return RepeatReceived(repeat_count=count, content="又买到过期面包，超市还是不退", same_person=True,
                          channel=Channel.hotline, received_at=NOW)


def alert(level: AlertLevel, rnd: int = 1) -> AlertRaised:
    return AlertRaised(level=level, unit=UNIT_CODE, raised_at=NOW, round=rnd,
                       deadline=datetime(2025, 3, 10, 16, 0, tzinfo=UTC))


def test_a_second_repeat_turns_the_ticket_yellow_and_copies_it_for_joint_scheduling() -> None:
    rules = catalogue().tier_rules
    first = tier_moves.on_repeat(work_order(), repeat(1), rules=rules, directory=directory(), now=NOW)
    assert first.changes == {"repeat_count": 1, "own_repeat_count": 1, "updated_at": NOW} and first.events == []
    assert first.log is not None and first.log.action == "repeat" and first.log.detail == {
        "repeat_count": 1, "same_person": True, "own_repeat_count": 1, "tier": "green"}
    second = tier_moves.on_repeat(work_order(repeat_count=1, own_repeat_count=1), repeat(2), rules=rules,
                                  directory=directory(), now=NOW)
    assert second.changes["tier"] == "yellow" and second.changes["complex"] is True
    assert second.changes["response_level"] == 2 and second.changes["copies"] == ["yellow:tier"]
    changed, copy = second.events
    assert isinstance(changed, TierChanged) and (changed.old_tier, changed.new_tier, changed.automatic) == (
        Tier.green, Tier.yellow, True)
    assert isinstance(copy, TierCopyIssued) and copy.purpose == "joint_scheduling"
    assert copy.to_units == ["339901-business_environment"]  # the office nearest the place: 东湖区's


def test_a_repeat_never_lowers_the_count_nor_the_tier() -> None:
    out = tier_moves.on_repeat(work_order(tier="red", repeat_count=5, own_repeat_count=4), repeat(0),
                               rules=catalogue().tier_rules, directory=directory(), now=NOW)
    assert out.changes == {"repeat_count": 5, "own_repeat_count": 5, "updated_at": NOW} and out.events == []


def test_a_repeat_of_a_closed_ticket_is_refused() -> None:
    with pytest.raises(TransitionRefused):
        tier_moves.on_repeat(work_order(state="closed"), repeat(2), rules=catalogue().tier_rules,
                             directory=directory(), now=NOW)


def test_urgent_with_a_repeat_turns_red_and_calls_in_supervision() -> None:
    assert tier_moves.deadline_near(AlertLevel.urgent) and tier_moves.deadline_near(AlertLevel.alarm)
    assert not tier_moves.deadline_near(AlertLevel.reported) and not tier_moves.deadline_near(AlertLevel.warning)
    out = tier_moves.on_deadline_near(work_order(tier="yellow", repeat_count=1, own_repeat_count=1,
                                                 copies=["yellow:tier"]),
                                      alert(AlertLevel.urgent), rules=catalogue().tier_rules,
                                      directory=directory(), now=NOW)
    assert out is not None
    assert out.changes["urgent"] is True and out.changes["tier"] == "red" and out.changes["response_level"] == 1
    assert event_types(out) == ["TierChanged", "TierCopyIssued"]
    copy = out.events[1]
    assert isinstance(copy, TierCopyIssued) and copy.purpose == "supervision"
    assert copy.to_units == ["339901-business_environment", "339901-discipline"]


def test_urgent_without_repeats_is_only_remembered_and_another_round_is_ignored() -> None:
    out = tier_moves.on_deadline_near(work_order(), alert(AlertLevel.urgent), rules=catalogue().tier_rules,
                                      directory=directory(), now=NOW)
    assert out is not None and out.changes == {"urgent": True, "updated_at": NOW} and out.events == []
    assert tier_moves.on_deadline_near(work_order(round=2), alert(AlertLevel.urgent, rnd=1),
                                       rules=catalogue().tier_rules, directory=directory(), now=NOW) is None


def test_a_copy_is_issued_once_per_tier() -> None:
    events, copies = tier_moves.copies_for(directory(), Tier.red, on="tier", rules=catalogue().tier_rules,
                                           region_code="339901001", copies=["red:tier"], rnd=1, reason="again",
                                           now=NOW)
    assert events == [] and copies == ["red:tier"]


def test_the_work_team_lowers_the_tier_with_a_reason() -> None:
    out = tier_moves.change_tier(work_order(tier="red", response_level=1, complex=True), WORK_TEAM, tier=Tier.yellow,
                                 reason="已核实非主观原因", ticket_no="BC20250303000001", rules=catalogue().tier_rules,
                                 directory=directory(), now=NOW)
    assert out.changes["tier"] == "yellow" and out.changes["response_level"] == 2
    changed = out.events[0]
    assert isinstance(changed, TierChanged) and not changed.automatic and changed.by == "work_team:工作专班"
    assert event_types(out) == ["TierChanged"]  # no copy going down
    assert out.view == {"ticket_no": "BC20250303000001", "state": "dispatched", "tier": "yellow"}
    assert out.log is not None and out.log.detail == {"from": "red", "to": "yellow", "reason": "已核实非主观原因"}


def test_setting_the_same_tier_is_refused() -> None:
    with pytest.raises(Problem) as info:
        tier_moves.change_tier(work_order(), WORK_TEAM, tier=Tier.green, reason="无变化", ticket_no="BC20250303000001",
                               rules=catalogue().tier_rules, directory=directory(), now=NOW)
    assert (info.value.status, info.value.type_) == (409, "no-change")


def test_a_unit_cannot_see_another_units_work_order_to_set_its_tier() -> None:
    with pytest.raises(Problem) as info:
        tier_moves.change_tier(work_order(lead_unit="339902-market_regulation"), UNIT, tier=Tier.red, reason="x",
                               ticket_no="BC20250303000001", rules=catalogue().tier_rules, directory=directory(),
                               now=NOW)
    assert info.value.status == 404
