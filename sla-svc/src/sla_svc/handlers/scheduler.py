"""The scheduler: due steps of the alert ladder fired in due order, exactly once across replicas; the simulated
time of tests and training."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import structlog
from prometheus_client import Counter
from sqlalchemy import delete, insert

from bancheng_shared.errors import Problem
from bancheng_shared.messagebus import MessageBus
from bancheng_shared.unit_of_work import UnitOfWork
from sla_svc.adapters.clocks import ClockStore
from sla_svc.adapters.tables import sim_time
from sla_svc.context import Sla
from sla_svc.domain import unknown_years
from sla_svc.domain.bounds import check_instant
from sla_svc.domain.commands import FireDueTransitions, SetSimulatedTime
from sla_svc.domain.ladder import ACTIVE, Fired, fire
from sla_svc.handlers.calendars import recompute_flagged
from sla_svc.handlers.pauses import resume_due

log = structlog.get_logger("sla.scheduler")
TRANSITIONS_FIRED = Counter("bancheng_sla_transitions_fired", "Due transitions of the alert ladder fired (and pauses "
                            "ended by themselves)")


async def _fire_batch(uow: UnitOfWork, sla: Sla, now: datetime, limit: int, only: int | None) -> tuple[int, int]:
    """Claim due timers and fire them in due order; returns (fired, claimed)."""
    store = ClockStore(uow.session)
    claimed = await store.claim_due(now, limit, only)
    if not claimed:
        return 0, 0
    found, blocked = await store.clocks_of_timers(claimed, now)
    done: list[int] = []
    changed: dict[tuple[str, int], dict[str, Any]] = {}
    out = Fired()
    fired = 0
    for t in claimed:
        key = (t["ticket_no"], t["round"])
        if key in blocked:
            continue  # another replica holds an earlier step of this clock: its order comes first
        done.append(t["id"])
        c = found.get(key)
        if c is None or t["gen"] != c["gen"] or c["state"] not in ACTIVE:
            continue  # stale: the clock moved on since the timer was planned
        if t["kind"] == "resume":  # an approved pause is up: the clock runs again, its ladder re-armed
            done.pop()  # dropped now: SQLite may reuse its id for a timer the resume plans
            await store.drop_timers([t["id"]])
            await _flush(uow, store, out)  # what fired before it goes out first (per-ticket order)
            fired += await resume_due(uow, store, c, t["due_at"], sla)
        elif fire(c, t["kind"], t["due_at"], now=now, book=sla.book, policy=sla.policy, out=out):
            fired += 1
            changed[key] = c
            # an urge whose escalation needs an unknown year: flagged, planned once the year is loaded
            out.events.extend((c["ticket_no"], e) for e in unknown_years.flag(c, sla.book, sla.policy, now))
    await store.drop_timers(done)
    await store.save_fired(list(changed.values()), now)
    await _flush(uow, store, out)
    return fired, len(claimed)


async def _flush(uow: UnitOfWork, store: ClockStore, out: Fired) -> None:
    """Store the alerts and further timers fired so far and emit their events, in order."""
    await store.add_alerts(out.alerts)
    await store.add_timers(out.timers)
    for ticket_no, event in out.events:
        uow.emit(event, ticket_no=ticket_no)
    out.alerts.clear()
    out.timers.clear()
    out.events.clear()


async def fire_due(cmd: FireDueTransitions, uow: UnitOfWork, sla: Sla) -> tuple[int, int]:
    """One pass: a batch of due timers (SKIP LOCKED on PostgreSQL) fired in one transaction; a batch that fails is
    fired again one timer per transaction (a timer that fails alone is parked). Returns (fired, claimed)."""
    limit = cmd.limit or sla.settings.scheduler_batch_size
    now = sla.time.now()
    try:
        async with uow:
            fired, claimed = await _fire_batch(uow, sla, now, limit, None)
    except Exception as exc:
        log.warning("scheduler_batch_failed", error=repr(exc))
        fired, claimed = await _fire_one_by_one(sla, now, limit)
    sla.passes += 1
    if fired:
        sla.fired_total += fired
        TRANSITIONS_FIRED.inc(fired)
    return fired, claimed


async def _fire_one_by_one(sla: Sla, now: datetime, limit: int) -> tuple[int, int]:
    async with sla.rt.sm() as session:
        ids = await ClockStore(session).due_ids(now, limit)
    fired = 0
    for timer_id in ids:
        try:
            async with sla.rt.unit_of_work() as uow:
                fired += (await _fire_batch(uow, sla, now, 1, timer_id))[0]
        except Exception as exc:
            log.error("timer_failed", timer_id=timer_id, error=repr(exc))
            async with sla.rt.unit_of_work() as uow:
                await ClockStore(uow.session).fail_timer(timer_id, repr(exc))
    return fired, len(ids)


async def run_until_idle(bus: MessageBus[Sla], max_passes: int = 10_000) -> int:
    """Run passes until nothing (more) is due; returns how many transitions fired."""
    total = 0
    for _ in range(max_passes):
        fired, claimed = await bus.handle(FireDueTransitions())
        total += fired
        if claimed == 0 or (fired == 0 and claimed < bus.ctx.settings.scheduler_batch_size):
            break
    return int(total)


async def scheduler_loop(bus: MessageBus[Sla]) -> None:
    """Fire due transitions until cancelled; woken early by a time change or a new calendar."""
    sla = bus.ctx
    while True:
        try:
            async with sla.rt.sm() as session:
                changed = await sla.refresh(session)
            if changed:  # (sessions never nest: SQLite runs on one pooled connection per process)
                async with sla.rt.unit_of_work() as uow:
                    await recompute_flagged(uow, sla)
            await run_until_idle(bus)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error("scheduler_pass_failed", error=repr(exc))
        await sla.wait(sla.settings.scheduler_interval_s)


async def set_time(cmd: SetSimulatedTime, uow: UnitOfWork, sla: Sla) -> None:
    """Set (or with None clear) the simulated time, shared by the replicas through the database.

    Setting one is refused (409) unless the service allows it; clearing always answers (real time is in force).
    """
    if cmd.now is not None and not sla.settings.simulated_time_allowed:
        raise Problem(409, "simulated time is not allowed on this service (SLA_SIMULATED_TIME_ALLOWED is off)",
                      type_="simulated-time-disabled")
    if cmd.now is not None:
        check_instant(cmd.now, sla.tz, "now")
    async with uow:
        await uow.session.execute(delete(sim_time))
        if cmd.now is not None:
            await uow.session.execute(insert(sim_time).values(name="now", now=cmd.now, running=cmd.running,
                                                              set_at=datetime.now(UTC)))
    sla.time.set(cmd.now, cmd.running)
    sla.wake()
