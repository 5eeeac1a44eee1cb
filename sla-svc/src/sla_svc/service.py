"""sla use cases: clocks from work-order events, the scheduler of due transitions, calendars, extensions,
pause/resume, alerts and the simulated time."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from prometheus_client import Counter
from sqlalchemy import and_, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from bancheng_shared.auth import Principal, Role
from bancheng_shared.calendar import UnknownYearError, YearCalendar, seed_years
from bancheng_shared.contracts import EventEnvelope, make_event, parse_payload
from bancheng_shared.contracts.envelope import EventPayload
from bancheng_shared.contracts.sla import (
    AlertRaised,
    ClockFlagged,
    ClockPaused,
    ClockResumed,
    ClockStarted,
    ClockStopped,
    DeadlineChanged,
    DeemedSigned,
    EscalatedToSupervision,
    ExtensionDecided,
    ExtensionRequested,
    ReturnVisitDue,
    UrgeIssued,
)
from bancheng_shared.contracts.triage import (
    ResolutionSubmitted,
    ReturnDecided,
    ReturnRequested,
    TicketAnswered,
    TicketClosed,
    TicketDispatched,
    TicketReopened,
    TicketSigned,
    TicketTransferred,
)
from bancheng_shared.contracts.vocab import AlertLevel
from bancheng_shared.db import transaction
from bancheng_shared.outbox import add_events
from bancheng_shared.problems import Problem
from bancheng_shared.runtime import Runtime
from bancheng_shared.topics import SLA_CLOCKS
from sla_svc import domain
from sla_svc.domain import LEVEL_RANK, PAUSED, RUNNING, CalendarBook, Policy
from sla_svc.settings import SlaSettings
from sla_svc.store import alerts, calendar_years, clocks, extension_requests, pauses, plumbing, sim_time, timers
from sla_svc.timesource import TimeSource

SERVICE = "sla-svc"
log = structlog.get_logger("sla.service")
TRANSITIONS_FIRED = Counter("sla_transitions_fired_total", "Due transitions of the alert ladder fired")

MUTABLE = [c.name for c in clocks.columns if c.name not in ("ticket_no", "round")]
ACTIVE = (RUNNING, PAUSED)

# Statements built once: building one (coercing every value into a bind, computing its cache key) costs far
# more than running it, so a handler only brings its parameters. `k_ticket` and `k_round` name the clock.
_ticket = bindparam("k_ticket", type_=clocks.c.ticket_no.type)
_round = bindparam("k_round", type_=clocks.c.round.type)
_LATEST_CLOCK = select(clocks).where(clocks.c.ticket_no == _ticket).order_by(clocks.c.round.desc()).limit(1)
_ROUND_CLOCK = select(clocks).where(clocks.c.ticket_no == _ticket, clocks.c.round == _round)
# (by round?, locked?) -> query
_CLOCK_QUERIES = {(False, False): _LATEST_CLOCK, (False, True): _LATEST_CLOCK.with_for_update(),
                  (True, False): _ROUND_CLOCK, (True, True): _ROUND_CLOCK.with_for_update()}
_ACTIVE_CLOCKS = select(clocks).where(clocks.c.ticket_no == _ticket, clocks.c.state.in_(ACTIVE)).with_for_update()
_ACTIVE_EARLIER_CLOCKS = (select(clocks).where(clocks.c.ticket_no == _ticket, clocks.c.round < _round,
                                               clocks.c.state.in_(ACTIVE)).with_for_update())
_INSERT_CLOCK = insert(clocks)
_SAVE_CLOCK = (update(clocks).where(clocks.c.ticket_no == _ticket, clocks.c.round == _round)
               .values({k: bindparam(k, type_=clocks.c[k].type) for k in MUTABLE}))
# rows a scheduler replica holds are skipped; the generation check makes them no-ops when fired
_DROP_PENDING_TIMERS = delete(timers).where(timers.c.id.in_(
    select(timers.c.id).where(timers.c.ticket_no == _ticket, timers.c.round == _round, timers.c.status == "pending")
    .with_for_update(skip_locked=True).scalar_subquery()))
_INSERT_TIMERS = insert(timers)
_INSERT_ALERT = insert(alerts)
_CLOSE_ALERTS = (update(alerts).where(alerts.c.ticket_no == _ticket, alerts.c.round == _round,
                                      alerts.c.is_open.is_(True))
                 .values(is_open=False, closed_at=bindparam("k_now", type_=alerts.c.closed_at.type)))
_CLOSE_ALERT_LEVELS = _CLOSE_ALERTS.where(alerts.c.level.in_(bindparam("k_levels", expanding=True)))
# what a fired transition changes on its clock (the scheduler writes a batch of them at once)
_SAVE_FIRED = (update(clocks).where(clocks.c.ticket_no == _ticket, clocks.c.round == _round)
               .values({k: bindparam(f"v_{k}", type_=clocks.c[k].type)
                        for k in ("signed", "deemed_signed", "alert_level", "urged_at", "escalated_at", "updated_at")}))
MESSAGES = {
    "reported": "工单已送达承办单位 / delivered to the unit",
    "warning": "超过签收时限未签收，视为签收 / not accepted in time: deemed signed",
    "urgent": "距办理时限不足 2 个工作日 / 2 working days or less before the deadline",
    "alarm": "已超期，已催办 / overdue: urge notice issued",
}


def _row(r: Any) -> dict[str, Any]:
    return dict(r._mapping)


class SlaService:
    """The clocks of every ticket: handlers, scheduler and use cases share the calendar and the time."""

    def __init__(self, rt: Runtime, settings: SlaSettings) -> None:
        self.rt = rt
        self.settings = settings
        self.tz = ZoneInfo(settings.timezone)
        s = settings
        self.policy = Policy(tz=self.tz, accept_days=s.accept_working_days, resolve_days=s.resolve_working_days,
                             resolve_days_complex=s.resolve_working_days_complex, answer_days=s.answer_working_days,
                             urgent_days=s.urgent_working_days, escalate_days=s.escalate_after_working_days,
                             return_visit_days=s.return_visit_working_days,
                             max_extension_days=s.max_extension_working_days)
        self.time = TimeSource(settings.simulated_time_allowed)
        self.book = CalendarBook(seed_years(range(datetime.now(UTC).year - 1, datetime.now(UTC).year + 1)),
                                 tz=self.tz)
        self.calendar_generation = -1
        self._wake = asyncio.Event()
        self.pg = rt.engine.dialect.name == "postgresql"
        self.fired_total = 0  # transitions this process fired (tests and metrics)

    # ---------------------------------------------------------------- helpers

    def _ev(self, payload: EventPayload, ticket_no: str, causation: EventEnvelope | None = None,
            correlation_id: str | None = None) -> EventEnvelope:
        return make_event(payload, ticket_id=ticket_no, producer=SERVICE, causation=causation,
                          correlation_id=correlation_id, occurred_at=self.time.now())

    async def _publish(self, session: AsyncSession, events: Sequence[EventEnvelope]) -> None:
        await add_events(session, plumbing, events, SLA_CLOCKS)

    async def _clock(self, session: AsyncSession, ticket_no: str, round_: int | None = None,
                     lock: bool = False) -> dict[str, Any] | None:
        """The clock of a round (or the latest round), optionally locked."""
        params: dict[str, Any] = {"k_ticket": ticket_no}
        if round_ is not None:
            params["k_round"] = round_
        r = (await session.execute(_CLOCK_QUERIES[(round_ is not None, lock)], params)).first()
        return _row(r) if r else None

    async def _save(self, session: AsyncSession, c: dict[str, Any]) -> None:
        c["updated_at"] = self.time.now()
        params = {k: c[k] for k in MUTABLE}
        params["k_ticket"], params["k_round"] = c["ticket_no"], c["round"]
        await session.execute(_SAVE_CLOCK, params)

    def _new_plan(self, c: dict[str, Any]) -> list[dict[str, Any]]:
        """Bump the clock's generation; the timer rows to plan under it."""
        c["gen"] = int(c.get("gen") or 0) + 1
        return [{"ticket_no": c["ticket_no"], "round": c["round"], "gen": c["gen"], "kind": k, "due_at": due,
                 "status": "pending"} for k, due in domain.plan_timers(self.book, self.policy, c)]

    async def _replan(self, session: AsyncSession, c: dict[str, Any]) -> None:
        """Drop the clock's pending timers and plan afresh under a new generation."""
        rows = self._new_plan(c)
        await session.execute(_DROP_PENDING_TIMERS, {"k_ticket": c["ticket_no"], "k_round": c["round"]})
        if rows:
            await session.execute(_INSERT_TIMERS, rows)

    async def _close_alerts(self, session: AsyncSession, c: dict[str, Any], levels: list[str] | None = None) -> None:
        params: dict[str, Any] = {"k_ticket": c["ticket_no"], "k_round": c["round"], "k_now": self.time.now()}
        if levels:
            params["k_levels"] = levels
        await session.execute(_CLOSE_ALERT_LEVELS if levels else _CLOSE_ALERTS, params)

    def _alert(self, c: dict[str, Any], level: str,
               due_at: datetime | None = None) -> tuple[dict[str, Any], AlertRaised]:
        now = self.time.now()
        row = {"ticket_no": c["ticket_no"], "round": c["round"], "level": level, "unit": c["unit"],
               "region_code": c.get("region_code"), "deadline": c.get("resolve_due"), "raised_at": now,
               "is_open": True, "closed_at": None}
        return row, AlertRaised(level=AlertLevel(level), unit=c["unit"], deadline=c.get("resolve_due"),
                                raised_at=now, round=c["round"], message=MESSAGES[level],
                                region_code=c.get("region_code"), due_at=due_at)

    def _flag_event(self, c: dict[str, Any], causation: EventEnvelope | None) -> EventEnvelope:
        return self._ev(ClockFlagged(unit=c["unit"], reason=c["explanation"], at=self.time.now(), round=c["round"],
                                     years_missing=list(c.get("flagged_years") or [])), c["ticket_no"], causation)

    # ---------------------------------------------------------------- starting and stopping

    async def _start_round(self, session: AsyncSession, env: EventEnvelope, *, round_: int, unit: str,
                           region_code: str | None, complex_: bool, response_level: int, started_at: datetime,
                           existing: dict[str, Any] | None) -> list[EventEnvelope]:
        """Start (or restart, for a re-dispatch) a round's clocks and raise `reported`; returns the events."""
        days = self.policy.resolution_days(complex_, response_level)
        c: dict[str, Any] = {
            "ticket_no": env.ticket_id, "round": round_, "gen": int(existing["gen"]) if existing else 0,
            "unit": unit, "region_code": region_code, "complex": complex_, "response_level": response_level,
            "started_at": started_at, "working_days": days, "extension_days": 0, "paused_days": 0,
            "paused_at": None, "state": RUNNING, "signed": False, "deemed_signed": False,
            "return_requested": False, "alert_level": "reported", "urged_at": None, "escalated_at": None,
            "resolved_at": None, "return_visit_due": None, "stopped_at": None, "stop_reason": None,
            "updated_at": self.time.now(),
            "detail": {"restarts": [*((existing.get("detail") or {}).get("restarts", [])),
                                    {"unit": existing["unit"], "started_at": existing["started_at"].isoformat()}]}
            if existing else None,
        }
        c.update(domain.compute_deadlines(self.book, self.policy, c))
        if existing:
            await self._close_alerts(session, existing)
            await self._replan(session, c)
            await self._save(session, c)
        else:
            # a clock that did not exist has no timers to drop: plan them, then store it once, complete
            timer_rows = self._new_plan(c)
            await session.execute(_INSERT_CLOCK, c)
            if timer_rows:
                await session.execute(_INSERT_TIMERS, timer_rows)
        alert_row, alert = self._alert(c, "reported")
        await session.execute(_INSERT_ALERT, alert_row)
        events = [
            self._ev(ClockStarted(unit=unit, round=round_, started_at=started_at, accept_due=c["accept_due"],
                                  resolve_due=c["resolve_due"], resolve_due_date=c["resolve_due_date"],
                                  working_days=days, calendar_version=c["calendar_version"],
                                  unknown_year=c["unknown_year"], explanation=c["explanation"],
                                  urgent_from=c["urgent_from"], region_code=region_code,
                                  restarted=existing is not None), env.ticket_id, env),
            self._ev(alert, env.ticket_id, env),
        ]
        if c["unknown_year"]:
            events.append(self._flag_event(c, env))
        return events

    async def _stop(self, session: AsyncSession, c: dict[str, Any], reason: str, at: datetime,
                    env: EventEnvelope | None) -> list[EventEnvelope]:
        """Stop a round's clocks: no more transitions, its alerts closed."""
        c.update(state=reason, stopped_at=at, stop_reason=reason)
        await self._replan(session, c)
        await self._close_alerts(session, c)
        await self._save(session, c)
        met = None if c.get("resolve_due") is None else at <= c["resolve_due"]
        return [self._ev(ClockStopped(unit=c["unit"], round=c["round"], reason=reason, at=at,
                                      resolve_due=c.get("resolve_due"), met_deadline=met), c["ticket_no"], env)]

    # ---------------------------------------------------------------- event handlers (triage.work-orders)

    async def on_dispatched(self, session: AsyncSession, env: EventEnvelope) -> None:
        """Start the round's clocks; a higher round supersedes the earlier ones; a re-dispatch restarts them."""
        p = parse_payload(env, TicketDispatched)
        latest = await self._clock(session, env.ticket_id, lock=True)
        if latest is not None and latest["round"] > p.round:
            return  # a stale round
        existing = latest if latest is not None and latest["round"] == p.round else None
        if existing is not None:
            same = existing["unit"] == p.lead_unit and (not p.redispatch or existing["started_at"] == p.dispatched_at)
            if same or existing["state"] not in (RUNNING, PAUSED, "returned"):
                return  # a duplicate dispatch of the same round, or the round is already over
        events: list[EventEnvelope] = []
        if latest is not None and latest["round"] < p.round:
            events += await self._supersede_earlier(session, env.ticket_id, p.round, env)
        events += await self._start_round(session, env, round_=p.round, unit=p.lead_unit, region_code=p.region_code,
                                          complex_=p.complex, response_level=p.response_level,
                                          started_at=p.dispatched_at, existing=existing)
        await self._publish(session, events)

    async def _supersede_earlier(self, session: AsyncSession, ticket_no: str, round_: int,
                                 env: EventEnvelope) -> list[EventEnvelope]:
        rows = (await session.execute(_ACTIVE_EARLIER_CLOCKS, {"k_ticket": ticket_no, "k_round": round_})).all()
        out: list[EventEnvelope] = []
        for r in rows:
            out += await self._stop(session, _row(r), "superseded", self.time.now(), env)
        return out

    async def on_reopened(self, session: AsyncSession, env: EventEnvelope) -> None:
        """Redo: a new round with its own clocks (the previous round's policy applies)."""
        p = parse_payload(env, TicketReopened)
        latest = await self._clock(session, env.ticket_id, lock=True)
        if latest is not None and latest["round"] >= p.round:
            return  # the round already has clocks (its dispatch came first) or the event is stale
        events = await self._supersede_earlier(session, env.ticket_id, p.round, env)
        events += await self._start_round(
            session, env, round_=p.round, unit=p.unit, region_code=latest["region_code"] if latest else None,
            complex_=bool(latest["complex"]) if latest else False,
            response_level=int(latest["response_level"]) if latest else 2, started_at=p.reopened_at, existing=None)
        await self._publish(session, events)

    async def on_signed(self, session: AsyncSession, env: EventEnvelope) -> None:
        """The unit signed: the acceptance window is closed."""
        p = parse_payload(env, TicketSigned)
        c = await self._clock(session, env.ticket_id, p.round, lock=True)
        if c is None or c["state"] not in (RUNNING, PAUSED) or c["signed"] or c["unit"] != p.unit:
            return
        c["signed"] = True
        await self._replan(session, c)
        await self._save(session, c)

    async def on_return_requested(self, session: AsyncSession, env: EventEnvelope) -> None:
        """The unit asked to return it in time: not deemed signed while the work team rules."""
        p = parse_payload(env, ReturnRequested)
        c = await self._clock(session, env.ticket_id, p.round, lock=True)
        if c is None or c["state"] not in (RUNNING, PAUSED) or c["unit"] != p.unit or c["signed"]:
            return
        c["return_requested"] = True
        await self._replan(session, c)
        await self._save(session, c)

    async def on_return_decided(self, session: AsyncSession, env: EventEnvelope) -> None:
        """Approved: the unit's clocks stop (a re-dispatch restarts them); rejected: the unit goes on, signed."""
        p = parse_payload(env, ReturnDecided)
        c = await self._clock(session, env.ticket_id, p.round, lock=True)
        if c is None or c["state"] not in (RUNNING, PAUSED) or c["unit"] != p.unit:
            return
        if p.approved:
            await self._publish(session, await self._stop(session, c, "returned", p.decided_at, env))
            return
        c.update(return_requested=False, signed=True)
        await self._replan(session, c)
        await self._save(session, c)

    async def on_resolution(self, session: AsyncSession, env: EventEnvelope) -> None:
        """The unit submitted its result: the clock stops and the return visit falls due."""
        p = parse_payload(env, ResolutionSubmitted)
        c = await self._clock(session, env.ticket_id, p.round, lock=True)
        if c is None or c["state"] not in (RUNNING, PAUSED):
            return
        try:
            d = self.book.add_working_days(domain.local_date(p.submitted_at, self.tz), self.policy.return_visit_days)
            due: datetime | None = domain.end_of_day(d, self.tz)
            due_date: date | None = d
        except UnknownYearError:
            due, due_date = None, None
        c.update(resolved_at=p.submitted_at, return_visit_due=due)  # stored with the stop
        events = await self._stop(session, c, "resolved", p.submitted_at, env)
        events.append(self._ev(ReturnVisitDue(unit=c["unit"], round=c["round"], resolved_at=p.submitted_at,
                                              due=due, due_date=due_date), env.ticket_id, env))
        await self._publish(session, events)

    async def _stop_all(self, session: AsyncSession, env: EventEnvelope, reason: str, at: datetime) -> None:
        rows = (await session.execute(_ACTIVE_CLOCKS, {"k_ticket": env.ticket_id})).all()
        events: list[EventEnvelope] = []
        for r in rows:
            events += await self._stop(session, _row(r), reason, at, env)
        await self._publish(session, events)

    async def on_answered(self, session: AsyncSession, env: EventEnvelope) -> None:
        """Answered directly: every running clock of the ticket stops."""
        await self._stop_all(session, env, "answered", parse_payload(env, TicketAnswered).answered_at)

    async def on_transferred(self, session: AsyncSession, env: EventEnvelope) -> None:
        """Transferred to another procedure: every running clock stops."""
        await self._stop_all(session, env, "transferred", parse_payload(env, TicketTransferred).transferred_at)

    async def on_closed(self, session: AsyncSession, env: EventEnvelope) -> None:
        """Closed: every running clock stops."""
        await self._stop_all(session, env, "closed", parse_payload(env, TicketClosed).closed_at)

    def handlers(self) -> dict[str, Any]:
        """Event type -> handler."""
        return {"TicketDispatched": self.on_dispatched, "TicketReopened": self.on_reopened,
                "TicketSigned": self.on_signed, "ReturnRequested": self.on_return_requested,
                "ReturnDecided": self.on_return_decided, "ResolutionSubmitted": self.on_resolution,
                "TicketAnswered": self.on_answered, "TicketTransferred": self.on_transferred,
                "TicketClosed": self.on_closed}

    # ---------------------------------------------------------------- calendars

    async def startup(self, _rt: Runtime | None = None) -> None:
        """Seed the calendar from chinesecalendar for the years it knows, then load it and the time."""
        async with self.rt.sm() as session:
            have = set((await session.execute(select(calendar_years.c.year).distinct())).scalars())
        wanted = [y for y in range(self.settings.calendar_seed_from_year, datetime.now(UTC).year + 2) if y not in have]
        seeded = await asyncio.to_thread(seed_years, wanted) if wanted else []
        if seeded:
            try:
                async with transaction(self.rt.sm) as session:
                    await session.execute(insert(calendar_years), [
                        {"year": y.year, "version": 1, "data": y.to_json(), "source": "chinesecalendar",
                         "created_at": datetime.now(UTC), "created_by": "seed"} for y in seeded])
            except IntegrityError:
                pass  # another replica seeded the same years first
        async with self.rt.sm() as session:
            await self.refresh(session)

    async def refresh(self, session: AsyncSession) -> bool:
        """Reload the calendar when it changed and the shared simulated time; True when the calendar changed."""
        await self.time.refresh(session)
        gen = (await session.execute(select(func.max(calendar_years.c.id)))).scalar() or 0
        if gen == self.calendar_generation:
            return False
        self.book = await self._load_book(session)
        self.calendar_generation = gen
        return True

    async def _load_book(self, session: AsyncSession) -> CalendarBook:
        rows = (await session.execute(select(calendar_years).order_by(calendar_years.c.year,
                                                                      calendar_years.c.version))).all()
        latest = {r.year: r for r in rows}
        return CalendarBook([YearCalendar.from_json(r.data) for r in latest.values()],
                            {y: r.version for y, r in latest.items()}, tz=self.tz)

    async def put_calendar(self, year: int, holidays: list[dict[str, Any]], workdays: list[dict[str, Any]],
                           who: Principal, correlation_id: str | None = None) -> dict[str, Any]:
        """Validate and store a year's calendar as a new version; flagged clocks are computed again."""
        if not 1949 <= year <= 2200:
            raise Problem(422, f"year {year} is out of range (1949..2200)", type_="invalid-calendar",
                          errors=[{"field": "year", "message": "out of range"}])
        cal, errors = domain.validate_year_payload(year, holidays, workdays)
        if cal is None:
            raise Problem(422, "; ".join(f"{e['field']}: {e['message']}" for e in errors),
                          type_="invalid-calendar", errors=errors)
        old_book = self.book
        try:
            async with transaction(self.rt.sm) as session:
                q = (select(calendar_years).where(calendar_years.c.year == year)
                     .order_by(calendar_years.c.version.desc()))
                current = (await session.execute(q.limit(1).with_for_update())).first()
                if current is not None and current.data == cal.to_json():
                    return {**self._calendar_view(_row(current)), "changed": False}
                version = (current.version + 1) if current is not None else 1
                row = {"year": year, "version": version, "data": cal.to_json(), "source": "api",
                       "created_at": self.time.now(), "created_by": who.name}
                await session.execute(insert(calendar_years).values(**row))
                # flagged clocks are computed with the new calendar in the same transaction
                self.book = await self._load_book(session)
                recomputed = await self._recompute_flagged(session, correlation_id)
        except BaseException:
            self.book = old_book  # nothing was stored: keep the calendar in force
            raise
        self.calendar_generation = -1  # reload (with the new id) on the next pass
        self.rt.relay.wake()
        self.wake()
        return {**self._calendar_view(row), "changed": True, "flagged_clocks_recomputed": recomputed}

    async def _recompute_flagged(self, session: AsyncSession, correlation_id: str | None) -> int:
        rows = (await session.execute(select(clocks).where(clocks.c.unknown_year.is_(True),
                                                           clocks.c.state.in_([RUNNING, PAUSED]))
                                      .with_for_update())).all()
        n = 0
        events: list[EventEnvelope] = []
        for r in rows:
            c = _row(r)
            c.update(domain.compute_deadlines(self.book, self.policy, c))
            if c["unknown_year"]:
                await self._save(session, c)
                continue
            n += 1
            await self._replan(session, c)
            await self._save(session, c)
            events.append(self._ev(DeadlineChanged(
                unit=c["unit"], round=c["round"], reason="calendar loaded", at=self.time.now(),
                old_resolve_due=None, resolve_due=c["resolve_due"], resolve_due_date=c["resolve_due_date"],
                calendar_version=c["calendar_version"], explanation=c["explanation"]),
                c["ticket_no"], correlation_id=correlation_id))
        await self._publish(session, events)
        return n

    def _calendar_view(self, row: dict[str, Any]) -> dict[str, Any]:
        data = row["data"]
        return {"year": row["year"], "version": row["version"], "source": row["source"],
                "created_at": row["created_at"], "created_by": row["created_by"], "timezone": self.settings.timezone,
                "holidays": data.get("holidays", []), "workdays": data.get("workdays", [])}

    async def get_calendar(self, year: int, version: int | None) -> dict[str, Any]:
        """A year's calendar (the version in force, or a given one) and its version history."""
        async with self.rt.sm() as session:
            rows = [_row(r) for r in (await session.execute(
                select(calendar_years).where(calendar_years.c.year == year)
                .order_by(calendar_years.c.version))).all()]
        if not rows:
            raise Problem(404, f"the calendar does not know year {year}; load it with PUT /v1/calendars/{year}",
                          type_="unknown-year")
        pick = rows[-1] if version is None else next((r for r in rows if r["version"] == version), None)
        if pick is None:
            raise Problem(404, f"year {year} has no version {version} (versions 1..{rows[-1]['version']})",
                          type_="unknown-version")
        return {**self._calendar_view(pick), "in_force": pick is rows[-1],
                "versions": [{"version": r["version"], "source": r["source"], "created_at": r["created_at"],
                              "created_by": r["created_by"]} for r in rows]}

    async def list_calendars(self) -> dict[str, Any]:
        """Known years with the version in force and the calendar version ids."""
        async with self.rt.sm() as session:
            rows = (await session.execute(select(calendar_years.c.year, func.max(calendar_years.c.version))
                                          .group_by(calendar_years.c.year).order_by(calendar_years.c.year))).all()
        return {"years": [{"year": y, "version": v} for y, v in rows],
                "runs": [{"from": r.first, "to": r.last, "calendar_version": r.version} for r in self.book.runs]}

    # ---------------------------------------------------------------- scheduler

    def wake(self) -> None:
        """Make the scheduler look at once."""
        self._wake.set()

    async def scheduler_loop(self) -> None:
        """Fire due transitions until cancelled; woken early by a time change or a new calendar."""
        while True:
            try:
                async with self.rt.sm() as session:
                    changed = await self.refresh(session)
                if changed:  # (sessions never nest: SQLite runs on one pooled connection per process)
                    async with transaction(self.rt.sm) as s2:
                        await self._recompute_flagged(s2, None)
                await self.run_until_idle()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.error("scheduler_pass_failed", error=repr(exc))
            try:  # asyncio.timeout: wait_for on 3.11 can swallow a cancellation
                async with asyncio.timeout(self.settings.scheduler_interval_s):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()

    async def run_until_idle(self, max_passes: int = 10_000) -> int:
        """Run passes until nothing (more) is due; returns how many transitions fired."""
        total = 0
        for _ in range(max_passes):
            fired, claimed = await self.run_pass()
            total += fired
            if claimed == 0 or (fired == 0 and claimed < self.settings.scheduler_batch_size):
                break
        return total

    async def run_pass(self, limit: int | None = None) -> tuple[int, int]:
        """Claim a batch of due timers (SKIP LOCKED on PostgreSQL) and fire them in due order in one
        transaction; a batch that fails is retried one timer per transaction. Returns (fired, claimed)."""
        limit = limit or self.settings.scheduler_batch_size
        now = self.time.now()
        try:
            async with transaction(self.rt.sm) as session:
                fired, claimed = await self._fire_batch(session, now, limit, None)
        except Exception as exc:
            log.warning("scheduler_batch_failed", error=repr(exc))
            fired, claimed = await self._fire_one_by_one(now, limit)
        if fired:
            self.fired_total += fired
            TRANSITIONS_FIRED.inc(fired)
            self.rt.relay.wake()
        return fired, claimed

    async def _claim(self, session: AsyncSession, now: datetime, limit: int, only: int | None) -> list[dict[str, Any]]:
        q = (select(timers).where(timers.c.status == "pending", timers.c.due_at <= now)
             .order_by(timers.c.due_at, timers.c.id).limit(limit).with_for_update(skip_locked=True))
        if only is not None:
            q = q.where(timers.c.id == only)
        return [_row(r) for r in (await session.execute(q)).all()]

    async def _fire_batch(self, session: AsyncSession, now: datetime, limit: int, only: int | None) -> tuple[int, int]:
        claimed = await self._claim(session, now, limit, only)
        if not claimed:
            return 0, 0
        keys = sorted({(t["ticket_no"], t["round"]) for t in claimed})
        cmap: dict[tuple[str, int], dict[str, Any]] = {}
        earliest: dict[tuple[str, int], int] = {}
        tickets = sorted({k[0] for k in keys})
        wanted = set(keys)
        for start in range(0, len(tickets), 500):
            chunk = tickets[start:start + 500]
            # lock the clocks in key order (no deadlock between replicas); handlers wait for us.
            # (by ticket_no: a row-value IN would scan the table on SQLite)
            rows = (await session.execute(select(clocks).where(clocks.c.ticket_no.in_(chunk))
                                          .order_by(clocks.c.ticket_no, clocks.c.round).with_for_update())).all()
            cmap.update({(r.ticket_no, r.round): _row(r) for r in rows if (r.ticket_no, r.round) in wanted})
            if self.pg:
                # another replica may hold an earlier due timer of the same clock: keep each clock's order
                first = (await session.execute(
                    select(timers.c.ticket_no, timers.c.round, timers.c.id, timers.c.due_at)
                    .where(timers.c.ticket_no.in_(chunk), timers.c.status == "pending",
                           timers.c.due_at <= now).order_by(timers.c.due_at, timers.c.id))).all()
                for r in first:
                    earliest.setdefault((r.ticket_no, r.round), r.id)
        mine = {t["id"] for t in claimed}
        blocked: set[tuple[str, int]] = {k for k, tid in earliest.items() if tid not in mine}
        done_ids: list[int] = []
        changed: dict[tuple[str, int], dict[str, Any]] = {}
        alert_rows: list[dict[str, Any]] = []
        new_timers: list[dict[str, Any]] = []
        events: list[EventEnvelope] = []
        fired = 0
        for t in claimed:
            key = (t["ticket_no"], t["round"])
            if key in blocked:
                continue
            done_ids.append(t["id"])
            c = cmap.get(key)
            if c is None or t["gen"] != c["gen"] or c["state"] not in (RUNNING, PAUSED):
                continue  # stale: the clock moved on since the timer was planned
            if self._apply(c, t, alert_rows, new_timers, events):
                fired += 1
                changed[key] = c
        for start in range(0, len(done_ids), 500):
            await session.execute(delete(timers).where(timers.c.id.in_(done_ids[start:start + 500])))
        if changed:
            await session.execute(_SAVE_FIRED, [
                {"k_ticket": c["ticket_no"], "k_round": c["round"], "v_signed": c["signed"],
                 "v_deemed_signed": c["deemed_signed"], "v_alert_level": c["alert_level"], "v_urged_at": c["urged_at"],
                 "v_escalated_at": c["escalated_at"], "v_updated_at": now} for c in changed.values()])
        if alert_rows:
            await session.execute(_INSERT_ALERT, alert_rows)
        if new_timers:
            await session.execute(_INSERT_TIMERS, new_timers)
        await self._publish(session, events)
        return fired, len(claimed)

    def _apply(self, c: dict[str, Any], t: dict[str, Any], alert_rows: list[dict[str, Any]],
               new_timers: list[dict[str, Any]], events: list[EventEnvelope]) -> bool:
        """The effect of one due transition on its clock (pure but for the collected rows and events)."""
        kind, due_at = t["kind"], t["due_at"]
        tno = c["ticket_no"]

        def raise_level(level: str) -> None:
            if LEVEL_RANK[level] > LEVEL_RANK.get(c.get("alert_level"), -1):
                c["alert_level"] = level
            row, ev = self._alert(c, level, due_at)
            alert_rows.append(row)
            events.append(self._ev(ev, tno))

        if kind == "accept":
            if c["signed"] or c["return_requested"]:
                return False
            c.update(signed=True, deemed_signed=True)
            raise_level("warning")
            events.append(self._ev(DeemedSigned(unit=c["unit"], at=due_at, round=c["round"]), tno))
            return True
        if c["state"] != RUNNING:
            return False
        if kind == "urgent":
            if LEVEL_RANK.get(c.get("alert_level"), -1) >= LEVEL_RANK["urgent"] or c.get("urged_at"):
                return False
            raise_level("urgent")
            return True
        if kind == "alarm":
            if c.get("urged_at") is not None:
                return False
            c["urged_at"] = due_at
            raise_level("alarm")
            events.append(self._ev(UrgeIssued(unit=c["unit"], at=due_at, round=c["round"],
                                              deadline=c.get("resolve_due")), tno))
            at = domain.escalate_at(self.book, self.policy, due_at)
            if at is not None:
                new_timers.append({"ticket_no": tno, "round": c["round"], "gen": c["gen"], "kind": "escalate",
                                   "due_at": at, "status": "pending"})
            return True
        if kind == "escalate":
            if c.get("urged_at") is None or c.get("escalated_at") is not None:
                return False
            c["escalated_at"] = due_at
            events.append(self._ev(EscalatedToSupervision(
                unit=c["unit"], at=due_at, round=c["round"], deadline=c.get("resolve_due"), urged_at=c["urged_at"],
                reason=f"unresolved {self.policy.escalate_days} working days after the urge notice of "
                       f"{domain.local_date(c['urged_at'], self.tz).isoformat()}"), tno))
            return True
        return False

    async def _fire_one_by_one(self, now: datetime, limit: int) -> tuple[int, int]:
        async with self.rt.sm() as session:
            ids = list((await session.execute(
                select(timers.c.id).where(timers.c.status == "pending", timers.c.due_at <= now)
                .order_by(timers.c.due_at, timers.c.id).limit(limit))).scalars())
        fired = 0
        for tid in ids:
            try:
                async with transaction(self.rt.sm) as session:
                    fired += (await self._fire_batch(session, now, 1, tid))[0]
            except Exception as exc:
                log.error("timer_failed", timer_id=tid, error=repr(exc))
                async with transaction(self.rt.sm) as session:
                    await session.execute(update(timers).where(timers.c.id == tid)
                                          .values(status="failed", error=repr(exc)[:2000]))
        return fired, len(ids)

    # ---------------------------------------------------------------- simulated time

    async def set_time(self, now: datetime | None, running: bool) -> dict[str, Any]:
        """Set (or with None clear) the simulated time, then fire what fell due at once."""
        if not self.settings.simulated_time_allowed:
            raise Problem(403, "simulated time is not allowed on this service (SLA_SIMULATED_TIME_ALLOWED is off)",
                          type_="simulated-time-disabled")
        if now is not None and now.tzinfo is None:
            raise Problem(422, "now must carry a time zone offset, e.g. 2026-10-08T09:00:00+08:00",
                          type_="validation", errors=[{"field": "now", "message": "naive datetime"}])
        async with transaction(self.rt.sm) as session:
            await session.execute(delete(sim_time))
            if now is not None:
                await session.execute(insert(sim_time).values(name="now", now=now, running=running,
                                                              set_at=datetime.now(UTC)))
        self.time.set(now, running)
        fired = await self.run_until_idle()
        self.wake()
        return {**self.time_view(), "fired": fired}

    def time_view(self) -> dict[str, Any]:
        """The service's time and whether it is simulated."""
        now = self.time.now()
        return {"now": now, "local": now.astimezone(self.tz).isoformat(), "simulated": self.time.simulated,
                "simulated_time_allowed": self.settings.simulated_time_allowed}

    # ---------------------------------------------------------------- extensions and pauses

    async def _own_clock(self, session: AsyncSession, ticket_no: str, who: Principal) -> dict[str, Any]:
        c = await self._clock(session, ticket_no, lock=True)
        if c is None or not who.can_see_unit(c["unit"]):
            raise Problem(404, f"no clock for ticket {ticket_no!r}", type_="unknown-ticket")
        return c

    async def request_extension(self, ticket_no: str, days: int, reason: str, who: Principal,
                                correlation_id: str | None) -> dict[str, Any]:
        """The unit asks for more working days, before the deadline, once per round."""
        maxd = self.policy.max_extension_days
        if not 1 <= days <= maxd:
            raise Problem(422, f"days: {days} is outside 1..{maxd} working days", type_="validation",
                          errors=[{"field": "days", "message": f"must be 1..{maxd}"}])
        now = self.time.now()
        async with transaction(self.rt.sm) as session:
            c = await self._own_clock(session, ticket_no, who)
            if c["state"] not in (RUNNING, PAUSED):
                raise Problem(409, f"the clock of round {c['round']} is {c['state']}; nothing to extend",
                              type_="clock-not-running", state=c["state"])
            if c["resolve_due"] is None:
                raise Problem(409, "the deadline is not computed yet (calendar year missing); ask again once it is",
                              type_="deadline-unknown")
            if now > c["resolve_due"]:
                raise Problem(409, f"the deadline {c['resolve_due'].astimezone(self.tz).isoformat()} has passed; "
                              "an extension must be asked before it", type_="deadline-passed")
            prior = (await session.execute(select(extension_requests).where(
                extension_requests.c.ticket_no == ticket_no, extension_requests.c.round == c["round"],
                extension_requests.c.unit == c["unit"]))).first()
            if prior is not None:
                raise Problem(409, f"an extension was already requested for round {c['round']} "
                              f"(request {prior.id}, {prior.state}); only one per ticket and round",
                              type_="extension-already-requested", request_id=prior.id)
            rid = uuid.uuid4().hex
            row = {"id": rid, "ticket_no": ticket_no, "round": c["round"], "unit": c["unit"], "days": days,
                   "reason": reason, "state": "pending", "requested_at": now, "requested_by": who.name,
                   "deadline_at_request": c["resolve_due"]}
            await session.execute(insert(extension_requests).values(**row))
            await self._publish(session, [self._ev(ExtensionRequested(
                request_id=rid, unit=c["unit"], round=c["round"], days=days, reason=reason, requested_at=now,
                resolve_due=c["resolve_due"]), ticket_no, correlation_id=correlation_id)])
        self.rt.relay.wake()
        return row

    async def decide_extension(self, ticket_no: str, request_id: str, approved: bool, reason: str,
                               who: Principal, correlation_id: str | None) -> dict[str, Any]:
        """The work team rules; approved moves the deadline and the pending alerts."""
        now = self.time.now()
        async with transaction(self.rt.sm) as session:
            req = (await session.execute(select(extension_requests).where(
                extension_requests.c.id == request_id, extension_requests.c.ticket_no == ticket_no)
                .with_for_update())).first()
            if req is None:
                raise Problem(404, f"no extension request {request_id!r} for ticket {ticket_no!r}",
                              type_="unknown-extension-request")
            if req.state != "pending":
                raise Problem(409, f"extension request {request_id} was already {req.state}",
                              type_="already-decided", state=req.state)
            c = await self._clock(session, ticket_no, req.round, lock=True)
            assert c is not None
            if approved and (c["state"] not in (RUNNING, PAUSED) or c["unit"] != req.unit):
                raise Problem(409, f"the clock of round {c['round']} is {c['state']} (unit {c['unit']}); "
                              "the request can only be rejected", type_="clock-not-running")
            old_due = c["resolve_due"]
            await session.execute(update(extension_requests).where(extension_requests.c.id == request_id).values(
                state="approved" if approved else "rejected", decided_at=now, decided_by=who.name,
                decision_reason=reason))
            events = []
            if approved:
                c["extension_days"] = req.days
                await self._move_deadline(session, c, now)
                events.append(self._deadline_changed(c, old_due, f"extension of {req.days} working day(s) approved"))
            events.insert(0, self._ev(ExtensionDecided(
                request_id=request_id, unit=req.unit, round=req.round, days=req.days, approved=approved,
                reason=reason, decided_at=now, old_resolve_due=old_due,
                resolve_due=c["resolve_due"]), ticket_no, correlation_id=correlation_id))
            await self._publish(session, events)
        self.rt.relay.wake()
        self.wake()
        return {"id": request_id, "ticket_no": ticket_no, "round": req.round, "days": req.days,
                "state": "approved" if approved else "rejected", "old_resolve_due": old_due,
                "resolve_due": c["resolve_due"]}

    def _deadline_changed(self, c: dict[str, Any], old_due: datetime | None, reason: str) -> EventEnvelope:
        return self._ev(DeadlineChanged(unit=c["unit"], round=c["round"], reason=reason, at=self.time.now(),
                                        old_resolve_due=old_due, resolve_due=c["resolve_due"],
                                        resolve_due_date=c["resolve_due_date"], calendar_version=c["calendar_version"],
                                        explanation=c["explanation"], unknown_year=c["unknown_year"]), c["ticket_no"])

    async def _move_deadline(self, session: AsyncSession, c: dict[str, Any], now: datetime) -> None:
        """Recompute the deadline; the ladder steps not yet due again are re-armed and their alerts closed."""
        c.update(domain.compute_deadlines(self.book, self.policy, c))
        level = domain.level_after_move(c, now)
        if LEVEL_RANK[level] < LEVEL_RANK["alarm"] and c.get("urged_at") is not None:
            c.update(urged_at=None, escalated_at=None)
        if LEVEL_RANK.get(c.get("alert_level"), -1) > LEVEL_RANK[level]:
            stale = [lv for lv in ("urgent", "alarm") if LEVEL_RANK[lv] > LEVEL_RANK[level]]
            await self._close_alerts(session, c, stale)
            c["alert_level"] = level
        await self._replan(session, c)
        await self._save(session, c)

    async def pause(self, ticket_no: str, reason: str, who: Principal, correlation_id: str | None) -> dict[str, Any]:
        """Stop the resolution clock for a reason (e.g. waiting for material from the person)."""
        now = self.time.now()
        async with transaction(self.rt.sm) as session:
            c = await self._own_clock(session, ticket_no, who)
            if c["state"] != RUNNING:
                raise Problem(409, f"the clock of round {c['round']} is {c['state']}; only a running clock pauses",
                              type_="clock-not-running", state=c["state"])
            if c["resolve_due"] is not None and now > c["resolve_due"]:
                raise Problem(409, "the deadline has passed; an overdue clock cannot be paused",
                              type_="deadline-passed")
            c.update(state=PAUSED, paused_at=now)
            await self._replan(session, c)
            await self._save(session, c)
            await session.execute(insert(pauses).values(ticket_no=ticket_no, round=c["round"], reason=reason,
                                                        paused_at=now, paused_by=who.name))
            await self._publish(session, [self._ev(ClockPaused(unit=c["unit"], round=c["round"], reason=reason,
                                                               at=now), ticket_no, correlation_id=correlation_id)])
        self.rt.relay.wake()
        return await self.get_clock(ticket_no, who)

    async def resume(self, ticket_no: str, reason: str, who: Principal, correlation_id: str | None) -> dict[str, Any]:
        """Run a paused clock again; the working days in (pause date, resume date] are added."""
        now = self.time.now()
        async with transaction(self.rt.sm) as session:
            c = await self._own_clock(session, ticket_no, who)
            if c["state"] != PAUSED:
                raise Problem(409, f"the clock of round {c['round']} is {c['state']}, not paused",
                              type_="clock-not-paused", state=c["state"])
            try:
                added = domain.paused_working_days(self.book, self.policy, c["paused_at"], now)
            except UnknownYearError as exc:
                raise Problem(409, f"the calendar does not know {exc.years}; load it before resuming",
                              type_="unknown-year") from exc
            old_due = c["resolve_due"]
            c.update(state=RUNNING, paused_at=None, paused_days=int(c["paused_days"]) + added)
            await self._move_deadline(session, c, now)
            await session.execute(update(pauses).where(pauses.c.ticket_no == ticket_no, pauses.c.round == c["round"],
                                                       pauses.c.resumed_at.is_(None))
                                  .values(resumed_at=now, resumed_by=who.name, resume_reason=reason,
                                          working_days=added))
            await self._publish(session, [
                self._ev(ClockResumed(unit=c["unit"], round=c["round"], reason=reason, at=now,
                                      paused_working_days=added, resolve_due=c["resolve_due"]),
                         ticket_no, correlation_id=correlation_id),
                self._deadline_changed(c, old_due, f"resumed after a pause of {added} working day(s)")])
        self.rt.relay.wake()
        self.wake()
        return await self.get_clock(ticket_no, who)

    # ---------------------------------------------------------------- reads

    def _clock_view(self, c: dict[str, Any]) -> dict[str, Any]:
        tz = self.tz
        now = self.time.now()
        view = {k: v for k, v in c.items() if k not in ("gen", "detail", "flagged_years", "unknown_year")}
        view["flagged"] = bool(c["unknown_year"])
        view["flagged_years"] = c.get("flagged_years") or []
        view["restarts"] = (c.get("detail") or {}).get("restarts", [])
        if c["resolve_due"] is not None:
            view["resolve_due_local"] = c["resolve_due"].astimezone(tz).isoformat()
            view["overdue"] = c["state"] == RUNNING and now > c["resolve_due"]
        return view

    async def get_clock(self, ticket_no: str, who: Principal) -> dict[str, Any]:
        """Every round's deadlines, alert level, explanation, extensions, pauses and pending transitions."""
        async with self.rt.sm() as session:
            rows = [_row(r) for r in (await session.execute(select(clocks).where(clocks.c.ticket_no == ticket_no)
                                                            .order_by(clocks.c.round))).all()]
            if not rows or not who.can_see_unit(rows[-1]["unit"]):
                raise Problem(404, f"no clock for ticket {ticket_no!r}", type_="unknown-ticket")
            exts = [_row(r) for r in (await session.execute(select(extension_requests).where(
                extension_requests.c.ticket_no == ticket_no).order_by(extension_requests.c.requested_at))).all()]
            ps = [_row(r) for r in (await session.execute(select(pauses).where(pauses.c.ticket_no == ticket_no)
                                                          .order_by(pauses.c.id))).all()]
            ts = [_row(r) for r in (await session.execute(select(timers).where(timers.c.ticket_no == ticket_no)
                                                          .order_by(timers.c.due_at))).all()]
        out = []
        for c in rows:
            v = self._clock_view(c)
            v["extension_requests"] = [e for e in exts if e["round"] == c["round"]]
            v["pauses"] = [{k: p[k] for k in p if k not in ("ticket_no",)} for p in ps if p["round"] == c["round"]]
            v["pending_transitions"] = [{"kind": t["kind"], "due_at": t["due_at"], "status": t["status"]}
                                        for t in ts if t["round"] == c["round"] and t["gen"] == c["gen"]]
            out.append(v)
        return {"ticket_no": ticket_no, "current_round": rows[-1]["round"], "now": self.time.now(), "rounds": out}

    async def list_clocks(self, who: Principal, *, flagged: bool | None, unit: str | None, state: str | None,
                          limit: int, offset: int) -> dict[str, Any]:
        """Clocks with filters (flagged ones first of all for the operators), paginated."""
        if who.role == Role.unit:
            unit = who.unit_code
        conds: list[ColumnElement[bool]] = []
        if flagged is not None:
            conds.append(clocks.c.unknown_year.is_(flagged))
        if unit:
            conds.append(clocks.c.unit == unit)
        if state:
            conds.append(clocks.c.state == state)
        where = and_(True, *conds)
        async with self.rt.sm() as session:
            total = (await session.execute(select(func.count()).select_from(clocks).where(where))).scalar_one()
            rows = (await session.execute(select(clocks).where(where).order_by(clocks.c.started_at, clocks.c.ticket_no,
                                                                               clocks.c.round)
                                          .limit(limit).offset(offset))).all()
        return {"items": [self._clock_view(_row(r)) for r in rows], "total": total, "limit": limit, "offset": offset}

    async def list_alerts(self, who: Principal, *, level: str | None, unit: str | None, region: str | None,
                          open_only: bool, ticket_no: str | None, limit: int, offset: int) -> dict[str, Any]:
        """Alerts with filters (level, unit, region prefix, open only), newest first, paginated."""
        if who.role == Role.unit:
            if unit and unit != who.unit_code:
                raise Problem(403, "a unit key sees only its own unit's alerts", type_="forbidden")
            unit = who.unit_code
        conds: list[ColumnElement[bool]] = []
        if level:
            conds.append(alerts.c.level == level)
        if unit:
            conds.append(alerts.c.unit == unit)
        if region:
            conds.append(alerts.c.region_code.like(region + "%"))
        if open_only:
            conds.append(alerts.c.is_open.is_(True))
        if ticket_no:
            conds.append(alerts.c.ticket_no == ticket_no)
        where = and_(True, *conds)
        async with self.rt.sm() as session:
            total = (await session.execute(select(func.count()).select_from(alerts).where(where))).scalar_one()
            rows = (await session.execute(select(alerts).where(where).order_by(alerts.c.id.desc())
                                          .limit(limit).offset(offset))).all()
        return {"items": [_row(r) for r in rows], "total": total, "limit": limit, "offset": offset}
