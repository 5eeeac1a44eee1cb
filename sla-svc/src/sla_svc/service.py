"""sla use cases: start clocks on dispatch, explain a clock."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bancheng_shared.calendar import WorkingCalendar, seed_years
from bancheng_shared.contracts import EventEnvelope, make_event, parse_payload
from bancheng_shared.contracts.sla import AlertRaised, ClockFlagged, ClockStarted
from bancheng_shared.contracts.triage import TicketDispatched
from bancheng_shared.contracts.vocab import AlertLevel
from bancheng_shared.outbox import add_events
from bancheng_shared.problems import Problem
from bancheng_shared.runtime import Runtime
from bancheng_shared.topics import SLA_CLOCKS
from sla_svc import domain
from sla_svc.settings import SlaSettings
from sla_svc.store import clocks, plumbing

SERVICE = "sla-svc"


class ClockService:
    """Holds the calendar and the clock policy for the handlers."""

    def __init__(self, settings: SlaSettings) -> None:
        self.settings = settings
        self.tz = ZoneInfo(settings.timezone)
        this_year = date.today().year
        self.calendar = WorkingCalendar(seed_years(range(this_year - 2, this_year + 2)))

    async def on_dispatched(self, session: AsyncSession, env: EventEnvelope) -> None:
        """Start the round's clocks and raise the `reported` alert."""
        p = parse_payload(env, TicketDispatched)
        s = self.settings
        days = domain.resolution_days(p.complex, p.response_level, s.resolve_working_days,
                                      s.resolve_working_days_complex, s.answer_working_days)
        resolve = domain.working_day_deadline(self.calendar, p.dispatched_at, days, self.tz)
        accept = domain.working_day_deadline(self.calendar, p.dispatched_at, s.accept_working_days, self.tz)
        now = datetime.now(UTC)
        await session.execute(delete(clocks).where(clocks.c.ticket_no == env.ticket_id, clocks.c.round == p.round))
        await session.execute(insert(clocks).values(
            ticket_no=env.ticket_id, round=p.round, unit=p.lead_unit, started_at=p.dispatched_at,
            working_days=days, accept_due=accept.due, resolve_due=resolve.due, resolve_due_date=resolve.due_date,
            calendar_version=self.calendar.version, unknown_year=resolve.due is None,
            alert_level=AlertLevel.reported.value, state="running", explanation=resolve.explanation,
        ))
        events = [
            make_event(ClockStarted(unit=p.lead_unit, round=p.round, started_at=p.dispatched_at,
                                    accept_due=accept.due, resolve_due=resolve.due,
                                    resolve_due_date=resolve.due_date, working_days=days,
                                    calendar_version=self.calendar.version, unknown_year=resolve.due is None,
                                    explanation=resolve.explanation),
                       ticket_id=env.ticket_id, producer=SERVICE, causation=env),
            make_event(AlertRaised(level=AlertLevel.reported, unit=p.lead_unit, deadline=resolve.due,
                                   raised_at=now, round=p.round, message="工单已送达承办单位"),
                       ticket_id=env.ticket_id, producer=SERVICE, causation=env),
        ]
        if resolve.due is None:
            events.append(make_event(
                ClockFlagged(unit=p.lead_unit, reason=resolve.explanation, at=now, round=p.round,
                             years_missing=list(resolve.missing_years)),
                ticket_id=env.ticket_id, producer=SERVICE, causation=env))
        await add_events(session, plumbing, events, SLA_CLOCKS)


async def get_clock(rt: Runtime, ticket_no: str) -> dict[str, Any]:
    """Every round's deadlines, alert level and explanation."""
    async with rt.sm() as session:
        rows = (await session.execute(select(clocks).where(clocks.c.ticket_no == ticket_no)
                                      .order_by(clocks.c.round))).all()
    if not rows:
        raise Problem(404, f"no clock for ticket {ticket_no!r}", type_="unknown-ticket")
    return {"ticket_no": ticket_no, "rounds": [dict(r._mapping) for r in rows]}
