"""Handling a work order: who may act, manual dispatch, sign, progress, result, answer, close, redo, closing
after a return visit (pure)."""

from __future__ import annotations

import pytest
from triage_helpers import (
    CO_UNIT,
    NOW,
    OPERATOR,
    OTHER_UNIT,
    UNIT,
    WORK_TEAM,
    catalogue,
    directory,
    event_types,
    work_order,
)

from bancheng_shared.contracts.oversight import RedoOrdered, ReturnVisitRecorded
from bancheng_shared.contracts.triage import (
    TicketAnswered,
    TicketDispatched,
    TicketReopened,
    TicketSigned,
    TierCopyIssued,
)
from bancheng_shared.contracts.vocab import Satisfaction
from bancheng_shared.errors import Problem
from bancheng_shared.principal import Principal, Role
from triage_svc.domain import handling
from triage_svc.domain.lifecycle import TransitionRefused
from triage_svc.domain.work_order import WorkOrder

NO = "BC20250303000001"


def test_unknown_or_unseen_work_orders_are_404_other_units_403_wrong_states_409() -> None:
    with pytest.raises(Problem) as info:
        handling.sign(None, UNIT, ticket_no=NO, now=NOW)
    assert (info.value.status, info.value.type_) == (404, "unknown-ticket")
    with pytest.raises(Problem) as info:
        handling.sign(work_order(), OTHER_UNIT, ticket_no=NO, now=NOW)
    assert info.value.status == 404
    with pytest.raises(Problem) as info:
        handling.sign(work_order(co_units=[CO_UNIT.unit_code]), CO_UNIT, ticket_no=NO, now=NOW)
    assert (info.value.status, info.value.type_) == (403, "forbidden")  # co-units report progress only
    with pytest.raises(Problem) as info:
        handling.resolve(work_order(), UNIT, outcome="resolved", reply="已处理", ticket_no=NO,
                         rules=catalogue().tier_rules, directory=directory(), now=NOW)
    assert (info.value.status, info.value.type_) == (409, "invalid-transition")
    assert info.value.extra["state"] == "dispatched" and info.value.extra["action"] == "resolve"
    assert "sign" in info.value.extra["allowed_actions"]


def test_sign_progress_by_a_co_unit_and_the_result() -> None:
    signed = handling.sign(work_order(), UNIT, ticket_no=NO, now=NOW)
    assert signed.view == {"ticket_no": NO, "state": "signed", "signed_at": NOW}
    assert signed.log is not None and signed.log.actor == "unit:东湖区市场监管局"
    wo = work_order(state="signed", co_units=[CO_UNIT.unit_code])
    progress = handling.progress(wo, CO_UNIT, note="已联合执法检查", ticket_no=NO, now=NOW)
    assert progress.changes["state"] == "in_progress"
    assert progress.log is not None and progress.log.detail == {"unit": CO_UNIT.unit_code, "note": "已联合执法检查"}
    done = handling.resolve(work_order(state="in_progress"), UNIT, outcome="resolved",
                            reply="已责令商家退款并下架过期食品", ticket_no=NO, rules=catalogue().tier_rules,
                            directory=directory(), now=NOW)
    assert done.changes["state"] == "resolved" and done.changes["resolution"]["outcome"] == "resolved"
    # a green ticket completed: a copy to the business-environment office for the archive
    assert event_types(done) == ["ResolutionSubmitted", "TierCopyIssued"]
    copy = done.events[1]
    assert isinstance(copy, TierCopyIssued) and copy.purpose == "archive"
    assert done.changes["copies"] == ["green:resolution"]


def test_manual_dispatch_of_a_triaged_work_order() -> None:
    wo = work_order(state="triaged", lead_unit=None, lead_unit_name=None, route="hotline")
    out = handling.dispatch(wo, WORK_TEAM, lead_unit="339901-urban_management",
                            co_units=["339901-housing_construction"], reason="占道经营属城管", ticket_no=NO,
                            rules=catalogue().tier_rules, directory=directory(), now=NOW)
    assert out.changes["state"] == "dispatched" and out.changes["route"] == "dispatch"
    # two units to coordinate: yellow
    assert out.changes["tier"] == "yellow" and out.changes["co_units"] == ["339901-housing_construction"]
    dispatched = out.events[0]
    assert isinstance(dispatched, TicketDispatched) and dispatched.tier == "yellow" and dispatched.round == 1
    assert out.view == {"ticket_no": NO, "state": "dispatched", "lead_unit": "339901-urban_management",
                        "co_units": ["339901-housing_construction"]}


