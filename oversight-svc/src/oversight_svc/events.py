"""oversight's event handlers: keep ticket facts and rollups from triage, sla and intake events,
open supervision cases for red tickets and escalations. Tolerant of order across topics."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from bancheng_shared.contracts import EventEnvelope
from bancheng_shared.runtime import Runtime
from oversight_svc import cases as case_ops
from oversight_svc import domain
from oversight_svc.settings import OversightSettings
from oversight_svc.store import (
    Op,
    copies,
    get_round,
    increment_op,
    put_round_op,
    received_op,
    run,
    set_clock,
    set_round_op,
    tickets,
    units,
    upsert_op,
)

Handler = Callable[[AsyncSession, EventEnvelope], Awaitable[None]]
Counts = list[tuple[str, date, dict[str, int]]]  # (unit, local day, metric deltas) for increment_op

_COPY_EXISTS = select(copies.c.copy_id).where(
    copies.c.ticket_no == bindparam("ticket_no"), copies.c.purpose == bindparam("purpose"),
    copies.c.round == bindparam("round"))


def _dt(v: Any, fallback: datetime) -> datetime:
    if isinstance(v, datetime):
        return v
    if isinstance(v, str):
        try:
            return datetime.fromisoformat(v)
        except ValueError:
            return fallback
    return fallback


class Handlers:
    """Event handlers bound to the runtime (for settings and publishing).

    Each handler reads what it judges by, then runs all its writes together (store.run)."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        s: OversightSettings = rt.settings  # type: ignore[assignment]
        self.s = s
        self.tz = ZoneInfo(s.timezone)

    def day(self, at: datetime) -> Any:
        """The local calendar day of a timestamp."""
        return at.astimezone(self.tz).date()

    def _ticket(self, session: AsyncSession, env: EventEnvelope, **cols: Any) -> Op | None:
        row = {"ticket_no": env.ticket_id, "updated_at": env.occurred_at, **cols}
        return upsert_op(session, tickets, ["ticket_no"], row)

    # ---- intake ----
    async def ticket_received(self, session: AsyncSession, env: EventEnvelope) -> None:
        """A new ticket: keep its place and text (for hotspots), count it for its region."""
        p = env.payload
        at = _dt(p.get("received_at"), env.occurred_at)
        await run(session, [
            self._ticket(session, env, region_code=p.get("region_code"), title=p.get("title"),
                         content=p.get("content"), received_at=at),
            received_op(session, p.get("region_code") or "unknown", self.day(at))])

    # ---- triage ----
    async def ticket_triaged(self, session: AsyncSession, env: EventEnvelope) -> None:
        """Kind and category (for hotspots); a red tier opens a supervision case."""
        p = env.payload
        cols: dict[str, Any] = {"category": p.get("category"), "kinds": p.get("department_kinds") or [],
                                "tier": p.get("tier")}
        if p.get("region_code"):
            cols["region_code"] = p["region_code"]
        await run(session, [self._ticket(session, env, **cols)])
        if p.get("tier") == "red" and self.s.open_cases_for_red:
            await case_ops.ensure_case_for_ticket(self.rt, session, env, source="red_ticket", red=True)

    async def tier_changed(self, session: AsyncSession, env: EventEnvelope) -> None:
        """A ticket turned red: open (or join) its supervision case."""
        p = env.payload
        await run(session, [self._ticket(session, env, tier=p.get("new_tier"))])
        if p.get("new_tier") == "red" and self.s.open_cases_for_red:
            await case_ops.ensure_case_for_ticket(self.rt, session, env, source="red_ticket", red=True)

    async def ticket_dispatched(self, session: AsyncSession, env: EventEnvelope) -> None:
        """Count the dispatch, learn the unit's name and region, name the unit on open cases."""
        p = env.payload
        lead, rnd = p["lead_unit"], int(p.get("round") or 1)
        at = _dt(p.get("dispatched_at"), env.occurred_at)
        day = self.day(at)
        region = p.get("region_code")
        co_units = p.get("co_units") or []
        await run(session, [
            self._ticket(session, env, lead_unit=lead, round=rnd, status="dispatched",
                         **({"region_code": region} if region else {})),
            upsert_op(session, units, ["unit"], {"unit": lead, "name": p.get("lead_unit_name"),
                                                 "region_code": domain.unit_region(lead, region),
                                                 "level": p.get("unit_level")}),
            upsert_op(session, units, ["unit"], [{"unit": co, "region_code": domain.unit_region(co, region)}
                                                 for co in co_units], update=[]),
            put_round_op(session, env.ticket_id, rnd, unit=lead),
            # the lead unit and the co-units in one statement
            increment_op(session, [(lead, day, {"received": 1, "dispatched": 1}),
                                   *((co, day, {"received": 1}) for co in co_units)]),
        ])
        await case_ops.add_unit_to_open_cases(self.rt, session, env.ticket_id, lead, at)

    async def _count_sign(self, session: AsyncSession, env: EventEnvelope, unit: str, at: datetime,
                          rnd: int, deemed: bool, via: str | None = None) -> None:
        r = await get_round(session, env.ticket_id, rnd)
        if r.signed_at is not None:
            return  # signed once per round: triage's deemed sign and sla's DeemedSigned are the same fact
        # A deemed sign is never in time, except one that follows a rejected return request
        # (via="return_rejected"): the unit answered within its window by asking to return, the ruling then
        # made it sign; it is in time when the ruling came by the acceptance deadline, late after it.
        # Without a known deadline the count is provisional; ClockStarted takes it back when late. It stays
        # a deemed sign either way (deemed_signed), so sla's DeemedSigned arriving first counts the same.
        by_ruling = via == "return_rejected"
        in_time = (not deemed or by_ruling) and (r.accept_due is None or at <= r.accept_due)
        await run(session, [
            set_round_op(env.ticket_id, rnd, signed_at=at, sign_unit=unit, sign_in_time=in_time),
            increment_op(session, [(unit, self.day(at), {
                "signed": 1, "deemed_signed": int(deemed), "signed_in_time": int(in_time)})])])

    async def ticket_signed(self, session: AsyncSession, env: EventEnvelope) -> None:
        """Signed: in time when before the acceptance deadline (provisional until sla's clock is known)."""
        p = env.payload
        await self._count_sign(session, env, p["unit"], _dt(p.get("signed_at"), env.occurred_at),
                               int(p.get("round") or 1), bool(p.get("deemed")), p.get("via"))

    async def deemed_signed(self, session: AsyncSession, env: EventEnvelope) -> None:
        """sla: the window passed, counted as signed (never in time)."""
        p = env.payload
        await self._count_sign(session, env, p["unit"], _dt(p.get("at"), env.occurred_at),
                               int(p.get("round") or 1), True)

    async def return_requested(self, session: AsyncSession, env: EventEnvelope) -> None:
        """The unit asked to return the ticket."""
        p = env.payload
        day = self.day(_dt(p.get("requested_at"), env.occurred_at))
        await run(session, [increment_op(session, [(p["unit"], day, {"returned": 1})])])

    async def return_decided(self, session: AsyncSession, env: EventEnvelope) -> None:
        """The work team approved a return: count it for the returning unit."""
        p = env.payload
        if p.get("approved"):
            day = self.day(_dt(p.get("decided_at"), env.occurred_at))
            await run(session, [increment_op(session, [(p["unit"], day, {"return_approved": 1})])])

    async def resolution_submitted(self, session: AsyncSession, env: EventEnvelope) -> None:
        """The unit's result: count it, judge it in time, make the ticket due for a return visit."""
        p = env.payload
        rnd, unit = int(p.get("round") or 1), p["unit"]
        at = _dt(p.get("submitted_at"), env.occurred_at)
        r = await get_round(session, env.ticket_id, rnd)
        if r.resolved_at is not None:
            return
        in_time = r.resolve_due is None or at <= r.resolve_due
        visit_due = r.visit_due or at + timedelta(hours=self.s.visit_due_hours)
        await run(session, [
            set_round_op(env.ticket_id, rnd, resolved_at=at, resolve_unit=unit, outcome=p.get("outcome"),
                         resolve_in_time=in_time, visit_due=visit_due),
            self._ticket(session, env, status="resolved", round=rnd),
            increment_op(session, [(unit, self.day(at), {
                "resolved": 1, "self_resolved": int(p.get("outcome") == "resolved"),
                "resolved_in_time": int(in_time)})])])

    async def ticket_reopened(self, session: AsyncSession, env: EventEnvelope) -> None:
        """Redo: a new round; the next result gets a new visit."""
        p = env.payload
        rnd = int(p.get("round") or 1)
        await run(session, [put_round_op(session, env.ticket_id, rnd, unit=p.get("unit")),
                            self._ticket(session, env, status="reopened", round=rnd)])

    async def ticket_closed(self, session: AsyncSession, env: EventEnvelope) -> None:
        """Closed by triage."""
        p = env.payload
        closed_at = _dt(p.get("closed_at"), env.occurred_at)
        await run(session, [self._ticket(session, env, status="closed", closed_at=closed_at)])

    # ---- sla ----
    async def clock_started(self, session: AsyncSession, env: EventEnvelope) -> None:
        """Deadlines of a round; corrects provisional in-time counts made before the clock was known."""
        p = env.payload
        rnd = int(p.get("round") or 1)
        accept_due = _dt(p.get("accept_due"), env.occurred_at) if p.get("accept_due") else None
        resolve_due = _dt(p.get("resolve_due"), env.occurred_at) if p.get("resolve_due") else None
        r = await set_clock(session, env.ticket_id, rnd, p.get("unit"), accept_due, resolve_due)
        fix: dict[str, Any] = {}
        counts: Counts = []
        if r.sign_in_time and accept_due is not None and r.signed_at is not None and r.signed_at > accept_due:
            fix["sign_in_time"] = False
            counts.append((r.sign_unit, self.day(r.signed_at), {"signed_in_time": -1}))
        if r.resolve_in_time and resolve_due is not None and r.resolved_at is not None \
                and r.resolved_at > resolve_due and not r.extended:
            fix["resolve_in_time"] = False
            counts.append((r.resolve_unit, self.day(r.resolved_at), {"resolved_in_time": -1}))
        if fix:
            await run(session, [set_round_op(env.ticket_id, rnd, **fix), increment_op(session, counts)])

    async def _move_deadline(self, session: AsyncSession, env: EventEnvelope, *, extension: bool) -> None:
        p = env.payload
        rnd = int(p.get("round") or 1)
        r = await get_round(session, env.ticket_id, rnd)
        new_due = _dt(p["resolve_due"], env.occurred_at) if p.get("resolve_due") else r.resolve_due
        unit = p.get("unit") or r.unit
        vals: dict[str, Any] = {"resolve_due": new_due, "extended": bool(r.extended) or extension}
        counts: Counts = []
        if extension and not r.extended and unit:
            counts.append((unit, self.day(_dt(p.get("decided_at"), env.occurred_at)), {"extended": 1}))
        if r.resolved_at is not None and new_due is not None and r.resolve_unit:
            now_in_time = r.resolved_at <= new_due
            if bool(r.resolve_in_time) != now_in_time:  # re-judge a result that arrived before the move
                vals["resolve_in_time"] = now_in_time
                counts.append((r.resolve_unit, self.day(r.resolved_at),
                               {"resolved_in_time": 1 if now_in_time else -1}))
        await run(session, [set_round_op(env.ticket_id, rnd, **vals), increment_op(session, counts)])

    async def extension_decided(self, session: AsyncSession, env: EventEnvelope) -> None:
        """An approved extension (延期): count it once per round and move the deadline."""
        if env.payload.get("approved"):
            await self._move_deadline(session, env, extension=True)

    async def deadline_changed(self, session: AsyncSession, env: EventEnvelope) -> None:
        """The resolution deadline moved (resume, calendar loaded, extension): follow it without counting."""
        await self._move_deadline(session, env, extension=False)

    async def visit_due(self, session: AsyncSession, env: EventEnvelope) -> None:
        """sla's due time for the return visit, when it publishes one."""
        p = env.payload
        rnd = int(p.get("round") or 1)
        due = p.get("due")
        if not due and p.get("due_date"):
            due = datetime.combine(date.fromisoformat(p["due_date"]), time(23, 59, 59), tzinfo=self.tz)
        if due:
            await run(session, [put_round_op(session, env.ticket_id, rnd, visit_due=_dt(due, env.occurred_at))])

    async def alert_raised(self, session: AsyncSession, env: EventEnvelope) -> None:
        """The alarm step means overdue: count once per round."""
        p = env.payload
        if p.get("level") != "alarm":
            return
        rnd = int(p.get("round") or 1)
        r = await get_round(session, env.ticket_id, rnd)
        if r.overdue:
            return
        day = self.day(_dt(p.get("raised_at"), env.occurred_at))
        await run(session, [set_round_op(env.ticket_id, rnd, overdue=True),
                            increment_op(session, [(p["unit"], day, {"overdue": 1})])])

    async def urge_issued(self, session: AsyncSession, env: EventEnvelope) -> None:
        """An urge notice (催办)."""
        p = env.payload
        day = self.day(_dt(p.get("at"), env.occurred_at))
        await run(session, [increment_op(session, [(p["unit"], day, {"urged": 1})])])

    async def escalated(self, session: AsyncSession, env: EventEnvelope) -> None:
        """Escalated to supervision: open (or join) the ticket's case, naming the unit."""
        p = env.payload
        at = _dt(p.get("at"), env.occurred_at)
        if self.s.open_cases_for_escalation:
            await case_ops.ensure_case_for_ticket(self.rt, session, env, source="escalation", red=False,
                                                  unit=p["unit"], reason=p.get("reason"))
        else:
            await run(session, [increment_op(session, [(p["unit"], self.day(at), {"supervised": 1})])])

    async def tier_copy_issued(self, session: AsyncSession, env: EventEnvelope) -> None:
        """triage's tier copy: red → supervision case with the business-environment office and discipline
        inspection as supervisors (the one TicketTriaged/TierChanged opened, or a new one if this came first);
        yellow → a joint-scheduling copy; green → an archive copy. Once per ticket, purpose and round."""
        p = env.payload
        purpose, rnd = str(p.get("purpose") or "unknown"), int(p.get("round") or 1)
        at = _dt(p.get("issued_at"), env.occurred_at)
        kinds, to_units = list(p.get("to_kinds") or []), list(p.get("to_units") or [])
        case_id = None
        if purpose == "supervision" and self.s.open_cases_for_red:
            # only a new copy touches the case; any other copy issued again is left alone by the insert
            # below (one per ticket, purpose and round), so only this one needs to look first
            key = {"ticket_no": env.ticket_id, "purpose": purpose, "round": rnd}
            if (await session.execute(_COPY_EXISTS, key)).first() is not None:
                return  # the same copy issued again (replay, re-issue): nothing new
            case_id = await case_ops.ensure_case_for_ticket(self.rt, session, env, source="red_ticket", red=True)
            await case_ops.add_supervisors(self.rt, session, case_id, kinds, to_units, {
                "purpose": purpose, "tier": p.get("tier"), "to_kinds": kinds, "to_units": to_units,
                "reason": p.get("reason"), "round": rnd}, at)
        await run(session, [upsert_op(session, copies, ["ticket_no", "purpose", "round"], {
            "copy_id": case_ops.new_id("CPY"), "ticket_no": env.ticket_id, "round": rnd, "purpose": purpose,
            "tier": str(p.get("tier") or ""), "to_kinds": kinds, "to_units": to_units, "reason": p.get("reason"),
            "issued_at": at, "case_id": case_id, "event_id": str(env.event_id), "recorded_at": datetime.now(UTC)},
            update=[])])

    def table(self) -> dict[str, Handler]:
        """Event type → handler."""
        h: dict[str, Handler] = {
            "TicketReceived": self.ticket_received,
            "TicketTriaged": self.ticket_triaged,
            "TierChanged": self.tier_changed,
            "TicketDispatched": self.ticket_dispatched,
            "TicketSigned": self.ticket_signed,
            "ReturnRequested": self.return_requested,
            "ReturnDecided": self.return_decided,
            "ResolutionSubmitted": self.resolution_submitted,
            "TicketReopened": self.ticket_reopened,
            "TicketClosed": self.ticket_closed,
            "ClockStarted": self.clock_started,
            "AlertRaised": self.alert_raised,
            "DeemedSigned": self.deemed_signed,
            "UrgeIssued": self.urge_issued,
            "EscalatedToSupervision": self.escalated,
            "ExtensionDecided": self.extension_decided,
            "DeadlineChanged": self.deadline_changed,
            "ClockResumed": self.deadline_changed,
            "ReturnVisitDue": self.visit_due,
            "TierCopyIssued": self.tier_copy_issued,
        }
        return h
