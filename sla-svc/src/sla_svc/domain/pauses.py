"""Pause and resume (e.g. waiting for material from the person): a running clock, not yet overdue, pauses; the
working days in (pause date, resume date] are added to its deadline when it resumes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bancheng_shared.calendar import UnknownYearError
from bancheng_shared.errors import Problem
from sla_svc.domain.calendar_book import CalendarBook
from sla_svc.domain.deadlines import Policy, paused_working_days
from sla_svc.domain.ladder import PAUSED, RUNNING


def check_pause(c: Mapping[str, Any], now: datetime) -> None:
    """Only a running clock whose deadline has not passed pauses."""
    if c["state"] != RUNNING:
        raise Problem(409, f"the clock of round {c['round']} is {c['state']}; only a running clock pauses",
                      type_="clock-not-running", state=c["state"])
    if c["resolve_due"] is not None and now > c["resolve_due"]:
        raise Problem(409, "the deadline has passed; an overdue clock cannot be paused", type_="deadline-passed")


def days_paused(c: Mapping[str, Any], now: datetime, *, book: CalendarBook, policy: Policy) -> int:
    """The working days a paused clock resuming now gets back (refused while the calendar lacks a year)."""
    if c["state"] != PAUSED:
        raise Problem(409, f"the clock of round {c['round']} is {c['state']}, not paused",
                      type_="clock-not-paused", state=c["state"])
    try:
        return paused_working_days(book, policy, c["paused_at"], now)
    except UnknownYearError as exc:
        raise Problem(409, f"the calendar does not know {exc.years}; load it before resuming",
                      type_="unknown-year") from exc