def test_a_consultation_answered_from_the_knowledge_base_or_in_the_operators_words() -> None:
    wo = work_order(state="awaiting_answer", route="answer", response_level=3, lead_unit=None,
                    suggested_answer="居住证在居住地派出所办理，需身份证、照片和居住证明。",
                    knowledge_id="kb-residence")
    reused = handling.answer(wo, OPERATOR, text=None, ticket_no=NO, now=NOW)
    answered = reused.events[0]
    assert isinstance(answered, TicketAnswered) and answered.knowledge_id == "kb-residence"
    assert reused.changes["response_level"] == 3 and reused.changes["state"] == "answered"
    own = handling.answer(wo, OPERATOR, text="请携带身份证到派出所办理。", ticket_no=NO, now=NOW)
    assert isinstance(own.events[0], TicketAnswered) and own.events[0].knowledge_id is None
    with pytest.raises(Problem) as info:
        handling.answer(work_order(state="awaiting_answer", lead_unit=None), OPERATOR, text=None, ticket_no=NO,
                        now=NOW)
    assert info.value.status == 422 and info.value.extra["errors"][0]["field"] == "answer"


def test_redo_a_new_round_with_the_same_unit_and_a_new_clock() -> None:
    wo = work_order(state="resolved", signed_at=NOW, resolution={"outcome": "resolved"}, urgent=True)
    out = handling.redo(wo, RedoOrdered(reason="回访不满意，主观原因", round=1, ordered_at=NOW), directory=directory(),
                        now=NOW)
    assert out is not None
    assert out.changes["state"] == "dispatched" and out.changes["round"] == 2 and out.changes["urgent"] is False
    reopened, dispatched = out.events
    assert isinstance(reopened, TicketReopened) and reopened.round == 2
    assert isinstance(dispatched, TicketDispatched) and dispatched.round == 2 and not dispatched.redispatch
    assert dispatched.unit_level == 2  # the lead unit's level in the directory
    assert out.log is not None and (out.log.action, out.log.actor, out.log.round) == ("reopen", "oversight", 2)


def test_redo_of_an_earlier_round_is_stale_and_of_an_open_work_order_refused() -> None:
    order = RedoOrdered(reason="x", round=1, ordered_at=NOW)
    assert handling.redo(work_order(state="resolved", round=2), order, directory=directory(), now=NOW) is None
    with pytest.raises(TransitionRefused):
        handling.redo(work_order(state="signed"), order, directory=directory(), now=NOW)


def test_redo_of_an_answer_waits_for_the_work_team() -> None:
    out = handling.redo(work_order(state="answered", lead_unit=None), RedoOrdered(reason="答复不准确", round=1,
                                                                                   ordered_at=NOW),
                        directory=directory(), now=NOW)
    assert out is not None and out.changes["state"] == "triaged" and event_types(out) == ["TicketReopened"]


@pytest.mark.parametrize(("satisfaction", "redo", "closes"), [
    (Satisfaction.satisfied, False, True), (Satisfaction.basically_satisfied, False, True),
    (Satisfaction.unsatisfied, False, False), (Satisfaction.satisfied, True, False)])
def test_a_satisfied_return_visit_closes(satisfaction: Satisfaction, redo: bool, closes: bool) -> None:
    assert handling.closes(ReturnVisitRecorded(satisfaction=satisfaction, redo=redo, visited_at=NOW)) is closes


def test_closing_after_the_visit_of_the_round() -> None:
    visit = ReturnVisitRecorded(satisfaction=Satisfaction.basically_satisfied, round=2, visited_at=NOW)
    out = handling.close_after_visit(work_order(state="resolved", round=2), visit, now=NOW)
    assert out is not None and out.changes["state"] == "closed" and event_types(out) == ["TicketClosed"]
    assert handling.close_after_visit(work_order(state="resolved", round=3), visit, now=NOW) is None
    with pytest.raises(TransitionRefused):
        handling.close_after_visit(work_order(state="dispatched", round=2), visit, now=NOW)


def test_the_work_team_closes_as_ruled() -> None:
    out = handling.close(work_order(state="transferred", lead_unit=None), WORK_TEAM, reason="已转信访程序",
                         ticket_no=NO, now=NOW)
    assert out.changes["state"] == "closed" and out.changes["closed_at"] == NOW


PETITION = Principal(key_id="k-p", name="东湖区信访局", role=Role.unit, unit_code="339901-petition")


def transferred(**over: object) -> WorkOrder:
    return work_order(**{"state": "transferred", "route": "petition", "lead_unit": None, "lead_unit_name": None,
                         "co_units": [], "transfer_unit": "339901-petition", **over})


