"""Supervision letters (督办函): the due date of the reply, the unit's reply letter (督办回复函), and a letter
left unanswered past its due date (the case is raised and accountability proposed)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from bancheng_shared.calendar import UnknownYearError
from bancheng_shared.contracts.oversight import CaseRaised
from bancheng_shared.errors import Problem
from bancheng_shared.principal import Principal, Role
from oversight_svc.domain.calendar import CalendarInForce
from oversight_svc.domain.cases import CaseFacts, Step, allowed_actions, next_state, step
from oversight_svc.domain.ids import new_id

# a letter's reply is due within this many days of sending, unless a setting says otherwise
MAX_DAYS = 366


def due_at(*, sent: datetime, due_date: date | None, working_days: int | None, default_working_days: int,
           calendar: CalendarInForce, tz: ZoneInfo, max_days: int = MAX_DAYS) -> datetime:
    """End of the due day (local time): the date given, or N statutory working days after sending on the
    calendar in force (422 when it does not know the years the count needs, or the date is before sending or
    more than max_days after it)."""
    local_sent = sent.astimezone(tz).date()
    if due_date is None:
        n = working_days or default_working_days
        try:
            due_date = calendar.add_working_days(local_sent, n)
        except (UnknownYearError, ValueError) as exc:
            raise Problem(422, f"working_days: the calendar cannot count from {local_sent} ({exc}); "
                               "give due_date instead", type_="unknown-calendar-year") from exc
    if due_date < local_sent:
        raise Problem(422, f"due_date: {due_date} is before the letter is sent ({local_sent})", type_="validation")
    if (due_date - local_sent).days > max_days:  # a letter due in year 9999 would never be raised
        raise Problem(422, f"due_date: {due_date} is more than {max_days} days after the letter is sent "
                           f"({local_sent})", type_="validation")
    return datetime.combine(due_date, time(23, 59, 59), tzinfo=tz).astimezone(UTC)


def send(case: CaseFacts, *, unit: str, requirements: str, due_date: date | None, working_days: int | None,
         default_working_days: int, calendar: CalendarInForce, tz: ZoneInfo, now: datetime,
         max_days: int = MAX_DAYS) -> tuple[Step, dict[str, Any]]:
    """督办函 to a unit with requirements and a reply due date; returns the step and the letter's row."""
    next_state(case.state, "send_letter")  # a wrong state is refused first
    due = due_at(sent=now, due_date=due_date, working_days=working_days, default_working_days=default_working_days,
                 calendar=calendar, tz=tz, max_days=max_days)
    letter_id = new_id("LTR")
    letter = {"letter_id": letter_id, "case_id": case.case_id, "unit": unit, "requirements": requirements,
              "due_at": due, "sent_at": now, "overdue": False}
    doc = {"letter_id": letter_id, "unit": unit, "requirements": requirements, "due_at": due.isoformat()}
    return step(case, "send_letter", doc, now=now, letter_id=letter_id, unit=unit, due_at=due), letter


class LetterFacts(Protocol):
    """A letter as stored."""

    letter_id: str
    case_id: str
    unit: str
    due_at: datetime
    replied_at: datetime | None
    overdue: bool | None


def reply(case: CaseFacts, letter: LetterFacts | None, *, letter_id: str, who: Principal, content: str,
          measures: list[str], now: datetime) -> tuple[Step, dict[str, Any]]:
    """The addressed unit answers with its own key, once; an answer after the due date is late."""
    next_state(case.state, "reply")  # a wrong state is refused first
    if letter is None:
        raise Problem(404, f"letter {letter_id!r} is unknown on case {case.case_id}", type_="unknown-letter")
    if who.role != Role.admin and who.unit_code != letter.unit:
        raise Problem(403, "only the addressed unit answers this letter, with its own unit key", type_="forbidden")
    if letter.replied_at is not None:
        raise Problem(409, f"letter {letter.letter_id} was already answered at {letter.replied_at.isoformat()}",
                      type_="already-replied", state=case.state, allowed_actions=allowed_actions(case.state))
    late = now > letter.due_at or bool(letter.overdue)  # the overdue check may have run on another clock
    answer = {"content": content, "measures": measures, "late": late}
    return step(case, "reply", {"letter_id": letter.letter_id, **answer}, now=now, letter_id=letter.letter_id,
                unit=letter.unit), answer


@dataclass(frozen=True)
class Unanswered:
    """A letter past its due date: the proposed accountability record, the case's document, CaseRaised."""

    record: dict[str, Any]
    document: dict[str, Any]
    event: CaseRaised


def unanswered(letter: LetterFacts, *, ticket_nos: list[str], now: datetime) -> Unanswered:
    """Unanswered by its due date: the case is raised and accountability (慢作为) proposed for the unit."""
    record_id = new_id("ACC")
    reason = f"督办函 {letter.letter_id} 逾期未回复 (due {letter.due_at.isoformat()}): supervision letter unanswered"
    record = {"record_id": record_id, "status": "proposed", "unit": letter.unit, "reason_category": "慢作为",
              "reason": reason, "case_ids": [letter.case_id], "ticket_nos": ticket_nos, "proposed_at": now}
    document = {"letter_id": letter.letter_id, "unit": letter.unit, "due_at": letter.due_at.isoformat(),
                "accountability_proposed": record_id}
    event = CaseRaised(case_id=letter.case_id, letter_id=letter.letter_id, unit=letter.unit, due_at=letter.due_at,
                       raised_at=now, accountability_id=record_id)
    return Unanswered(record, document, event)
