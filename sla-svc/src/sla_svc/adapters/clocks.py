"""The clocks' store: clocks, their timers and alerts, extension requests and pauses, on prebuilt statements.

Statements are built once: building one (coercing every value into a bind, computing its cache key) costs more
than running it, so a call only brings its parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bancheng_shared.db import insert_rows, is_postgres
from sla_svc.adapters.tables import alerts, clocks, extension_requests, pause_requests, pauses, timers
from sla_svc.domain.ladder import ACTIVE

MUTABLE = [c.name for c in clocks.columns if c.name not in ("ticket_no", "round")]
FIRED = ("signed", "deemed_signed", "alert_level", "urged_at", "escalated_at", "unknown_year", "flagged_years",
         "detail", "updated_at")

_ticket_no = bindparam("k_ticket_no", type_=clocks.c.ticket_no.type)
_round = bindparam("k_round", type_=clocks.c.round.type)
_LATEST = select(clocks).where(clocks.c.ticket_no == _ticket_no).order_by(clocks.c.round.desc()).limit(1)
_OF_ROUND = select(clocks).where(clocks.c.ticket_no == _ticket_no, clocks.c.round == _round)
# (by round?, locked?) -> query
_CLOCK = {(False, False): _LATEST, (False, True): _LATEST.with_for_update(),
          (True, False): _OF_ROUND, (True, True): _OF_ROUND.with_for_update()}
_ACTIVE = select(clocks).where(clocks.c.ticket_no == _ticket_no, clocks.c.state.in_(ACTIVE)).with_for_update()
_ACTIVE_EARLIER = (select(clocks).where(clocks.c.ticket_no == _ticket_no, clocks.c.round < _round,
                                        clocks.c.state.in_(ACTIVE)).with_for_update())
_INSERT_CLOCK = insert(clocks)
_SAVE_CLOCK = (update(clocks).where(clocks.c.ticket_no == _ticket_no, clocks.c.round == _round)
               .values({k: bindparam(k, type_=clocks.c[k].type) for k in MUTABLE}))
_SAVE_FIRED = (update(clocks).where(clocks.c.ticket_no == _ticket_no, clocks.c.round == _round)
               .values({k: bindparam(f"v_{k}", type_=clocks.c[k].type) for k in FIRED}))
# rows a scheduler replica holds are skipped; the generation check makes them no-ops when fired
_DROP_PENDING_TIMERS = delete(timers).where(timers.c.id.in_(
    select(timers.c.id).where(timers.c.ticket_no == _ticket_no, timers.c.round == _round,
                              timers.c.status == "pending")
    .with_for_update(skip_locked=True).scalar_subquery()))
_INSERT_TIMERS = insert(timers)
_INSERT_ALERT = insert(alerts)
_CLOSE_ALERTS = (update(alerts).where(alerts.c.ticket_no == _ticket_no, alerts.c.round == _round,
                                      alerts.c.is_open.is_(True))
                 .values(is_open=False, closed_at=bindparam("k_now", type_=alerts.c.closed_at.type)))
_CLOSE_ALERT_LEVELS = _CLOSE_ALERTS.where(alerts.c.level.in_(bindparam("k_levels", expanding=True)))
_DUE = (select(timers).where(timers.c.status == "pending", timers.c.due_at <= bindparam("now"))
        .order_by(timers.c.due_at, timers.c.id))


def _row(r: Any) -> dict[str, Any]:
    return dict(r._mapping)


class ClockStore:
    """A unit of work's view of the clocks (one per transaction: it holds the session)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, ticket_no: str, round_: int | None = None, *, lock: bool = False) -> dict[str, Any] | None:
        """The clock of a round (or the latest round), optionally locked."""
        params: dict[str, Any] = {"k_ticket_no": ticket_no}
        if round_ is not None:
            params["k_round"] = round_
        r = (await self.session.execute(_CLOCK[(round_ is not None, lock)], params)).first()
        return _row(r) if r else None

    async def active(self, ticket_no: str, *, before_round: int | None = None) -> list[dict[str, Any]]:
        """A ticket's running or paused clocks (of rounds before one), locked."""
        if before_round is None:
            rows = await self.session.execute(_ACTIVE, {"k_ticket_no": ticket_no})
        else:
            rows = await self.session.execute(_ACTIVE_EARLIER, {"k_ticket_no": ticket_no, "k_round": before_round})
        return [_row(r) for r in rows.all()]

    async def flagged(self) -> list[dict[str, Any]]:
        """Flagged clocks with a step that waits for a calendar year (running or paused; resolved with the return
        visit not computed), locked."""
        waiting = or_(clocks.c.state.in_(ACTIVE), and_(clocks.c.state == "resolved",
                                                        clocks.c.return_visit_due.is_(None)))
        rows = await self.session.execute(select(clocks).where(clocks.c.unknown_year.is_(True), waiting)
                                          .order_by(clocks.c.ticket_no, clocks.c.round).with_for_update())
        return [_row(r) for r in rows.all()]

    async def add(self, c: dict[str, Any], timer_rows: list[dict[str, Any]]) -> None:
        """Store a new clock, complete, with its planned timers."""
        await self.session.execute(_INSERT_CLOCK, c)
        if timer_rows:
            await self.session.execute(_INSERT_TIMERS, timer_rows)

    async def latest_of(self, ticket_nos: list[str]) -> dict[str, dict[str, Any]]:
        """Each ticket's latest clock (tickets without one left out), every round of them locked in key order (no
        deadlock between replicas)."""
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ticket_nos), 500):
            rows = await self.session.execute(
                select(clocks).where(clocks.c.ticket_no.in_(sorted(ticket_nos[start:start + 500])))
                .order_by(clocks.c.ticket_no, clocks.c.round).with_for_update())
            found.update({r.ticket_no: _row(r) for r in rows.all()})  # in round order: the latest stays
        return found

    async def add_many(self, new: list[tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]]) -> None:
        """Store new clocks with their planned timers and first alerts: one multi-row insert per table."""
        await insert_rows(self.session, _INSERT_CLOCK, [c for c, _, _ in new])
        await insert_rows(self.session, _INSERT_TIMERS, [t for _, rows, _ in new for t in rows])
        await insert_rows(self.session, _INSERT_ALERT, [a for _, _, a in new])

    async def save(self, c: dict[str, Any], now: datetime) -> None:
        """Write a clock's changes."""
        c["updated_at"] = now
        params = {k: c[k] for k in MUTABLE}
        params["k_ticket_no"], params["k_round"] = c["ticket_no"], c["round"]
        await self.session.execute(_SAVE_CLOCK, params)

    async def replan(self, c: dict[str, Any], timer_rows: list[dict[str, Any]]) -> None:
        """Drop a clock's pending timers and store the new plan."""
        await self.session.execute(_DROP_PENDING_TIMERS, {"k_ticket_no": c["ticket_no"], "k_round": c["round"]})
        if timer_rows:
            await self.session.execute(_INSERT_TIMERS, timer_rows)

    async def add_timers(self, timer_rows: list[dict[str, Any]]) -> None:
        """Store further timers (an urge plans its escalation)."""
        if timer_rows:
            await self.session.execute(_INSERT_TIMERS, timer_rows)

    async def add_alerts(self, rows: Sequence[dict[str, Any]]) -> None:
        """Store raised alerts (open until the clock moves on)."""
        if rows:
            await self.session.execute(_INSERT_ALERT, list(rows))

    async def close_alerts(self, c: dict[str, Any], now: datetime, levels: list[str] | None = None) -> None:
        """Close a round's open alerts (of some levels only)."""
        params: dict[str, Any] = {"k_ticket_no": c["ticket_no"], "k_round": c["round"], "k_now": now}
        if levels:
            params["k_levels"] = levels
        await self.session.execute(_CLOSE_ALERT_LEVELS if levels else _CLOSE_ALERTS, params)

    # ------------------------------------------------------------------ the scheduler

    async def claim_due(self, now: datetime, limit: int, only: int | None = None) -> list[dict[str, Any]]:
        """Due timers in due order, locked (other replicas skip them)."""
        q = _DUE.limit(limit).with_for_update(skip_locked=True)
        if only is not None:
            q = q.where(timers.c.id == only)
        return [_row(r) for r in (await self.session.execute(q, {"now": now})).all()]

    async def due_ids(self, now: datetime, limit: int) -> list[int]:
        """Ids of due timers in due order (to fire them one by one after a failed batch)."""
        q = select(timers.c.id).where(timers.c.status == "pending", timers.c.due_at <= now)
        return list((await self.session.execute(q.order_by(timers.c.due_at, timers.c.id).limit(limit))).scalars())

    async def clocks_of_timers(self, claimed: list[dict[str, Any]],
                               now: datetime) -> tuple[dict[tuple[str, int], dict[str, Any]], set[tuple[str, int]]]:
        """The claimed timers' clocks, locked in key order; and the clocks another replica holds an earlier due
        timer of (skipped this pass, so each clock's steps keep their order)."""
        wanted = {(t["ticket_no"], t["round"]) for t in claimed}
        mine = {t["id"] for t in claimed}
        tickets = sorted({k[0] for k in wanted})
        found: dict[tuple[str, int], dict[str, Any]] = {}
        earliest: dict[tuple[str, int], int] = {}
        for start in range(0, len(tickets), 500):
            chunk = tickets[start:start + 500]
            # lock the clocks in key order (no deadlock between replicas); handlers wait for us.
            # (by ticket_no: a row-value IN would scan the table on SQLite)
            rows = (await self.session.execute(select(clocks).where(clocks.c.ticket_no.in_(chunk))
                                               .order_by(clocks.c.ticket_no, clocks.c.round).with_for_update())).all()
            found.update({(r.ticket_no, r.round): _row(r) for r in rows if (r.ticket_no, r.round) in wanted})
            if is_postgres(self.session):  # SQLite has one writer: no other replica holds timers
                first = (await self.session.execute(
                    select(timers.c.ticket_no, timers.c.round, timers.c.id)
                    .where(timers.c.ticket_no.in_(chunk), timers.c.status == "pending", timers.c.due_at <= now)
                    .order_by(timers.c.due_at, timers.c.id))).all()
                for r in first:
                    earliest.setdefault((r.ticket_no, r.round), r.id)
        return found, {k for k, tid in earliest.items() if tid not in mine}

    async def drop_timers(self, ids: list[int]) -> None:
        """Delete fired (or stale) timers."""
        for start in range(0, len(ids), 500):
            await self.session.execute(delete(timers).where(timers.c.id.in_(ids[start:start + 500])))

    async def save_fired(self, changed: list[dict[str, Any]], now: datetime) -> None:
        """Write what firing changed on each clock, in one statement."""
        if changed:
            await self.session.execute(_SAVE_FIRED, [
                {"k_ticket_no": c["ticket_no"], "k_round": c["round"],
                 **{f"v_{k}": c[k] for k in FIRED if k != "updated_at"}, "v_updated_at": now} for c in changed])

    async def fail_timer(self, timer_id: int, error: str) -> None:
        """Park a timer that fails every time (kept with its error for the operators)."""
        await self.session.execute(update(timers).where(timers.c.id == timer_id)
                                   .values(status="failed", error=error[:2000]))

    # ------------------------------------------------------------------ extensions and pauses

    async def extension_request(self, ticket_no: str, round_: int, unit: str) -> dict[str, Any] | None:
        """The round's extension request of the unit, if it asked already."""
        r = (await self.session.execute(select(extension_requests).where(
            extension_requests.c.ticket_no == ticket_no, extension_requests.c.round == round_,
            extension_requests.c.unit == unit))).first()
        return _row(r) if r else None

    async def extension_request_by_id(self, ticket_no: str, request_id: str) -> dict[str, Any] | None:
        """An extension request, locked."""
        r = (await self.session.execute(select(extension_requests).where(
            extension_requests.c.id == request_id, extension_requests.c.ticket_no == ticket_no)
            .with_for_update())).first()
        return _row(r) if r else None

    async def add_extension_request(self, row: dict[str, Any]) -> None:
        """Store an extension request."""
        await self.session.execute(insert(extension_requests).values(**row))

    async def decide_extension_request(self, request_id: str, **values: Any) -> None:
        """Store the ruling on an extension request."""
        await self.session.execute(update(extension_requests).where(extension_requests.c.id == request_id)
                                   .values(**values))

    async def pauses_of(self, ticket_no: str, round_: int) -> list[dict[str, Any]]:
        """The round's pauses, oldest first."""
        rows = await self.session.execute(select(pauses).where(pauses.c.ticket_no == ticket_no,
                                                               pauses.c.round == round_).order_by(pauses.c.id))
        return [_row(r) for r in rows.all()]

    async def pending_pause_request(self, ticket_no: str, round_: int) -> dict[str, Any] | None:
        """The round's pause request still waiting for a ruling, if any."""
        r = (await self.session.execute(select(pause_requests).where(
            pause_requests.c.ticket_no == ticket_no, pause_requests.c.round == round_,
            pause_requests.c.state == "pending"))).first()
        return _row(r) if r else None

    async def pause_request_by_id(self, ticket_no: str, request_id: str) -> dict[str, Any] | None:
        """A pause request, locked."""
        r = (await self.session.execute(select(pause_requests).where(
            pause_requests.c.id == request_id, pause_requests.c.ticket_no == ticket_no).with_for_update())).first()
        return _row(r) if r else None

    async def add_pause_request(self, row: dict[str, Any]) -> None:
        """Store a pause request."""
        await self.session.execute(insert(pause_requests).values(**row))

    async def decide_pause_request(self, request_id: str, **values: Any) -> None:
        """Store the ruling on a pause request."""
        await self.session.execute(update(pause_requests).where(pause_requests.c.id == request_id).values(**values))

    async def add_pause(self, row: dict[str, Any]) -> None:
        """Store a pause."""
        await self.session.execute(insert(pauses).values(**row))

    async def set_pause_resume(self, ticket_no: str, round_: int, resume_at: datetime) -> None:
        """The open pause's end, once the calendar knows its day."""
        await self.session.execute(update(pauses).where(pauses.c.ticket_no == ticket_no, pauses.c.round == round_,
                                                        pauses.c.resumed_at.is_(None)).values(resume_at=resume_at))

    async def end_pause(self, ticket_no: str, round_: int, **values: Any) -> None:
        """Close the round's open pause."""
        await self.session.execute(update(pauses).where(pauses.c.ticket_no == ticket_no, pauses.c.round == round_,
                                                        pauses.c.resumed_at.is_(None)).values(**values))
