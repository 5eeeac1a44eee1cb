"""The return window (申请退回) and the work team's ruling (pure).

The window is open while the unit has not signed and sla has not deemed it signed (sla's DeemedSigned comes 2
working days after delivery: 逾期视为签收), and for 2 working days after signing (签收后2个工作日内), counted on the
working-day calendar (holidays skipped, 调休 Sundays counted), until the end of the last day in Shanghai.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from triage_helpers import NOW, OTHER_UNIT, UNIT, UNIT_CODE, WORK_TEAM, catalogue, directory, event_types, work_order

from bancheng_shared.calendar import WorkingCalendar, YearCalendar
from bancheng_shared.contracts.sla import DeemedSigned
from bancheng_shared.contracts.triage import ReturnDecided, TicketDispatched, TicketSigned
from bancheng_shared.errors import Problem
from triage_svc.domain import handling, returns
from triage_svc.domain.lifecycle import TransitionRefused
from triage_svc.domain.work_order import Outcome
from triage_svc.settings import TriageSettings

NO = "BC20250303000001"
# 2025 as published: 劳动节 1-5 May off, Sunday 27 April worked (调休); 2026 with its New Year's Day
CALENDAR = WorkingCalendar([
    YearCalendar(2025, holidays={date(2025, 5, d): "劳动节" for d in range(1, 6)},
                 workdays={date(2025, 4, 27): "调休"}),
    YearCalendar(2026, holidays={date(2026, 1, 1): "元旦"}),
])
DAYS = TriageSettings().return_after_signing_working_days


def local(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    """A Shanghai wall-clock time, in UTC."""
    return datetime(y, m, d, hh, mm, tzinfo=UTC) - timedelta(hours=8)


def ask(state: str = "dispatched", now: datetime = NOW, **over: object) -> Outcome:
    return returns.request_return(work_order(state=state, **over), UNIT, reason="商家在西岭区，不属本区管辖",
                                  basis="属地管辖原则", ticket_no=NO, now=now, calendar=CALENDAR, window_days=DAYS)


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


@pytest.mark.parametrize("state", ["in_progress", "resolved", "return_requested"])
def test_the_window_is_closed_once_at_work_or_asked(state: str) -> None:
    with pytest.raises(Problem) as info:
        ask(state, signed_at=NOW)
    assert info.value.status == 409 and info.value.extra["state"] == state


def test_only_the_lead_unit_asks() -> None:
    with pytest.raises(Problem) as info:
        returns.request_return(work_order(), OTHER_UNIT, reason="不属于", basis="三定方案", ticket_no=NO, now=NOW,
                               calendar=CALENDAR, window_days=DAYS)
    assert info.value.status == 404  # another unit does not even see it


def test_the_setting_is_two_working_days_after_signing() -> None:
    assert DAYS == 2


def test_signing_leaves_the_window_open_two_working_days() -> None:
    signed = handling.sign(work_order(), UNIT, ticket_no=NO, now=NOW)  # Monday 3 March, 09:30
    assert signed.changes["state"] == "signed"
    for now in (NOW, local(2025, 3, 4), local(2025, 3, 5, 23, 59)):  # Monday to the end of Wednesday
        out = ask("signed", now, signed_at=signed.changes["signed_at"])
        assert out.changes["state"] == "return_requested" and event_types(out) == ["ReturnRequested"]
    for now in (local(2025, 3, 6, 0, 0), local(2025, 3, 10)):  # Thursday on
        with pytest.raises(Problem) as info:
            ask("signed", now, signed_at=NOW)
        assert info.value.status == 409 and info.value.type_ == "return-window-closed"
        assert "2025-03-05" in info.value.detail


@pytest.mark.parametrize(("signed", "last"), [
    (local(2025, 4, 30, 16), date(2025, 5, 7)),  # before 劳动节: the holiday is skipped
    (local(2025, 4, 25, 17), date(2025, 4, 28)),  # Friday: the 调休 Sunday 27 April counts
    (local(2025, 3, 7, 23, 30), date(2025, 3, 11)),  # Friday late evening in Shanghai (15:30 UTC)
    (local(2025, 3, 8, 1), date(2025, 3, 11)),  # signed on a Saturday (Friday 17:00 UTC)
    (local(2025, 12, 30), date(2026, 1, 2)),  # over the year's end and 元旦
])
def test_the_window_counts_working_days_on_the_calendar(signed: datetime, last: date) -> None:
    assert returns.last_day_after_signing(signed, CALENDAR, DAYS) == last
    ask("signed", local(last.year, last.month, last.day, 23, 59), signed_at=signed)
    after = last + timedelta(days=1)
    with pytest.raises(Problem):
        ask("signed", local(after.year, after.month, after.day, 0, 1), signed_at=signed)


def test_deemed_signing_or_a_rejected_request_closes_the_window() -> None:
    with pytest.raises(Problem) as info:
        ask("signed", NOW, signed_at=NOW, deemed_signed=True)
    assert "逾期视为签收" in info.value.detail
    with pytest.raises(Problem) as info:
        ask("signed", NOW, signed_at=NOW, return_request={"round": 1, "decision": "rejected"})
    assert info.value.type_ == "return-window-closed"
    ask("signed", NOW, signed_at=NOW, round=2, return_request={"round": 1, "decision": "rejected"})


def test_a_year_the_calendar_does_not_know_is_said_not_guessed() -> None:
    with pytest.raises(Problem) as info:
        ask("signed", local(2026, 12, 31), signed_at=local(2026, 12, 30))
    assert info.value.type_ == "calendar-unknown-year"


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
    # a unit that had signed keeps its signing time
    assert rule(approved=False, signed_at=NOW - timedelta(days=1)).changes["signed_at"] == NOW - timedelta(days=1)
    assert out.changes["return_request"]["decision"] == "rejected"
    decided, signed = out.events
    assert isinstance(decided, ReturnDecided) and not decided.approved
    assert isinstance(signed, TicketSigned) and signed.deemed and signed.via == "return_rejected"


def test_only_the_work_team_rules_when_asked() -> None:
    with pytest.raises(Problem) as info:
        returns.decide_return(work_order(), WORK_TEAM, approved=True, reason="x", new_unit=None, co_units=[],
                              ticket_no=NO, rules=catalogue().tier_rules, directory=directory(), now=NOW)
    assert info.value.status == 409 and info.value.extra["allowed_actions"] == [
        "sign", "deem_signed", "request_return", "merge_away", "reclassify", "change_tier"]
