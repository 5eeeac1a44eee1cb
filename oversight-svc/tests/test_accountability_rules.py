"""Accountability, pure: a measure recorded or a proposal decided or dismissed once, and the red-track figures
(Hanyang: 32 red tickets investigated, 15 problems solved, 8 people held accountable)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from bancheng_shared.contracts.vocab import AccountabilityMeasure
from bancheng_shared.errors import Problem
from oversight_svc.domain import accountability

UNIT = "339901-market_regulation"
NOW = datetime(2025, 3, 20, 2, 0, tzinfo=UTC)


@dataclass
class Proposal:
    status: str = "proposed"
    record_id: str = "ACC-1"
    unit: str = UNIT
    reason: str | None = "督办函 LTR-1 逾期未回复"
    case_ids: list[str] = field(default_factory=lambda: ["CASE-1"])
    ticket_nos: list[str] = field(default_factory=lambda: ["R1"])


@dataclass
class Decided:
    unit: str
    person_name: str | None
    measure: str | None
    case_ids: list[str] | None = field(default_factory=lambda: ["RED-1"])


def test_a_recorded_measure_needs_known_cases_and_an_offset() -> None:
    d = accountability.record(unit=UNIT, person_name="李四", person_post="窗口负责人",
                              measure=AccountabilityMeasure.criticism, reason_category="乱作为", reason=None,
                              case_ids=["CASE-1"], ticket_nos=[], known_cases={"CASE-1"}, decided_by="test",
                              decided_at=NOW)
    assert d.values["status"] == "decided" and d.unit == UNIT and d.key == d.record_id  # no ticket: the record
    assert d.event is not None and (d.event.measure, d.event.case_ids) == ("criticism", ["CASE-1"])
    for kw, field_ in (({"case_ids": ["CASE-x"]}, "case_ids"), ({"decided_at": datetime(2025, 3, 20)}, "decided_at")):
        args = {"unit": UNIT, "person_name": "李四", "person_post": "窗口负责人", "reason": None,
                "measure": AccountabilityMeasure.criticism, "reason_category": "乱作为", "case_ids": [],
                "ticket_nos": [], "known_cases": {"CASE-1"}, "decided_by": "test", "decided_at": NOW, **kw}
        with pytest.raises(Problem) as e:
            accountability.record(**args)  # type: ignore[arg-type]
        assert e.value.status == 422 and e.value.detail.startswith(field_)


def test_a_proposal_is_decided_or_dismissed_once() -> None:
    d = accountability.decide(Proposal(), dismiss=False, person=("刘洋", "街道政务服务中心负责人"),
                              measure=AccountabilityMeasure.reminder_talk, reason_category="不作为", reason=None,
                              decided_by="第五纪检监察室", now=NOW)
    assert d.values["status"] == "decided" and d.values["reason"] == "督办函 LTR-1 逾期未回复"
    assert d.event is not None and d.key == "R1" and d.event.case_ids == ["CASE-1"]
    dismissed = accountability.decide(Proposal(), dismiss=True, person=None, measure=None, reason_category=None,
                                      reason="已说明客观原因", decided_by="x", now=NOW)
    assert dismissed.event is None and dismissed.values["status"] == "dismissed"
    assert dismissed.values["reason"] == "督办函 LTR-1 逾期未回复 | dismissed: 已说明客观原因"
    with pytest.raises(Problem) as e:
        accountability.decide(Proposal(status="decided"), dismiss=True, person=None, measure=None,
                              reason_category=None, reason=None, decided_by="x", now=NOW)
    assert (e.value.status, e.value.type_) == (409, "invalid-transition")
    with pytest.raises(Problem) as e:
        accountability.decide(Proposal(), dismiss=False, person=None, measure=AccountabilityMeasure.criticism,
                              reason_category="不作为", reason=None, decided_by="x", now=NOW)
    assert (e.value.status, e.value.detail.split(":")[0]) == (422, "person")


def test_hanyang_red_track_figures() -> None:
    # 8 people, one of them with two measures (a person is held accountable once)
    people = [Decided(f"4201{i:02d}-street", f"干部{i}", "reminder_talk") for i in range(8)]
    people.append(Decided("420100-street", "干部0", "criticism"))
    figures = accountability.red_track(investigated=32, solved=15, concluded=20, decided=people, red_cases={"RED-1"})
    assert figures == {"red_tickets_investigated": 32, "problems_solved": 15, "cases_concluded": 20,
                       "people_held_accountable": 8,
                       "accountability_measures": {"criticism": 1, "reminder_talk": 8}}


def test_red_track_counts_people_only_from_red_tickets_cases() -> None:
    # an escalation's case (not red) and a record with no case do not count in the red track
    decided = [Decided("339901-street", "干部甲", "criticism", ["RED-1"]),
               Decided("339901-street", "干部乙", "reminder_talk", ["ESC-7"]),
               Decided("339902-street", "干部丙", "criticism", ["ESC-7", "RED-2"]),
               Decided("339903-street", "干部丁", "admonishment", None)]
    figures = accountability.red_track(investigated=2, solved=1, concluded=1, decided=decided,
                                       red_cases={"RED-1", "RED-2"})
    assert figures["people_held_accountable"] == 2
    assert figures["accountability_measures"] == {"criticism": 2}
