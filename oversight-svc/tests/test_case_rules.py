"""Supervision cases, pure: a red ticket opens one case (triaged red, turned red, copied for supervision),
escalations join it, and the red ticket track as one state machine with what each step changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from bancheng_shared.contracts.oversight import CaseConcluded, CaseRaised, CaseStepRecorded
from bancheng_shared.errors import Problem
from bancheng_shared.principal import Principal, Role
from oversight_svc.domain import cases, letters

UNIT = "339901-market_regulation"
NOW = datetime(2025, 3, 10, 2, 0, tzinfo=UTC)
INSPECTOR = Principal("k1", "第五纪检监察室", Role.inspector)
THE_UNIT = Principal("k2", "东湖区市场监管局", Role.unit, UNIT)
OTHER_UNIT = Principal("k3", "西湖区市场监管局", Role.unit, "339902-market_regulation")


@dataclass
class Open:
    case_id: str
    sources: list[str]
    red: bool


@dataclass
class Ticket:
    lead_unit: str | None
    title: str | None


@dataclass
class Case:
    state: str
    case_id: str = "CASE-1"
    informant: str | None = None
    result: str | None = None
    concluded_at: datetime | None = None


@dataclass
class Letter:
    due_at: datetime
    replied_at: datetime | None = None
    overdue: bool = False
    letter_id: str = "LTR-1"
    case_id: str = "CASE-1"
    unit: str = UNIT


def test_a_red_ticket_opens_a_case_however_it_turned_red() -> None:
    for call in (cases.red_ticket_call(tier="red"), cases.red_ticket_call(copy_purpose="supervision")):
        assert call == cases.CaseCall(source="red_ticket", red=True)
    assert cases.red_ticket_call(tier="yellow") is None
    assert cases.red_ticket_call(copy_purpose="joint_scheduling") is None
    assert cases.red_ticket_call(tier="red", open_for_red=False) is None  # a setting turns it off


def test_the_case_is_titled_by_the_ticket_and_names_its_lead_unit() -> None:
    red = cases.CaseCall(source="red_ticket", red=True)
    new = cases.case_for_ticket(None, red, ticket_no="R1", at=NOW, ticket=Ticket(UNIT, "超市卖过期食品，监管所不作为"))
    assert isinstance(new, cases.NewCase)
    assert new.title == "红灯诉求件 red ticket R1: 超市卖过期食品，监管所不作为"
    assert (new.unit_codes, new.ticket_nos, new.red, new.key) == ([UNIT], ["R1"], True, "R1")
    assert new.row()["state"] == "opened" and new.row()["sources"] == ["red_ticket"]
    ev = new.event()
    assert (ev.case_id, ev.source, ev.units, ev.ticket_nos) == (new.case_id, "red_ticket", [UNIT], ["R1"])
    # before triage's dispatch the ticket has no unit yet
    early = cases.case_for_ticket(None, red, ticket_no="R2", ticket=None, at=NOW)
    assert isinstance(early, cases.NewCase) and early.unit_codes == [] and early.title == "红灯诉求件 red ticket R2"


def test_one_open_case_per_ticket_sources_accumulate() -> None:
    call = cases.escalation_call(unit=UNIT, reason="催办后仍未办结")
    assert call is not None
    joined = cases.case_for_ticket(Open("CASE-1", ["red_ticket"], True), call, ticket_no="R1", ticket=None, at=NOW)
    assert joined == cases.JoinCase("CASE-1", {"updated_at": NOW, "sources": ["red_ticket", "escalation"]}, UNIT)
    again = cases.case_for_ticket(Open("CASE-1", ["escalation"], False), cases.CaseCall("red_ticket", True),
                                  ticket_no="R1", ticket=None, at=NOW)
    assert again == cases.JoinCase("CASE-1", {"updated_at": NOW, "sources": ["escalation", "red_ticket"],
                                              "red": True}, None)
    new = cases.case_for_ticket(None, call, ticket_no="E1", ticket=Ticket("other", None), at=NOW)
    assert isinstance(new, cases.NewCase)
    assert (new.title, new.unit_codes, new.red, new.summary) == ("督办 escalation E1", [UNIT], False, "催办后仍未办结")
    assert cases.escalation_call(unit=UNIT, reason=None, open_for_escalation=False) is None


def test_supervisors_of_the_red_copy_are_added_once() -> None:
    assert cases.supervisors_added(None, None, ["discipline", "business_environment"], ["B", "A"]) == (
        ["business_environment", "discipline"], ["A", "B"])
    assert cases.supervisors_added(["business_environment", "discipline"], ["A"], ["discipline"], ["A"]) is None


def test_the_red_ticket_track_step_by_step() -> None:
    path = [("opened", "register", "registered"), ("registered", "investigate", "investigating"),
            ("investigating", "send_letter", "letter_sent"), ("letter_sent", "reply", "replied"),
            ("replied", "return_visit", "visited"), ("visited", "order_redo", "redo"),
            ("redo", "send_letter", "letter_sent"), ("letter_sent", "reply", "replied"),
            ("replied", "return_visit", "visited"), ("visited", "conclude", "concluded"),
            ("concluded", "publish", "concluded")]
    for state, action, after in path:
        assert cases.next_state(state, action) == after
    assert "conclude" not in cases.TRANSITIONS["replied"]  # every path to concluded passes a return visit
    with pytest.raises(cases.TransitionError) as e:
        cases.next_state("opened", "conclude")
    assert (e.value.status, e.value.type_, e.value.extra) == (
        409, "invalid-transition", {"state": "opened", "allowed_actions": ["register"]})


def test_what_the_steps_change() -> None:
    st = cases.register(Case("opened"), inspector=None, notes="登记", who=INSPECTOR, now=NOW)
    assert st.values == {"state": "registered", "updated_at": NOW, "registered_at": NOW, "inspector": "第五纪检监察室"}
    assert st.document == {"inspector": "第五纪检监察室", "notes": "登记"}
    assert isinstance(st.event, CaseStepRecorded) and (st.event.step, st.event.state) == ("register", "registered")

    st, orders = cases.order_redo(Case("visited"), reason="整改不到位：邮寄点未公示", now=NOW,
                                  tickets=[("R1", 1, UNIT), ("R2", 2, None)])
    assert st.state == "redo" and st.document == {"reason": "整改不到位：邮寄点未公示", "ticket_nos": ["R1", "R2"]}
    assert [(no, o.round, o.unit, o.case_id) for no, o in orders] == [("R1", 1, UNIT, "CASE-1"),
                                                                       ("R2", 2, None, "CASE-1")]

    st = cases.conclude(Case("visited"), result="已设置寄送服务点", solved=True, findings=None, unit_codes=[UNIT],
                        now=NOW)
    assert st.document["sent_to"] == ["hotline_center", UNIT] and st.values["solved"] is True
    assert isinstance(st.event, CaseConcluded) and st.event.units == [UNIT]
    pub = cases.publish(Case("concluded"), now=NOW)
    assert (pub.state, pub.document, pub.event) == ("concluded", {"published": True}, None)


def test_the_scope_of_a_unit_key() -> None:
    cases.check_scope(THE_UNIT, [UNIT])
    cases.check_scope(INSPECTOR, [])
    with pytest.raises(Problem) as e:
        cases.check_scope(OTHER_UNIT, [UNIT])
    assert e.value.status == 404  # not 403: a unit must not learn that cases about others exist


def test_letters_reply_once_by_the_addressed_unit_late_after_the_due_date() -> None:
    due = NOW + timedelta(days=7)
    st, answer = letters.reply(Case("letter_sent"), Letter(due), letter_id="LTR-1", who=THE_UNIT, content="已整改",
                               measures=["公示邮寄电话"], now=NOW)
    assert answer == {"content": "已整改", "measures": ["公示邮寄电话"], "late": False}
    assert st.state == "replied" and st.document == {"letter_id": "LTR-1", **answer}
    _, late = letters.reply(Case("letter_sent"), Letter(due, overdue=True), letter_id="LTR-1", who=THE_UNIT,
                            content="已整改", measures=[], now=NOW)
    assert late["late"] is True  # the overdue check raised it already
    for letter, who, status in ((None, THE_UNIT, 404), (Letter(due), OTHER_UNIT, 403),
                                (Letter(due, replied_at=NOW), THE_UNIT, 409)):
        with pytest.raises(Problem) as e:
            letters.reply(Case("letter_sent"), letter, letter_id="LTR-1", who=who, content="x", measures=[], now=NOW)
        assert e.value.status == status
    with pytest.raises(cases.TransitionError):  # the state is judged first
        letters.reply(Case("replied"), None, letter_id="LTR-x", who=THE_UNIT, content="x", measures=[], now=NOW)


def test_an_unanswered_letter_raises_the_case_and_proposes_accountability() -> None:
    due = NOW - timedelta(seconds=1)
    out = letters.unanswered(Letter(due), ticket_nos=["R1"], now=NOW)
    assert out.record["status"] == "proposed" and out.record["reason_category"] == "慢作为"
    assert (out.record["unit"], out.record["case_ids"], out.record["ticket_nos"]) == (UNIT, ["CASE-1"], ["R1"])
    assert out.document["accountability_proposed"] == out.record["record_id"]
    assert isinstance(out.event, CaseRaised) and out.event.accountability_id == out.record["record_id"]


def test_a_case_title_fits_what_consumers_store() -> None:
    from bancheng_shared.contracts.limits import TITLE_MAX

    new = cases.case_for_ticket(None, cases.CaseCall(source=cases.RED_TICKET, red=True), ticket_no="T" * 40,
                                ticket=Ticket(UNIT, "长" * TITLE_MAX), at=NOW)
    assert isinstance(new, cases.NewCase) and len(new.title) == TITLE_MAX and new.event().title == new.title
    assert new.title.startswith("红灯诉求件 red ticket " + "T" * 40 + ": 长")


def test_what_a_unit_sees_of_a_case_naming_it() -> None:
    mine = {"LTR-1"}
    for kind in ("opened", "order_redo", "conclude", "publish"):
        assert cases.unit_sees(kind, {}, mine)
    for kind in ("send_letter", "reply", "letter_overdue"):  # its own letters only
        assert cases.unit_sees(kind, {"letter_id": "LTR-1"}, mine)
        assert not cases.unit_sees(kind, {"letter_id": "LTR-2"}, mine)
    for kind in ("register", "investigate", "return_visit", "supervision_copy"):  # the supervisors' own record
        assert not cases.unit_sees(kind, {"letter_id": "LTR-1"}, mine)
