"""Helpers of sla's tests: triage events, feeding handlers directly, reading the outbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import select

from bancheng_services.testing import TEST_UNIT, RunningService, eventually, run_service
from bancheng_shared.contracts import EventEnvelope, make_event
from bancheng_shared.contracts.triage import (
    ResolutionSubmitted,
    ReturnDecided,
    ReturnRequested,
    TicketClosed,
    TicketDispatched,
    TicketReopened,
    TicketSigned,
)
from bancheng_shared.contracts.vocab import ResolutionOutcome, Tier
from bancheng_shared.messagebus import MessageBus
from bancheng_shared.unit_of_work import UnitOfWork
from sla_svc.adapters.tables import plumbing
from sla_svc.context import Sla

SH = ZoneInfo("Asia/Shanghai")


def local(s: str) -> datetime:
    """A Shanghai local time from 'YYYY-MM-DD HH:MM'."""
    return datetime.fromisoformat(s).replace(tzinfo=SH)


def dispatched(ticket: str, at: datetime, *, unit: str = TEST_UNIT, round_: int = 1, complex_: bool = False,
               level: int = 2, redispatch: bool = False, region: str | None = "339901001") -> EventEnvelope:
    return make_event(TicketDispatched(lead_unit=unit, lead_unit_name=unit, unit_level=2, region_code=region,
                                       tier=Tier.green, response_level=level, complex=complex_, round=round_,
                                       redispatch=redispatch, dispatched_at=at),
                      ticket_id=ticket, producer="triage-svc")


def signed(ticket: str, at: datetime, unit: str = TEST_UNIT, round_: int = 1) -> EventEnvelope:
    return make_event(TicketSigned(unit=unit, signed_at=at, round=round_), ticket_id=ticket, producer="triage-svc")


def return_requested(ticket: str, at: datetime, unit: str = TEST_UNIT) -> EventEnvelope:
    return make_event(ReturnRequested(unit=unit, reason="不属本单位职责", basis="三定方案", requested_at=at),
                      ticket_id=ticket, producer="triage-svc")


def return_decided(ticket: str, at: datetime, approved: bool, unit: str = TEST_UNIT,
                   new_unit: str | None = None) -> EventEnvelope:
    return make_event(ReturnDecided(unit=unit, approved=approved, reason="r", new_unit=new_unit, decided_at=at),
                      ticket_id=ticket, producer="triage-svc")


def resolved(ticket: str, at: datetime, unit: str = TEST_UNIT, round_: int = 1) -> EventEnvelope:
    return make_event(ResolutionSubmitted(unit=unit, outcome=ResolutionOutcome.resolved, reply="已处理",
                                          submitted_at=at, round=round_), ticket_id=ticket, producer="triage-svc")


def reopened(ticket: str, at: datetime, round_: int, unit: str = TEST_UNIT) -> EventEnvelope:
    return make_event(TicketReopened(unit=unit, round=round_, reason="回访不满意", reopened_at=at),
                      ticket_id=ticket, producer="triage-svc")


def closed(ticket: str, at: datetime) -> EventEnvelope:
    return make_event(TicketClosed(reason="满意", closed_at=at), ticket_id=ticket, producer="triage-svc")


def sla_of(svc: RunningService) -> Sla:
    s: Sla = svc.app.state.sla
    return s


async def feed(svc: RunningService, *envs: EventEnvelope) -> None:
    """Apply events through sla's handler map, each in its own transaction (as the consumer does)."""
    bus: MessageBus[Sla] = svc.app.state.bus
    for env in envs:
        async with svc.runtime.sm() as session, session.begin():
            async with UnitOfWork.bound(svc.runtime, session, cause=env, after=[]) as uow:
                await bus.on_envelope(uow, env)


async def published(svc: RunningService, ticket: str | None = None, type_: str | None = None) -> list[dict[str, Any]]:
    """sla's events about tickets written to its outbox, in order (calendar years only when asked by type)."""
    p = plumbing.outbox
    q = select(p.c.value).where(p.c.topic == "sla.clocks").order_by(p.c.id)
    if type_:
        q = q.where(p.c.event_type == type_)
    else:
        q = q.where(p.c.event_type != "CalendarYearLoaded")
    async with svc.runtime.sm() as session:
        rows = [orjson.loads(v) for v in (await session.execute(q)).scalars()]
    return [r for r in rows if ticket is None or r["ticket_id"] == ticket]


async def more_passes(svc: RunningService, n: int = 3) -> None:
    """Wait until the scheduler ran n more passes (what it would fire twice has had its chance to)."""
    sla = sla_of(svc)
    target = sla.passes + n

    async def done() -> bool:
        return sla.passes >= target

    await eventually(done)


@asynccontextmanager
async def sla_service(url: str, **overrides: Any) -> AsyncIterator[RunningService]:
    """sla without broker: handlers are fed directly, the scheduler runs when the test moves the time."""
    opts: dict[str, Any] = {"consumers_enabled": False, "relay_enabled": False, "scheduler_enabled": False,
                            "simulated_time_allowed": True, "calendar_seed_from_year": 2024}
    opts.update(overrides)
    async with run_service("sla", database_url=url, kafka_bootstrap="127.0.0.1:1", topic_prefix="x.",
                           **opts) as svc:
        yield svc
