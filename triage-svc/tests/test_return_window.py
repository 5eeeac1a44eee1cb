"""The return window (申请退回) and the work team's ruling (pure).

The window is open while the unit has not signed and sla has not deemed it signed (sla's DeemedSigned comes 2
working days after delivery: 签收后2个工作日内, 逾期视为签收).
"""

from __future__ import annotations

import pytest
from triage_helpers import NOW, OTHER_UNIT, UNIT, UNIT_CODE, WORK_TEAM, catalogue, directory, event_types, work_order

from bancheng_shared.contracts.sla import DeemedSigned
from bancheng_shared.contracts.triage import ReturnDecided, TicketDispatched, TicketSigned
from bancheng_shared.errors import Problem
from triage_svc.domain import handling, returns
from triage_svc.domain.lifecycle import TransitionRefused
from triage_svc.domain.work_order import Outcome
from triage_svc.settings import TriageSettings

NO = "BC20250303000001"


def ask(state: str = "dispatched") -> Outcome:
    return returns.request_return(work_order(state=state), UNIT, reason="商家在西岭区，不属本区管辖",
                                  basis="属地管辖原则", ticket_no=NO, now=NOW)


def rule(approved: bool, **over: object) -> Outcome:
    wo = work_order(state="return_requested", return_request={"unit": UNIT_CODE, "reason": "商家在西岭区"}, **over)
    return returns.decide_return(wo, WORK_TEAM, approved=approved, reason="经核实商家位于西岭区",
                                 new_unit="339902-market_regulation" if approved else None, co_units=[],
                                 ticket_no=NO, rules=catalogue().tier_rules, directory=directory(), now=NOW)


def test_the_window_is_two_working_days_run_by_sla() -> None:
    assert TriageSettings().return_window_working_days == 2


def test_the_lead_unit_may_ask_while_the_work_order_is_dispatched() -> None:
    out = ask()
    assert out.changes["state"] == "return_requested"
    assert out.changes["return_request"] == {"unit": UNIT_CODE, "reason": "商家在西岭区，不属本区管辖",
                                             "basis": "属地管辖原则", "requested_at": NOW.isoformat(), "round": 1}
    assert event_types(out) == ["ReturnRequested"]


@pytest.mark.parametrize("state", ["signed", "in_progress", "resolved", "return_requested"])
def test_the_window_is_closed_once_signed_or_deemed_signed(state: str) -> None:
    with pytest.raises(Problem) as info:
        ask(state)
    assert info.value.status == 409 and info.value.extra["state"] == state


def test_only_the_lead_unit_asks() -> None:
    with pytest.raises(Problem) as info:
        returns.request_return(work_order(), OTHER_UNIT, reason="不属于", basis="三定方案", ticket_no=NO, now=NOW)
    assert info.value.status == 404  # another unit does not even see it


def test_signing_closes_the_window() -> None:
    signed = handling.sign(work_order(), UNIT, ticket_no=NO, now=NOW)
    assert signed.changes["state"] == "signed"
    with pytest.raises(Problem):
        ask(signed.changes["state"])


def test_deemed_signed_closes_the_window() -> None:
    out = returns.deem_signed(work_order(), DeemedSigned(unit=UNIT_CODE, at=NOW, round=1), now=NOW)
    assert out is not None and out.changes["state"] == "signed" and out.changes["deemed_signed"] is True
    signed = out.events[0]
    assert isinstance(signed, TicketSigned) and signed.deemed and signed.via == "deemed"
    assert out.log is not None and (out.log.action, out.log.actor) == ("deem_signed", "sla")


def test_a_request_asked_in_time_is_still_ruled_on_after_the_window() -> None:
    out = returns.deem_signed(work_order(state="return_requested"), DeemedSigned(unit=UNIT_CODE, at=NOW, round=1),
                              now=NOW)
    assert out is not None and out.changes == {"deemed_signed": True, "updated_at": NOW}
    assert out.events == [] and out.log is None


def test_deemed_signed_of_another_unit_or_round_or_a_later_state() -> None:
    assert returns.deem_signed(work_order(), DeemedSigned(unit="339902-market_regulation", at=NOW, round=1),
                               now=NOW) is None
    assert returns.deem_signed(work_order(round=2), DeemedSigned(unit=UNIT_CODE, at=NOW, round=1), now=NOW) is None
    with pytest.raises(TransitionRefused):
        returns.deem_signed(work_order(state="signed"), DeemedSigned(unit=UNIT_CODE, at=NOW, round=1), now=NOW)


def test_approved_the_work_order_goes_to_the_new_unit_in_a_new_round() -> None:
    out = rule(approved=True)
    assert out.changes["state"] == "dispatched" and out.changes["round"] == 2 and out.changes["returns_count"] == 1
    assert out.changes["lead_unit"] == "339902-market_regulation" and out.changes["signed_at"] is None
    decided, dispatched = out.events
    assert isinstance(decided, ReturnDecided) and decided.approved and decided.round == 1
    assert isinstance(dispatched, TicketDispatched) and dispatched.redispatch and dispatched.round == 2
    assert out.view == {"ticket_no": NO, "state": "dispatched", "decision": "approved",
                        "new_unit": "339902-market_regulation", "round": 2}
    assert out.log is not None and out.log.round == 2


def test_returned_twice_turns_yellow() -> None:
    out = rule(approved=True, returns_count=1)
    assert out.changes["returns_count"] == 2 and out.changes["tier"] == "yellow"
    assert event_types(out) == ["ReturnDecided", "TicketDispatched", "TierChanged", "TierCopyIssued"]


def test_rejected_the_unit_goes_on_counted_as_signed() -> None:
    out = rule(approved=False)
    assert out.changes["state"] == "signed" and out.changes["signed_at"] == NOW
    assert out.changes["return_request"]["decision"] == "rejected"
    decided, signed = out.events
    assert isinstance(decided, ReturnDecided) and not decided.approved
    assert isinstance(signed, TicketSigned) and signed.deemed and signed.via == "return_rejected"


def test_only_the_work_team_rules_when_asked() -> None:
    with pytest.raises(Problem) as info:
        returns.decide_return(work_order(), WORK_TEAM, approved=True, reason="x", new_unit=None, co_units=[],
                              ticket_no=NO, rules=catalogue().tier_rules, directory=directory(), now=NOW)
    assert info.value.status == 409 and info.value.extra["allowed_actions"] == [
        "sign", "deem_signed", "request_return", "reclassify", "change_tier"]
