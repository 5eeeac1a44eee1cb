"""The timeline projection of a batch has the effect of applying its events one by one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from helpers import ticket
from sqlalchemy import select

from bancheng_services.testing import RunningService, auth
from bancheng_shared.contracts import EventEnvelope, make_event
from bancheng_shared.contracts.sla import AlertRaised, ClockStarted
from bancheng_shared.contracts.triage import TicketDispatched, TicketSigned, TicketTriaged
from intake_svc import consumers
from intake_svc.store import sms_outbox, tickets, timeline


def _life(no: str, now: datetime) -> list[EventEnvelope]:
    return [
        make_event(TicketTriaged(category="complaint", domain="market_supervision", department_kinds=["x"],
                                 tier="yellow", response_level=2, route="dispatch"),
                   ticket_id=no, producer="triage-svc"),
        make_event(TicketDispatched(lead_unit="U1", lead_unit_name="东湖区市场监管局", unit_level=2, tier="yellow",
                                    response_level=2, dispatched_at=now), ticket_id=no, producer="triage-svc"),
        make_event(AlertRaised(level="reported", unit="U1", raised_at=now), ticket_id=no, producer="sla-svc"),
        # a re-dispatch in the same batch: the second `reported` names the new unit, the first the old one
        make_event(TicketDispatched(lead_unit="U2", lead_unit_name="东湖区城管局", unit_level=2, tier="red",
                                    response_level=1, dispatched_at=now), ticket_id=no, producer="triage-svc"),
        make_event(AlertRaised(level="reported", unit="U2", raised_at=now), ticket_id=no, producer="sla-svc"),
        make_event(ClockStarted(unit="U2", round=1, working_days=5, started_at=now, calendar_version="2026-v1",
                                resolve_due=now + timedelta(days=7), accept_due=now + timedelta(days=2)),
                   ticket_id=no, producer="sla-svc"),
        make_event(TicketSigned(unit="U2", round=1, signed_at=now), ticket_id=no, producer="triage-svc"),
    ]


async def _state(svc: RunningService, no: str) -> tuple:
    async with svc.runtime.sm() as s:
        t = (await s.execute(select(tickets.c.status, tickets.c.status_label, tickets.c.unit, tickets.c.unit_name,
                                    tickets.c.tier, tickets.c.deadline).where(tickets.c.ticket_no == no))).one()
        steps = (await s.execute(select(timeline.c.event_type, timeline.c.label, timeline.c.public)
                                 .where(timeline.c.ticket_no == no).order_by(timeline.c.id))).all()
        sms = (await s.execute(select(sms_outbox.c.text).where(sms_outbox.c.ticket_no == no)
                               .order_by(sms_outbox.c.id))).scalars().all()
    return tuple(t), [tuple(x) for x in steps], [x.replace(no, "NO") for x in sms]


async def test_a_batch_projects_as_its_events_one_by_one(intake: RunningService) -> None:
    h = auth("operator")
    a = (await intake.client.post("/v1/tickets", json=ticket("超市卖过期牛奶", region=None), headers=h)).json()
    b = (await intake.client.post("/v1/tickets", json=ticket("商场卖过期面包", region=None), headers=h)).json()
    ctx = intake.app.state.intake
    now = datetime.now(UTC)
    async with intake.runtime.sm() as s, s.begin():
        await consumers.project_batch(ctx, s, _life(a["ticket_no"], now))
    for env in _life(b["ticket_no"], now):
        async with intake.runtime.sm() as s, s.begin():
            await consumers.project_batch(ctx, s, [env])
    got_a, got_b = await _state(intake, a["ticket_no"]), await _state(intake, b["ticket_no"])
    assert got_a[0][2:4] == ("U2", "东湖区城管局") and got_a[0][4] == "red" and got_a[0][5] is not None
    assert len(got_a[1]) >= 6
    assert ["东湖区市场监管局" in got_a[2][0], "东湖区城管局" in got_a[2][1]] == [True, True]
    assert got_a[0] == got_b[0] and got_a[1][1:] == got_b[1][1:] and got_a[2] == got_b[2]
