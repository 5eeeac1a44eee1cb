"""The timeline projection of a batch has the effect of applying its events one by one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiokafka import ConsumerRecord, TopicPartition
from intake_helpers import ticket
from sqlalchemy import select

from bancheng_services.testing import RunningService, auth
from bancheng_shared.contracts import REGISTRY, EventEnvelope, make_event
from bancheng_shared.contracts.oversight import SuggestionAnswered, SuggestionRaised
from bancheng_shared.contracts.sla import AlertRaised, CalendarYearLoaded, ClockStarted, calendar_key
from bancheng_shared.contracts.triage import TicketDispatched, TicketSigned, TicketTriaged
from bancheng_shared.topics import SLA_CLOCKS, topic_name
from bancheng_shared.unit_of_work import UnitOfWork
from intake_svc.adapters.tables import deliveries, plumbing, sms_outbox, tickets, timeline
from intake_svc.handlers import EVENTS, project_batch


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
    ctx, bus, rt = intake.app.state.intake, intake.app.state.bus, intake.runtime
    now = datetime.now(UTC)
    # the consumer's batch path: the whole batch at once
    async with rt.unit_of_work() as uow:
        await project_batch(_life(a["ticket_no"], now), uow, ctx)
    # the consumer's per-event path: each event through its handler in the EVENTS map
    for env in _life(b["ticket_no"], now):
        async with UnitOfWork(rt, cause=env) as uow:
            await bus.on_envelope(uow, env)
    got_a, got_b = await _state(intake, a["ticket_no"]), await _state(intake, b["ticket_no"])
    assert got_a[0][2:4] == ("U2", "东湖区城管局") and got_a[0][4] == "red" and got_a[0][5] is not None
    assert len(got_a[1]) >= 6
    assert ["东湖区市场监管局" in got_a[2][0], "东湖区城管局" in got_a[2][1]] == [True, True]
    assert got_a[0] == got_b[0] and got_a[1][1:] == got_b[1][1:] and got_a[2] == got_b[2]


def _record(env: EventEnvelope, offset: int, prefix: str) -> ConsumerRecord:
    value = env.to_bytes()
    return ConsumerRecord(topic=topic_name(SLA_CLOCKS, prefix), partition=0, offset=offset, timestamp=0,
                          timestamp_type=0, key=env.ticket_no.encode(), value=value, checksum=None,
                          serialized_key_size=0, serialized_value_size=len(value), headers=())


async def test_a_calendar_year_is_not_a_ticket(intake: RunningService) -> None:
    """sla publishes CalendarYearLoaded on sla.clocks keyed `calendar-<year>`: no step, no callback, no SMS."""
    assert set(EVENTS) == set(REGISTRY.values()) - {CalendarYearLoaded, SuggestionRaised, SuggestionAnswered}
    h = auth("operator")
    sub = await intake.client.post("/v1/subscriptions", json={"name": "all", "url": "https://callback.example.cn/hook",
                                                              "event_types": ["*"], "secret": "sub-secret-0123456789"},
                                   headers=h)
    assert sub.status_code == 201
    no = (await intake.client.post("/v1/tickets", json=ticket("路灯不亮一个月了", region=None), headers=h)).json()[
        "ticket_no"]
    now = datetime.now(UTC)
    year = make_event(CalendarYearLoaded(year=2027, version=1, source="国务院办公厅通知（2026年11月）", loaded_at=now,
                                         holidays=[{"date": "2027-01-01", "name": "元旦"}]),
                      ticket_id=calendar_key(2027), producer="sla-svc")
    alert = make_event(AlertRaised(level="reported", unit="U1", raised_at=now), ticket_id=no, producer="sla-svc")
    consumer = intake.runtime.consumers[0]
    tp = TopicPartition(topic_name(SLA_CLOCKS, intake.settings.topic_prefix), 0)
    await consumer.process({tp: [_record(year, 0, intake.settings.topic_prefix),
                                 _record(alert, 1, intake.settings.topic_prefix)]})
    async with intake.runtime.sm() as s:
        about = {table.name: (await s.execute(select(table.c.ticket_no).where(
            table.c.ticket_no == calendar_key(2027)))).scalars().all() for table in (timeline, deliveries, sms_outbox)}
        queued = (await s.execute(select(deliveries.c.event_type).where(deliveries.c.ticket_no == no))).scalars()
        handled = set((await s.execute(select(plumbing.inbox.c.event_id))).scalars())
        steps = (await s.execute(select(timeline.c.event_type).where(timeline.c.ticket_no == no))).scalars().all()
    assert about == {"timeline": [], "deliveries": [], "sms_outbox": []}
    assert "AlertRaised" in set(queued) and "AlertRaised" in steps  # the ticket's event in the same batch was
    assert str(alert.event_id) in handled and str(year.event_id) not in handled
