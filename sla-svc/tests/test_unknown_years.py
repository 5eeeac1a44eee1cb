"""Steps that need a year the calendar does not know (pure): flagged, never guessed, carried out once it is loaded;
the warning that next year's calendar is missing."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bancheng_shared.calendar import YearCalendar, seed_years
from bancheng_shared.contracts.sla import ReturnVisitDue
from sla_svc.domain import pauses, rounds, unknown_years
from sla_svc.domain.calendar_book import CalendarBook
from sla_svc.domain.deadlines import Policy
from sla_svc.domain.ladder import Fired, fire, plan_timers

SH = ZoneInfo("Asia/Shanghai")
POLICY = Policy(tz=SH)
ONLY_2026 = CalendarBook(seed_years([2026]), tz=SH)
Y2027 = YearCalendar(year=2027, holidays={date(2027, 1, 1): "元旦"}, workdays={date(2027, 2, 20): "春节调休"})
WITH_2027 = CalendarBook([*seed_years([2026]), Y2027], tz=SH)


def at(s: str) -> datetime:
    """A Shanghai local time from 'YYYY-MM-DD HH:MM'."""
    return datetime.fromisoformat(s).replace(tzinfo=SH)


def clock(started: str, book: CalendarBook = ONLY_2026) -> dict[str, Any]:
    """A round's clock started at a local time (5 working days)."""
    return rounds.start_round(ticket_no="Y1", round_=1, unit="U", region_code=None, complex_=False, response_level=2,
                              started_at=at(started), existing=None, now=at(started), book=book,
                              policy=POLICY).clock


def urged_on_29_december() -> dict[str, Any]:
    """Dispatched Monday 12-21 (due the end of 12-28), overdue: urged at 12-29 00:00 with only 2026 known."""
    c = clock("2026-12-21 10:00")
    assert c["resolve_due_date"] == date(2026, 12, 28) and not c["unknown_year"]
    c["signed"] = True
    out = Fired()
    assert fire(c, "alarm", at("2026-12-29 00:00"), now=at("2026-12-29 00:00"), book=ONLY_2026, policy=POLICY,
                out=out)
    assert out.timers == []  # no escalation day to plan: the calendar does not know 2027
    return c


def test_an_urge_whose_escalation_needs_next_year_is_flagged_once() -> None:
    c = urged_on_29_december()
    assert unknown_years.waiting(ONLY_2026, POLICY, c) == {"escalate": [2027]}
    [flagged] = unknown_years.flag(c, ONLY_2026, POLICY, at("2026-12-29 00:00"))
    assert flagged.years_missing == [2027] and "urge notice of 2026-12-29" in flagged.reason
    assert c["unknown_year"] is True and c["flagged_years"] == [2027]
    assert c["detail"] == {"waiting": {"escalate": [2027]}}
    assert unknown_years.flag(c, ONLY_2026, POLICY, at("2026-12-30 00:00")) == []  # already flagged: once
    assert unknown_years.unchanged(ONLY_2026, POLICY, c) and not unknown_years.unchanged(WITH_2027, POLICY, c)
    assert [k for k, _ in plan_timers(ONLY_2026, POLICY, c)] == []


def test_once_next_year_is_loaded_the_escalation_is_planned_on_its_working_day() -> None:
    c = urged_on_29_december()
    unknown_years.flag(c, ONLY_2026, POLICY, at("2026-12-29 00:00"))
    carried = unknown_years.carry_out(c, WITH_2027, POLICY, at("2026-12-30 09:00"))
    assert not carried.any  # the deadline was known: nothing recomputed, it keeps its calendar version
    # 3 working days after 12-29: 12-30, 12-31, (01-01 元旦 off) 2027-01-04 -> due at 2027-01-05 00:00
    assert plan_timers(WITH_2027, POLICY, c) == [("escalate", at("2027-01-05 00:00"))]
    assert unknown_years.flag(c, WITH_2027, POLICY, at("2026-12-30 09:00")) == []
    assert c["unknown_year"] is False and c["flagged_years"] is None and c["detail"] is None


def test_a_deadline_that_needs_next_year_is_computed_when_loaded() -> None:
    c = clock("2026-12-28 10:00")
    assert c["unknown_year"] and c["resolve_due"] is None
    assert unknown_years.waiting(ONLY_2026, POLICY, c) == {"deadline": [2027]}
    carried = unknown_years.carry_out(c, WITH_2027, POLICY, at("2026-12-29 09:00"))
    [changed] = carried.events
    # 12-29, 12-30, 12-31, (01-01 元旦 off) 01-04, 01-05
    assert changed.reason == "calendar loaded" and changed.resolve_due_date == date(2027, 1, 5)
    assert c["accept_due"] is not None and unknown_years.waiting(WITH_2027, POLICY, c) == {}


def test_a_pause_that_ends_next_year_waits_for_the_year_then_resumes_on_its_day() -> None:
    c = clock("2026-12-22 10:00")  # due the end of 12-29
    assert pauses.pause(c, at("2026-12-29 10:00"), 3, book=ONLY_2026, policy=POLICY) is None
    assert c["state"] == "paused" and c["resume_at"] is None and c["detail"] == {"pause_days": 3}
    [flagged] = unknown_years.flag(c, ONLY_2026, POLICY, at("2026-12-29 10:00"))
    assert flagged.years_missing == [2027] and "pause of 3 working day(s) from 2026-12-29" in flagged.reason
    carried = unknown_years.carry_out(c, WITH_2027, POLICY, at("2026-12-30 09:00"))
    # 12-30, 12-31, 2027-01-04: resumes at 00:00 of the third
    assert carried.resume_at == c["resume_at"] == at("2027-01-04 00:00")
    assert ("resume", at("2027-01-04 00:00")) in plan_timers(WITH_2027, POLICY, c)
    unknown_years.flag(c, WITH_2027, POLICY, at("2026-12-30 09:00"))
    assert not c["unknown_year"] and c["detail"] == {"pause_days": 3}
    added, _ = pauses.resume(c, at("2027-01-04 00:00"), book=WITH_2027, policy=POLICY)
    assert added == 3 and c["resolve_due_date"] == date(2027, 1, 4) and c["detail"] is None


def test_a_return_visit_that_needs_next_year_is_published_when_loaded() -> None:
    c = clock("2026-12-21 10:00")
    [_, visit] = rounds.resolve(c, at("2026-12-30 15:00"), book=ONLY_2026, policy=POLICY)
    assert isinstance(visit, ReturnVisitDue) and visit.due is None
    assert unknown_years.waiting(ONLY_2026, POLICY, c) == {"return_visit": [2027]}
    [event] = unknown_years.carry_out(c, WITH_2027, POLICY, at("2027-01-02 09:00")).events
    assert isinstance(event, ReturnVisitDue) and event.due_date == date(2027, 1, 5)  # 12-31, 01-04, 01-05


def test_next_year_missing_from_the_warning_day() -> None:
    nov1 = unknown_years.parse_month_day("11-01")
    assert unknown_years.next_year_missing(date(2026, 10, 31), [2026], nov1) is None
    assert unknown_years.next_year_missing(date(2026, 11, 1), [2026], nov1) == 2027
    assert unknown_years.next_year_missing(date(2026, 12, 31), [2026], nov1) == 2027
    assert unknown_years.next_year_missing(date(2026, 11, 1), [2026, 2027], nov1) is None
    assert unknown_years.next_year_missing(date(2027, 1, 2), [2026, 2027], nov1) is None
    with pytest.raises(ValueError):
        unknown_years.parse_month_day("11-31")
