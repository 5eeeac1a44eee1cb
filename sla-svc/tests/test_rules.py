"""sla's rules without a database: the alert ladder on the seed's numbers (Chongqing: warning after 2 working days
unsigned, urgent 2 working days before the deadline, alarm and urge when overdue, supervision 3 working days after
the urge), a round's clocks, extensions (once per round, 1..5 working days, before the deadline) and pauses."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bancheng_shared.calendar import seed_years
from bancheng_shared.contracts.sla import AlertRaised, ClockStarted, DeemedSigned, EscalatedToSupervision, UrgeIssued
from bancheng_shared.contracts.triage import TicketDispatched
from bancheng_shared.contracts.vocab import Tier
from bancheng_shared.errors import Problem
from sla_svc.domain import CalendarBook, Policy, extensions, pauses, rounds
from sla_svc.domain.ladder import Fired, fire, level_after_move, move_deadline, plan_timers

SH = ZoneInfo("Asia/Shanghai")
BOOK = CalendarBook(seed_years([2026]), tz=SH)
POLICY = Policy(tz=SH)  # the seed's numbers: accept 2, resolve 5 (complex 10, answer 1), urgent 2, escalate 3


def at(s: str) -> datetime:
    return datetime.fromisoformat(s).replace(tzinfo=SH)


def start(when: str = "2026-11-02 10:00", **kw: Any) -> dict[str, Any]:
    """A round started on Monday 2 November 2026 (no holiday in the next weeks)."""
    args: dict[str, Any] = {"ticket_no": "T1", "round_": 1, "unit": "339901-urban_management",
                            "region_code": "339901001", "complex_": False, "response_level": 2,
                            "started_at": at(when), "existing": None, "now": at(when), "book": BOOK,
                            "policy": POLICY}
    args.update(kw)
    c = rounds.start_round(**args).clock
    c["gen"] = 1
    return c


def test_a_dispatch_starts_a_five_working_day_clock_with_its_ladder() -> None:
    started = rounds.start_round(ticket_no="T1", round_=1, unit="U", region_code=None, complex_=False,
                                 response_level=2, started_at=at("2026-11-02 10:00"), existing=None,
                                 now=at("2026-11-02 10:00"), book=BOOK, policy=POLICY)
    c = started.clock
    # day of dispatch not counted: Tue 3 .. Mon 9 November are the five working days
    assert c["resolve_due"] == at("2026-11-09 23:59:59.999999")
    assert c["accept_due"] == at("2026-11-04 23:59:59.999999")  # two working days to sign or ask to return
    assert c["urgent_from"] == at("2026-11-06 00:00")  # from the working day on which 2 remain (Fri, Mon)
    assert [type(e) for e in started.events] == [ClockStarted, AlertRaised]
    assert started.alert["level"] == "reported" and started.events[1].level == "reported"
    assert plan_timers(BOOK, POLICY, c) == [("accept", at("2026-11-05 00:00")), ("urgent", at("2026-11-06 00:00")),
                                            ("alarm", at("2026-11-10 00:00"))]


@pytest.mark.parametrize(("complex_", "level", "due"), [
    (False, 2, "2026-11-09"),  # ordinary: 5 working days
    (True, 2, "2026-11-16"),  # complex: 10
    (False, 1, "2026-11-16"),  # difficult (一事一议): 10
    (False, 3, "2026-11-03"),  # simple, answered online: 1
])
def test_the_limit_follows_the_response_level(complex_: bool, level: int, due: str) -> None:
    c = start(complex_=complex_, response_level=level)
    assert c["resolve_due_date"].isoformat() == due


def test_the_ladder_fires_warning_urgent_alarm_urge_and_escalation_in_turn() -> None:
    c = start()
    out = Fired()
    assert fire(c, "accept", at("2026-11-05 00:00"), now=at("2026-11-05 00:00"), book=BOOK, policy=POLICY, out=out)
    assert c["signed"] and c["deemed_signed"] and c["alert_level"] == "warning"
    assert [type(e) for _, e in out.events] == [AlertRaised, DeemedSigned]
    assert fire(c, "urgent", at("2026-11-06 00:00"), now=at("2026-11-06 00:00"), book=BOOK, policy=POLICY, out=out)
    assert c["alert_level"] == "urgent"
    assert fire(c, "alarm", at("2026-11-10 00:00"), now=at("2026-11-10 00:00"), book=BOOK, policy=POLICY, out=out)
    assert c["alert_level"] == "alarm" and c["urged_at"] == at("2026-11-10 00:00")
    assert isinstance(out.events[-1][1], UrgeIssued)
    # supervision 3 working days after the urge of Tuesday 10 November: the end of Friday 13th
    assert [(t["kind"], t["due_at"]) for t in out.timers] == [("escalate", at("2026-11-14 00:00"))]
    assert fire(c, "escalate", at("2026-11-14 00:00"), now=at("2026-11-14 00:00"), book=BOOK, policy=POLICY,
                out=out)
    assert isinstance(out.events[-1][1], EscalatedToSupervision) and c["escalated_at"] == at("2026-11-14 00:00")
    assert [r["level"] for r in out.alerts] == ["warning", "urgent", "alarm"]
    # each step fires once
    for kind in ("accept", "urgent", "alarm", "escalate"):
        assert not fire(c, kind, at("2026-11-20 00:00"), now=at("2026-11-20 00:00"), book=BOOK, policy=POLICY,
                        out=Fired())


def test_a_signed_or_returning_clock_is_not_deemed_signed() -> None:
    signed, returning = start(), start()
    assert rounds.sign(signed, "339901-urban_management")
    assert rounds.ask_return(returning, "339901-urban_management")
    for c in (signed, returning):
        assert not fire(c, "accept", at("2026-11-05 00:00"), now=at("2026-11-05 00:00"), book=BOOK, policy=POLICY,
                        out=Fired())
        assert [k for k, _ in plan_timers(BOOK, POLICY, c)] == ["urgent", "alarm"]
    assert not rounds.ask_return(signed, "339901-urban_management")  # today: only before signing
    assert not rounds.sign(start(), "339902-other_unit")  # another unit's signature changes nothing


def test_a_paused_clock_raises_nothing_but_the_acceptance_step() -> None:
    c = start()
    c.update(state="paused", paused_at=at("2026-11-03 10:00"))
    assert [k for k, _ in plan_timers(BOOK, POLICY, c)] == ["accept"]
    assert not fire(c, "alarm", at("2026-11-10 00:00"), now=at("2026-11-10 00:00"), book=BOOK, policy=POLICY,
                    out=Fired())


def dispatch(round_: int = 1, unit: str = "339901-urban_management", redispatch: bool = False,
             when: str = "2026-11-02 10:00") -> TicketDispatched:
    return TicketDispatched(lead_unit=unit, lead_unit_name=unit, unit_level=2, tier=Tier.green, response_level=2,
                            round=round_, redispatch=redispatch, dispatched_at=at(when))


def test_what_a_dispatch_does_to_the_clocks() -> None:
    c = start()
    assert rounds.on_dispatch(None, dispatch()) == "start"
    assert rounds.on_dispatch(c, dispatch(round_=2)) == "start"  # a redo round
    assert rounds.on_dispatch(c, dispatch()) == "ignore"  # the same dispatch delivered twice
    assert rounds.on_dispatch({**c, "round": 2}, dispatch()) == "ignore"  # a stale round
    assert rounds.on_dispatch(c, dispatch(unit="339901-market_regulation", redispatch=True,
                                          when="2026-11-03 09:00")) == "restart"  # re-dispatched to another unit
    assert rounds.on_dispatch({**c, "state": "resolved"}, dispatch(unit="X", redispatch=True)) == "ignore"


def test_a_resolution_stops_the_clock_and_the_return_visit_falls_due_three_working_days_later() -> None:
    c = start()
    stopped, due = rounds.resolve(c, at("2026-11-06 16:00"), book=BOOK, policy=POLICY)
    assert c["state"] == "resolved" and stopped.met_deadline is True
    assert due.due_date is not None and due.due_date.isoformat() == "2026-11-11"  # Mon 9, Tue 10, Wed 11


def test_an_extension_is_1_to_5_working_days() -> None:
    for days in (0, 6, -1):
        with pytest.raises(Problem) as e:
            extensions.check_days(days, POLICY.max_extension_days)
        assert e.value.status == 422 and e.value.extra["errors"][0]["field"] == "days"
    for days in (1, 5):
        extensions.check_days(days, POLICY.max_extension_days)


def test_an_extension_is_asked_once_per_round_before_the_deadline_while_the_clock_runs() -> None:
    c = start()
    extensions.check_request(c, now=at("2026-11-09 23:00"), prior=None, tz=SH)  # the last day: still in time
    cases = [
        (c, at("2026-11-10 00:00"), None, "deadline-passed"),
        (c, at("2026-11-04 10:00"), {"id": "r1", "state": "rejected"}, "extension-already-requested"),
        ({**c, "state": "resolved"}, at("2026-11-04 10:00"), None, "clock-not-running"),
        ({**c, "resolve_due": None}, at("2026-11-04 10:00"), None, "deadline-unknown"),
    ]
    for clock, now, prior, slug in cases:
        with pytest.raises(Problem) as e:
            extensions.check_request(clock, now=now, prior=prior, tz=SH)
        assert (e.value.status, e.value.type_) == (409, slug)


def test_an_extension_is_ruled_on_once_and_approved_only_while_the_unit_still_has_it() -> None:
    c = start()
    pending = {"id": "r1", "state": "pending", "unit": c["unit"]}
    extensions.check_decision(pending, c, approved=True)
    extensions.check_decision(pending, {**c, "state": "returned"}, approved=False)  # may still be rejected
    for req, clock, slug in [({**pending, "state": "approved"}, c, "already-decided"),
                             (pending, {**c, "state": "returned"}, "clock-not-running"),
                             (pending, {**c, "unit": "another"}, "clock-not-running")]:
        with pytest.raises(Problem) as e:
            extensions.check_decision(req, clock, approved=True)
        assert e.value.type_ == slug


def test_an_approved_extension_moves_the_deadline_and_takes_back_the_alerts_no_longer_true() -> None:
    c = start()
    c.update(alert_level="alarm", urged_at=at("2026-11-10 00:00"))
    c["extension_days"] = 3
    stale = move_deadline(c, at("2026-11-11 09:00"), book=BOOK, policy=POLICY)  # approved a day after the alarm
    assert c["resolve_due_date"].isoformat() == "2026-11-12"  # 5 + 3 working days
    assert stale == ["alarm"] and c["alert_level"] == "urgent" and c["urged_at"] is None  # 2 days left: urgent
    early = start()
    early.update(alert_level="urgent", extension_days=3)
    assert move_deadline(early, at("2026-11-06 09:00"), book=BOOK, policy=POLICY) == ["urgent", "alarm"]
    assert early["alert_level"] == "reported"
    assert level_after_move({**c, "resolve_due": at("2026-11-12 23:59"), "urgent_from": at("2026-11-11 00:00")},
                            at("2026-11-05 09:00")) == "reported"


def test_a_pause_counts_whole_working_days_and_only_a_running_clock_in_time_pauses() -> None:
    c = start()
    pauses.check_pause(c, at("2026-11-04 10:00"))
    with pytest.raises(Problem) as e:
        pauses.check_pause(c, at("2026-11-10 00:00"))
    assert e.value.type_ == "deadline-passed"
    with pytest.raises(Problem) as e:
        pauses.days_paused(c, at("2026-11-05 10:00"), book=BOOK, policy=POLICY)
    assert e.value.type_ == "clock-not-paused"
    paused = {**c, "state": "paused", "paused_at": at("2026-11-06 15:00")}  # Friday
    # (Fri 6, Tue 10]: Mon 9 and Tue 10 are given back; the weekend is not a working day
    assert pauses.days_paused(paused, at("2026-11-10 09:00"), book=BOOK, policy=POLICY) == 2
    unknown = {**paused, "paused_at": at("2026-12-30 10:00")}
    with pytest.raises(Problem) as e:
        pauses.days_paused(unknown, at("2026-12-30 10:00") + timedelta(days=5), book=BOOK, policy=POLICY)
    assert e.value.type_ == "unknown-year"