def test_the_receiving_organ_signs_for_a_transferred_work_order() -> None:
    out = handling.sign(transferred(round=2), PETITION, ticket_no=NO, now=NOW)
    assert out.changes["state"] == "transfer_received" and out.changes["signed_at"] == NOW
    (event,) = out.events
    assert isinstance(event, TicketSigned)
    assert (event.unit, event.via, event.round, event.deemed) == ("339901-petition", "transfer", 2, False)
    assert out.view == {"ticket_no": NO, "state": "transfer_received", "signed_at": NOW,
                        "transfer_unit": "339901-petition"}
    # the work team may record the organ's receipt for it (e.g. confirmed by phone): still the organ's sign
    by_team = handling.sign(transferred(), WORK_TEAM, ticket_no=NO, now=NOW)
    assert isinstance(by_team.events[0], TicketSigned) and by_team.events[0].unit == "339901-petition"
    assert by_team.log is not None and by_team.log.detail == {"unit": "339901-petition"}


def test_no_one_else_signs_for_a_transfer_nor_twice() -> None:
    # another unit does not even see it; the lead unit's sign rules do not apply to a transfer
    with pytest.raises(Problem) as info:
        handling.sign(transferred(), UNIT, ticket_no=NO, now=NOW)
    assert (info.value.status, info.value.type_) == (404, "unknown-ticket")
    # a unit that sees it otherwise (a co-unit of an earlier dispatch) but is not the organ: 403
    with pytest.raises(Problem) as info:
        handling.sign(transferred(co_units=[UNIT.unit_code]), UNIT, ticket_no=NO, now=NOW)
    assert (info.value.status, info.value.type_) == (403, "forbidden")
    assert "receiving organ 339901-petition" in info.value.detail
    # signed already: 409, nothing more to sign
    with pytest.raises(Problem) as info:
        handling.sign(transferred(state="transfer_received"), PETITION, ticket_no=NO, now=NOW)
    assert (info.value.status, info.value.type_) == (409, "invalid-transition")
    assert info.value.extra["allowed_actions"] == ["close", "merge_away", "reclassify", "change_tier"]
    # no organ in the directory: nobody can sign; the work team re-routes or dispatches it
    with pytest.raises(Problem) as info:
        handling.sign(transferred(transfer_unit=None), WORK_TEAM, ticket_no=NO, now=NOW)
    assert (info.value.status, info.value.type_) == (409, "no-receiving-organ")
    # the organ has no say over a dispatched work order
    with pytest.raises(Problem) as info:
        handling.sign(work_order(), PETITION, ticket_no=NO, now=NOW)
    assert info.value.status == 404


def test_a_dispatch_takes_a_transfer_back_from_the_organ() -> None:
    out = handling.dispatch(transferred(), WORK_TEAM, lead_unit="339901-urban_management", co_units=[],
                            reason="非信访事项", ticket_no=NO, rules=catalogue().tier_rules, directory=directory(),
                            now=NOW)
    assert out.changes["state"] == "dispatched" and out.changes["transfer_unit"] is None


def test_a_ticket_merged_by_hand_in_intake_closes_naming_the_other_ticket() -> None:
    from bancheng_shared.contracts.intake import TicketMerged
    from bancheng_shared.contracts.triage import TicketClosed

    merged = TicketMerged(into_ticket_no="BC20250303000009", reason="同一地点同一事项，已有工单在办", by="operator:王",
                          merged_at=NOW)
    for state in ("dispatched", "signed", "awaiting_answer", "transferred"):
        out = handling.merged_away(work_order(state=state), merged, now=NOW)
        assert out.changes["state"] == "closed" and out.changes["closed_at"] == NOW
        [closed] = out.events
        assert isinstance(closed, TicketClosed) and "BC20250303000009" in closed.reason  # sla stops its clocks on it
        assert out.log is not None and out.log.detail == {"into": "BC20250303000009", "by": "operator:王",
                                                          "reason": "同一地点同一事项，已有工单在办"}
    with pytest.raises(TransitionRefused):
        handling.merged_away(work_order(state="closed"), merged, now=NOW)


def test_an_unmerged_repeat_lowers_the_count_to_intakes_and_never_raises_it() -> None:
    from bancheng_shared.contracts.intake import RepeatUnmerged

    def unmerged(count: int) -> RepeatUnmerged:
        return RepeatUnmerged(seq=2, new_ticket_no="BC20250303000010", repeat_count=count, reason="不是同一事项",
                              by="work_team:李", unmerged_at=NOW)

    out = handling.repeat_taken_back(work_order(repeat_count=3, own_repeat_count=3), unmerged(2), now=NOW)
    assert out is not None and out.changes["repeat_count"] == 2 and out.changes["own_repeat_count"] == 2
    assert out.log is not None and out.log.detail is not None and out.log.detail["new_ticket_no"] == "BC20250303000010"
    kept = handling.repeat_taken_back(work_order(repeat_count=3, own_repeat_count=1), unmerged(2), now=NOW)
    assert kept is not None and kept.changes["own_repeat_count"] == 1  # another person's repeat was taken out
    assert handling.repeat_taken_back(work_order(repeat_count=1), unmerged(1), now=NOW) is None  # already there
