"""Handing a hotspot down and 回头看 (pure): the common problem, the region, the summary without complainants,
refusing a second hand-down; the deterministic re-check sample, what a re-check counts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest

from bancheng_shared.contracts.vocab import ResolvedAnswer, Satisfaction
from bancheng_shared.errors import Problem
from oversight_svc.domain import hand_down, rechecks

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
TEXTS = [
    "东湖区城关街道地铁站出口共享单车乱停放，把盲道和人行道都堵死了，我叫张伟，电话13812345678，推婴儿车过不去",
    "西岭区人民街道人民医院门口共享单车乱停放严重，救护车进出都受影响，请尽快清理",
    "南港区长江街道学校门口每天早上共享单车乱停放，孩子上学只能走机动车道，太危险了，李女士反映",
    "北川区和平街道小区大门口共享单车乱停放，堵住消防通道，物业说管不了",
]


def hotspot(**kw: object) -> SimpleNamespace:
    base = dict(hotspot_id="HS-0123456789", kind="urban_management", category="complaint",
                title="urban_management: 4 similar tickets in 4 places",
                ticket_nos=["BC20261101A", "BC20261102B", "BC20261103C", "BC20261104D"],
                places=["339901001", "339902003", "339903002", "339904001"])
    base.update(kw)
    return SimpleNamespace(**base)


def test_the_common_problem_is_the_phrase_every_text_shares() -> None:
    assert hand_down.common_phrase(TEXTS) == "共享单车乱停放"
    lifts = ["老旧小区加装电梯 审批慢", "老旧小区加装电梯，邻居不同意", "请问老旧小区加装电梯补贴"]
    assert hand_down.common_phrase(lifts) == "老旧小区加装电梯"
    assert hand_down.common_phrase(["路灯不亮", "噪音扰民"]) is None
    assert hand_down.common_phrase([]) is None


def test_the_region_is_the_common_prefix_cut_to_a_whole_level() -> None:
    assert hand_down.common_region(["339901001", "339902003", "339903002"]) == "3399"
    assert hand_down.common_region(["339901001", "339901003"]) == "339901"
    assert hand_down.common_region(["339901001"]) == "339901001"
    assert hand_down.common_region(["339901001", "440301001"]) is None
    assert hand_down.common_region([]) is None


def test_the_work_order_names_problem_count_places_and_tickets_but_no_person() -> None:
    out = hand_down.hand_down(hotspot(), TEXTS, level=1, by_name="督查室王科长", now=NOW)
    e = out.event
    assert e.title == "高频共性问题交办：共享单车乱停放"
    assert "共享单车乱停放" in e.summary and "4件" in e.summary and "4个地方" in e.summary
    assert all(no in e.summary for no in hotspot().ticket_nos) and all(p in e.summary for p in hotspot().places)
    for personal in ("张伟", "13812345678", "李女士", "婴儿车"):  # what one person wrote stays out
        assert personal not in e.summary and personal not in e.title
    assert (e.department_kind, e.unit_level, e.region_code, e.category) == ("urban_management", 1, "3399",
                                                                           "complaint")
    assert out.row["ticket_no"] is None and out.row["unit_level"] == 1 and out.row["by_name"] == "督查室王科长"
    # no phrase in common: the hotspot's title stands for the problem
    plain = hand_down.hand_down(hotspot(), ["路灯不亮", "噪音扰民"], level=2, by_name="x", now=NOW)
    assert plain.event.title.endswith(hotspot().title) and plain.event.unit_level == 2


def test_a_second_hand_down_is_refused_naming_the_ticket() -> None:
    hand_down.refuse_twice("HS-1", None)
    with pytest.raises(Problem) as e:
        hand_down.refuse_twice("HS-1", SimpleNamespace(ticket_no="BC20261120X", handed_down_at=NOW))
    assert e.value.status == 409 and "BC20261120X" in e.value.detail
    with pytest.raises(Problem) as e:
        hand_down.refuse_twice("HS-1", SimpleNamespace(ticket_no=None, handed_down_at=NOW))
    assert e.value.status == 409 and "registering" in e.value.detail


def test_the_sample_is_decided_by_the_ticket_number_alone() -> None:
    nos = [f"BC2026110{i % 10}{i:05d}" for i in range(4000)]
    picked = [no for no in nos if rechecks.sampled(no, 0.1)]
    assert picked == [no for no in nos if rechecks.sampled(no, 0.1)]  # the same on every replay and replica
    assert 0.08 < len(picked) / len(nos) < 0.12
    assert set(picked) <= {no for no in nos if rechecks.sampled(no, 0.3)}  # a bigger share keeps the smaller
    assert not any(rechecks.sampled(no, 0.0) for no in nos[:100])
    assert all(rechecks.sampled(no, 1.0) for no in nos[:100])


def test_a_recheck_is_due_calendar_days_after_closing_in_the_dispatch_cohort() -> None:
    row, counts = rechecks.due("BC1", 2, unit="339901-urban_management", dispatch_day=date(2026, 10, 31),
                               closed_at=NOW, after_days=30)
    assert row["due_at"] == NOW + timedelta(days=30) and row["round"] == 2
    assert counts == [("339901-urban_management", date(2026, 10, 31), {"recheck_due": 1})]
    assert rechecks.due("BC1", 1, unit=None, dispatch_day=None, closed_at=NOW, after_days=30)[1] == []


def owed(**kw: object) -> SimpleNamespace:
    base = dict(ticket_no="BC1", round=1, unit="339901-urban_management", dispatch_day=date(2026, 10, 31),
                closed_at=NOW - timedelta(days=31), due_at=NOW - timedelta(days=1), done_at=None)
    base.update(kw)
    return SimpleNamespace(**base)


def test_recording_a_recheck_counts_done_and_come_back() -> None:
    back = rechecks.record(owed(), ticket_no="BC1", resolved=ResolvedAnswer.partly,
                           satisfaction=Satisfaction.unsatisfied, cause="objective", notes="单车又堆满了",
                           visited_at=None, by_name="专班小刘", now=NOW)
    assert back.values["relapsed"] is True and back.values["done_at"] == NOW
    assert back.values["redo"] is False and back.events == []  # not the unit's fault: no redo
    assert back.counts == [("339901-urban_management", date(2026, 10, 31), {"rechecked": 1, "recheck_relapsed": 1})]
    held = rechecks.record(owed(), ticket_no="BC1", resolved=ResolvedAnswer.yes, satisfaction=Satisfaction.satisfied,
                           cause=None, notes=None, visited_at=None, by_name="专班小刘", now=NOW)
    assert held.values["relapsed"] is False and held.counts[0][2] == {"rechecked": 1, "recheck_relapsed": 0}
    # unreachable: tried again later, nothing counted
    away = rechecks.record(owed(), ticket_no="BC1", resolved=None, satisfaction=Satisfaction.unreachable,
                           cause=None, notes="无人接听", visited_at=None, by_name="专班小刘", now=NOW)
    assert away.counts == [] and "done_at" not in away.values


def test_a_problem_back_through_the_units_fault_orders_a_redo_as_a_return_visit_does() -> None:
    out = rechecks.record(owed(round=2), ticket_no="BC1", resolved=ResolvedAnswer.no,
                          satisfaction=Satisfaction.unsatisfied, cause="subjective", notes="整改后一周又恢复原样",
                          visited_at=None, by_name="专班小刘", now=NOW)
    assert out.values["redo"] is True
    (redo,) = out.events
    assert (redo.round, redo.unit, redo.ordered_at) == (2, "339901-urban_management", NOW)
    assert redo.reason.startswith("回头看问题反弹") and "整改后一周又恢复原样" in redo.reason
    # satisfied though it came back partly: nobody asks for a redo
    kept = rechecks.record(owed(), ticket_no="BC1", resolved=ResolvedAnswer.partly,
                           satisfaction=Satisfaction.basically_satisfied, cause="subjective", notes=None,
                           visited_at=None, by_name="x", now=NOW)
    assert kept.events == [] and kept.values["relapsed"] is True


@pytest.mark.parametrize(("r", "kw", "status"), [
    (None, {}, 404),
    (owed(done_at=NOW), {}, 409),
    (owed(due_at=NOW + timedelta(days=2)), {}, 409),
    (owed(), {"resolved": None}, 422),
    (owed(), {"visited_at": NOW - timedelta(days=40)}, 422),  # before the closing
])
def test_recheck_refusals(r: object, kw: dict[str, object], status: int) -> None:
    args: dict[str, object] = dict(ticket_no="BC1", resolved=ResolvedAnswer.yes, satisfaction=Satisfaction.satisfied,
                                   cause=None, notes=None, visited_at=None, by_name="x", now=NOW)
    args.update(kw)
    with pytest.raises(Problem) as e:
        rechecks.record(r, **args)  # type: ignore[arg-type]
    assert e.value.status == status
