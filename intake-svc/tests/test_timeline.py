"""The timeline rule (pure): how each event about a ticket shows and moves the ticket, which events intake follows,
and the `reported` alert named after the unit the ticket is at when the alert is raised."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bancheng_shared.contracts import REGISTRY, make_event
from bancheng_shared.contracts.intake import TicketReceived
from bancheng_shared.contracts.oversight import HotspotHandedDown, SuggestionAnswered, SuggestionRaised
from bancheng_shared.contracts.sla import AlertRaised, CalendarYearLoaded, ClockStarted
from bancheng_shared.contracts.triage import (
    TicketDispatched,
    TicketSigned,
    TicketTriaged,
    TierChanged,
    TierCopyIssued,
)
from intake_svc.domain import sms, timeline

NOW = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai
DUE = datetime(2026, 11, 30, 15, 59, 59, 999999, tzinfo=UTC)  # end of 2026-11-30, Shanghai: 5 working days


def env(payload: object, ticket_no: str = "BC20261123093000000ABCD", producer: str = "triage-svc"):  # type: ignore[no-untyped-def]
    return make_event(payload, ticket_id=ticket_no, producer=producer, occurred_at=NOW)  # type: ignore[arg-type]


def test_intake_follows_every_event_about_a_ticket_and_not_the_calendar() -> None:
    assert set(timeline.FOLLOWED) == set(REGISTRY.values()) - {
        CalendarYearLoaded, SuggestionRaised, SuggestionAnswered, HotspotHandedDown}
    assert "CalendarYearLoaded" not in timeline.FOLLOWED_TYPES and "AlertRaised" in timeline.FOLLOWED_TYPES


def test_steps_in_chinese_with_the_seed_numbers() -> None:
    triaged = TicketTriaged(category="report", domain="market_supervision", department_kinds=["market_regulation"],
                            tier="red", response_level=1, route="dispatch")
    step = timeline.step_for(triaged)
    assert step == timeline.TimelineStep("已分类：举报，红灯，1 级响应", False, "triaged",
                                         {"tier": "red", "category": "report"})
    clock = ClockStarted(unit="339901-market_regulation", started_at=NOW, working_days=5, resolve_due=DUE,
                         calendar_version="2026-v1")
    step = timeline.step_for(clock)
    assert step is not None and step.label == "办理时限：5 个工作日，截止 2026-11-30T15:59:59.999999Z" and step.public
    unknown_year = ClockStarted(unit="u", started_at=NOW, working_days=10, calendar_version="2026-v1",
                                unknown_year=True)
    step = timeline.step_for(unknown_year)
    assert step is not None and step.label == "办理时限：10 个工作日（日历未覆盖，待定）"
    assert step.changes == {"deadline": None}
    step = timeline.step_for(TicketSigned(unit="u", signed_at=NOW, deemed=True))
    assert step is not None and (step.label, step.status) == ("承办单位已签收（逾期视为签收）", "signed")
    step = timeline.step_for(TierChanged(old_tier="yellow", new_tier="red", reason="同一诉求人临近时限重复反映",
                                         automatic=True, changed_at=NOW))
    assert step is not None and step.label == "调整为红灯：同一诉求人临近时限重复反映" and not step.public
    step = timeline.step_for(AlertRaised(level="urgent", unit="u", raised_at=NOW))
    assert step is not None and (step.label, step.changes) == ("预警：紧急", {"alert_level": "urgent"})


def test_intake_s_own_and_bookkeeping_events_do_not_show() -> None:
    received = TicketReceived(channel="hotline", content="路灯不亮", received_at=NOW)
    copy = TierCopyIssued(tier="green", purpose="archive", to_kinds=["business_environment"], reason="办结归档",
                          issued_at=NOW)
    assert timeline.step_for(received) is None and timeline.step_for(copy) is None
    assert timeline.received_label("mailbox") == "已受理（县长信箱）"
    assert timeline.repeat_label(False, 2) == "收到重复诉求（其他群众，第 2 次，已并单）"


def test_a_run_of_events_projects_as_its_events_one_by_one() -> None:
    no = "BC20261123093000000ABCD"
    run = [
        TicketDispatched(lead_unit="U1", lead_unit_name="东湖区市场监管局", unit_level=2, tier="yellow",
                         response_level=2, dispatched_at=NOW),
        AlertRaised(level="reported", unit="U1", raised_at=NOW),
        TicketDispatched(lead_unit="U2", lead_unit_name="东湖区城管局", unit_level=2, tier="red", response_level=1,
                         dispatched_at=NOW, redispatch=True),
        AlertRaised(level="reported", unit="U2", raised_at=NOW + timedelta(seconds=1)),
    ]
    events = [(env(p, no), p) for p in run]
    together = timeline.project(events)
    assert [s["label"] for s in together.steps] == [
        "已交办至 东湖区市场监管局", "预警：已报到", "已交办至 东湖区城管局", "预警：已报到"]
    assert together.changes[no] == {"unit": "U2", "unit_name": "东湖区城管局", "tier": "red", "status": "dispatched",
                                    "status_label": "已交办", "alert_level": "reported"}
    assert [(a.unit, a.unit_name) for a in together.alerts] == [("U1", "东湖区市场监管局"), ("U2", "东湖区城管局")]
    # alone, an alert does not know the unit's name: the one stored is used
    alone = timeline.project(events[1:2])
    assert [(a.unit, a.unit_name) for a in alone.alerts] == [("U1", None)]
    one_by_one = [timeline.project([e]) for e in events]
    assert [s for p in one_by_one for s in p.steps] == together.steps


def test_an_organ_signing_for_a_transfer_keeps_the_ticket_transferred_and_flags_say_why() -> None:
    from bancheng_shared.contracts.sla import ClockFlagged

    step = timeline.step_for(TicketSigned(unit="339901-petition", signed_at=NOW, via="transfer"))
    # not the unit's signing: the ticket stays with the petition procedure (closed for merging), not 办理中
    assert step is not None and (step.label, step.status, step.public) == ("接收机关已签收转办事项", None, True)
    no_organ = timeline.step_for(ClockFlagged(unit="", reason="no receiving organ for the transfer", at=NOW))
    assert no_organ is not None and no_organ.label == "办理时限待定：no receiving organ for the transfer"
    calendar = timeline.step_for(ClockFlagged(unit="u", reason="year", at=NOW, years_missing=[2027]))
    assert calendar is not None and calendar.label == "办理时限待定（工作日历未覆盖）"


def test_each_dispatched_unit_gets_the_number_its_last_dispatch_carried_and_none_without() -> None:
    no = "BC20261123093000000ABCD"
    first = TicketDispatched(lead_unit="339901-education", lead_unit_name="东湖区教育局", co_units=["339901-health"],
                             unit_level=2, tier="green", response_level=2, dispatched_at=NOW,
                             unit_contacts={"339901-health": "13900007777"})
    again = TicketDispatched(lead_unit="339902-education", lead_unit_name="西岭区教育局", unit_level=2, tier="green",
                             response_level=2, round=2, redispatch=True, dispatched_at=NOW,
                             unit_contacts={"339902-education": "18612340000"})
    out = timeline.project([(env(first), first), (env(again), again)])
    assert out.contacts == {(no, "339901-education"): None, (no, "339901-health"): "13900007777",
                            (no, "339902-education"): "18612340000"}
    assert sms.unit_status("pending", has_number=True) == ("pending", None)
    assert sms.unit_status("recorded", has_number=False) == ("no_recipient", sms.NO_RECIPIENT_REASON)
