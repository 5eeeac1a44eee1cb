"""The 报到 SMS reaches the unit (the service on a real broker, SQLite and PostgreSQL): triage's TicketDispatched
carries each unit's duty number from the org directory; intake keeps it encrypted, texts sla's `reported` alert to
it (masked in /v1/sms), parks the SMS of a unit without a number as `no_recipient` (never handed to the gateway,
counted in a metric) and releases it when a dispatch brings the number; a re-dispatch texts the new unit."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hooks_support import PII_KEY, Receiver, hooks_service
from intake_helpers import publish, ticket
from sqlalchemy import select

from bancheng_services.testing import Databases, RunningService, auth, eventually, run_service
from bancheng_shared.contracts import make_event
from bancheng_shared.contracts.envelope import EventEnvelope, EventPayload
from bancheng_shared.contracts.sla import AlertRaised
from bancheng_shared.contracts.triage import ReturnDecided, TicketDispatched
from bancheng_shared.topics import SLA_CLOCKS, TRIAGE_WORK_ORDERS
from intake_svc.adapters.tables import unit_contacts

MARKET = "339901-market_regulation"  # 东湖区市场监管局: a duty mobile in the directory
URBAN = "339901-urban_management"  # 东湖区城管局 (co-unit): its duty worker's mobile
EDU = "339901-education"  # 东湖区教育局: only a duty landline, no SMS number
WEST = "339902-market_regulation"  # 西岭区市场监管局: takes the returned ticket over
NUMBERS = {MARKET: "13500002222", URBAN: "13900007777", WEST: "18612340000"}


class Recording:
    """A gateway that takes every message and keeps what it was given."""

    records_only = False

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send(self, message: dict[str, Any]) -> None:
        """Keep the message."""
        self.sent.append(message)


@pytest.fixture
async def texting(databases: Databases, kafka_bootstrap: str, topic_prefix: str) -> AsyncIterator[RunningService]:
    """intake with an SMS gateway configured (replaced by a recording one in the tests)."""
    url = await databases.new("intake")
    async with run_service("intake", database_url=url, kafka_bootstrap=kafka_bootstrap, topic_prefix=topic_prefix,
                           pii_key=PII_KEY, sms_gateway_url="http://127.0.0.1:9/sms", sms_poll_s=0.05) as svc:
        yield svc


def _ev(payload: EventPayload, ticket_no: str, producer: str) -> EventEnvelope:
    return make_event(payload, ticket_id=ticket_no, producer=producer)


def _dispatched(lead: str, name: str, *, co: tuple[str, ...] = (), rnd: int = 1) -> TicketDispatched:
    """As triage publishes it: the numbers of the units that have one in the directory."""
    return TicketDispatched(lead_unit=lead, lead_unit_name=name, co_units=list(co), unit_level=2, tier="yellow",
                            response_level=2, round=rnd, redispatch=rnd > 1, dispatched_at=datetime.now(UTC),
                            unit_contacts={u: NUMBERS[u] for u in (lead, *co) if u in NUMBERS})


def _reported(unit: str, rnd: int = 1) -> AlertRaised:
    return AlertRaised(level="reported", unit=unit, raised_at=datetime.now(UTC), round=rnd)


async def _sms(svc: RunningService, **params: str) -> list[dict[str, Any]]:
    r = await svc.client.get("/v1/sms", params=params, headers=auth("operator"))
    assert r.status_code == 200, r.text
    return list(r.json())


async def _parked_total(svc: RunningService, outcome: str) -> float:
    text = (await svc.client.get("/metrics")).text
    m = re.search(rf'^bancheng_intake_sms_no_recipient_total{{outcome="{outcome}"}} (\S+)$', text, re.M)
    return float(m.group(1)) if m else 0.0


async def test_the_reported_sms_goes_to_the_units_duty_number(texting: RunningService) -> None:
    gateway = Recording()
    texting.app.state.intake.sms = gateway
    s, h = texting.settings, auth("operator")
    parked_before = await _parked_total(texting, "parked")
    food = (await texting.client.post("/v1/tickets", json=ticket("超市卖过期酸奶，店员拒绝退款", "13912345678"),
                                      headers=h)).json()["ticket_no"]
    school = (await texting.client.post("/v1/tickets", json=ticket("学校门口早晚接送堵车，希望增设护学岗"),
                                        headers=h)).json()["ticket_no"]
    # the ticket went to the market bureau with the urban-management bureau and the education bureau as co-units;
    # the school's ticket went to the education bureau alone, which has no SMS number in the directory
    await publish(s.kafka_bootstrap, s.topic_prefix, TRIAGE_WORK_ORDERS,
                  _ev(_dispatched(MARKET, "东湖区市场监管局", co=(URBAN, EDU)), food, "triage-svc"),
                  _ev(_dispatched(EDU, "东湖区教育局"), school, "triage-svc"))
    await publish(s.kafka_bootstrap, s.topic_prefix, SLA_CLOCKS,
                  _ev(_reported(MARKET), food, "sla-svc"), _ev(_reported(EDU), school, "sla-svc"))

    async def reported(ticket_no: str, status: str) -> Any:
        rows = [m for m in await _sms(texting, ticket_no=ticket_no, status=status) if m["kind"] == "alert_reported"]
        return rows or None

    (to_market,) = await eventually(lambda: reported(food, "sent"))
    assert to_market["unit_code"] == MARKET and to_market["to"] == "135****2222"
    assert MARKET in to_market["text"] and food in to_market["text"]
    handed = [m for m in gateway.sent if m["kind"] == "alert_reported"]
    assert [(m["to"], m["unit_code"]) for m in handed] == [("13500002222", MARKET)]

    # no number: parked with its reason, never handed to the gateway, counted
    (parked,) = await eventually(lambda: reported(school, "no_recipient"))
    assert parked["to"] is None and parked["attempts"] == 0 and parked["next_attempt_at"] is None
    assert "no SMS-capable contact" in parked["last_error"] and "组织目录" in parked["last_error"]
    assert parked in await _sms(texting, status="no_recipient", unit=EDU)
    assert await _parked_total(texting, "parked") >= parked_before + 1
    # every number is stored encrypted; the outbox shows it masked to everyone
    async with texting.runtime.sm() as session:
        stored = {r.unit_code: r for r in (await session.execute(
            select(unit_contacts).where(unit_contacts.c.ticket_no == food))).all()}
    assert set(stored) == {MARKET, URBAN, EDU} and stored[EDU].phone_enc is None
    assert stored[URBAN].phone_masked == "139****7777" and "13900007777" not in str(stored[URBAN].phone_enc)
    assert all("13500002222" not in str(m) for m in await _sms(texting, ticket_no=food))

    # the return is approved and the west district's bureau takes the school's ticket over: its own number
    await publish(s.kafka_bootstrap, s.topic_prefix, TRIAGE_WORK_ORDERS,
                  _ev(ReturnDecided(unit=EDU, approved=True, reason="不属本单位职责", new_unit=WEST,
                                    decided_at=datetime.now(UTC)), school, "triage-svc"),
                  _ev(_dispatched(WEST, "西岭区市场监管局", rnd=2), school, "triage-svc"))
    await publish(s.kafka_bootstrap, s.topic_prefix, SLA_CLOCKS, _ev(_reported(WEST, 2), school, "sla-svc"))
    (to_west,) = await eventually(lambda: reported(school, "sent"))
    assert to_west["unit_code"] == WEST and to_west["to"] == "186****0000"
    assert ("18612340000", WEST) in [(m["to"], m["unit_code"]) for m in gateway.sent]
    # the education bureau's still has nobody to go to
    assert [m["id"] for m in await _sms(texting, ticket_no=school, status="no_recipient")] == [parked["id"]]


async def test_a_parked_sms_is_released_when_the_dispatch_brings_the_number(texting: RunningService) -> None:
    gateway = Recording()
    texting.app.state.intake.sms = gateway
    s = texting.settings
    released_before = await _parked_total(texting, "released")
    no = (await texting.client.post("/v1/tickets", json=ticket("小区路灯坏了一个月没人修"),
                                    headers=auth("operator"))).json()["ticket_no"]
    # sla's alert came through before triage's dispatch (two topics: no order between them)
    await publish(s.kafka_bootstrap, s.topic_prefix, SLA_CLOCKS, _ev(_reported(URBAN), no, "sla-svc"))
    (parked,) = await eventually(lambda: _sms(texting, ticket_no=no, status="no_recipient"))
    await publish(s.kafka_bootstrap, s.topic_prefix, TRIAGE_WORK_ORDERS,
                  _ev(_dispatched(URBAN, "东湖区城管局"), no, "triage-svc"))
    (sent,) = await eventually(lambda: _sms(texting, ticket_no=no, status="sent"))
    assert sent["id"] == parked["id"] and sent["to"] == "139****7777" and sent["last_error"] is None
    assert [m["to"] for m in gateway.sent] == ["13900007777"]
    assert await _parked_total(texting, "released") >= released_before + 1


async def test_without_a_gateway_the_units_sms_is_recorded_with_its_masked_number(intake: RunningService) -> None:
    s = intake.settings
    no = (await intake.client.post("/v1/tickets", json=ticket("农贸市场活禽摊位污水横流"),
                                   headers=auth("operator"))).json()["ticket_no"]
    await publish(s.kafka_bootstrap, s.topic_prefix, TRIAGE_WORK_ORDERS,
                  _ev(_dispatched(MARKET, "东湖区市场监管局"), no, "triage-svc"))
    await publish(s.kafka_bootstrap, s.topic_prefix, SLA_CLOCKS, _ev(_reported(MARKET), no, "sla-svc"))
    (rec,) = await eventually(lambda: _sms(intake, ticket_no=no, status="recorded"))
    assert rec["kind"] == "alert_reported" and rec["to"] == "135****2222"


async def test_a_subscriber_never_receives_the_units_numbers(databases: Databases, kafka_bootstrap: str,
                                                             topic_prefix: str) -> None:
    async with hooks_service(databases, kafka_bootstrap, topic_prefix) as svc, Receiver(fail_first=0) as rx:
        c, s = svc.client, svc.settings
        sub = await c.post("/v1/subscriptions", json={"name": "区政务平台", "url": rx.url,
                                                      "event_types": ["TicketDispatched"],
                                                      "secret": "sub-secret-0123456789"}, headers=auth("operator"))
        assert sub.status_code == 201, sub.text
        no = (await c.post("/v1/tickets", json=ticket("河道里有人倾倒建筑垃圾"),
                           headers=auth("operator"))).json()["ticket_no"]
        await publish(s.kafka_bootstrap, s.topic_prefix, TRIAGE_WORK_ORDERS,
                      _ev(_dispatched(URBAN, "东湖区城管局", co=(MARKET,)), no, "triage-svc"))

        async def delivered() -> list[Any]:
            return rx.received

        (_headers, body), = await eventually(delivered)
        env = orjson.loads(body)
        assert env["type"] == "TicketDispatched" and env["payload"]["lead_unit"] == URBAN
        assert "unit_contacts" not in env["payload"] and b"13900007777" not in body and b"13500002222" not in body
