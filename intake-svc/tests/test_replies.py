"""Replies reach the person (the service on a real broker, SQLite and PostgreSQL): the unit's reply and the rulings
that change the wait show on the public page and are texted to the complainant (masked in /v1/sms); a failed
text is retried with backoff, then parked as `failed`."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hooks_support import PII_KEY
from intake_helpers import publish, ticket

from bancheng_services.testing import Databases, RunningService, auth, eventually, run_service
from bancheng_shared.contracts import make_event
from bancheng_shared.contracts.sla import ExtensionDecided
from bancheng_shared.contracts.triage import ResolutionSubmitted, ReturnDecided, TicketDispatched
from bancheng_shared.topics import SLA_CLOCKS, TRIAGE_WORK_ORDERS

REPLY = "已责令超市下架过期牛奶，并为您办理退款"


async def _sms(svc: RunningService, ticket_no: str, **params: str) -> list[dict[str, Any]]:
    r = await svc.client.get("/v1/sms", params={"ticket_no": ticket_no, **params}, headers=auth("operator"))
    assert r.status_code == 200
    return list(r.json())


async def test_the_reply_and_the_rulings_reach_the_person(intake: RunningService) -> None:
    h = auth("operator")
    a = (await intake.client.post("/v1/tickets", json=ticket("超市卖过期牛奶，拒绝退款", "13912345678"),
                                  headers=h)).json()
    anon = (await intake.client.post("/v1/tickets", json=ticket("路灯不亮好几天了"), headers=h)).json()
    now = datetime.now(UTC)
    due = now + timedelta(days=10)
    for no in (a["ticket_no"], anon["ticket_no"]):
        triage_events = [
            make_event(TicketDispatched(lead_unit="U1", lead_unit_name="东湖区城管局", unit_level=2, tier="green",
                                        response_level=2, dispatched_at=now), ticket_id=no, producer="triage-svc"),
            make_event(ReturnDecided(unit="U1", approved=False, reason="属本单位职责", decided_at=now),
                       ticket_id=no, producer="triage-svc"),
            make_event(ReturnDecided(unit="U1", approved=True, reason="非本单位职责", new_unit="U2", decided_at=now),
                       ticket_id=no, producer="triage-svc"),
            make_event(ResolutionSubmitted(unit="U2", outcome="resolved", reply=REPLY, submitted_at=now),
                       ticket_id=no, producer="triage-svc")]
        sla_events = [
            make_event(ExtensionDecided(request_id="r0", unit="U2", days=3, approved=False, decided_at=now),
                       ticket_id=no, producer="sla-svc"),
            make_event(ExtensionDecided(request_id="r1", unit="U2", days=3, approved=True, decided_at=now,
                                        resolve_due=due), ticket_id=no, producer="sla-svc")]
        await publish(intake.settings.kafka_bootstrap, intake.settings.topic_prefix, SLA_CLOCKS, *sla_events)
        await publish(intake.settings.kafka_bootstrap, intake.settings.topic_prefix, TRIAGE_WORK_ORDERS,
                      *triage_events)

    async def replied() -> Any:
        r = await intake.client.get(f"/v1/public/tickets/{a['ticket_no']}", params={"phone_last4": "5678"})
        body = r.json()
        return body if body.get("reply") and any("延期" in s["label"] for s in body["steps"]) else None

    page = await eventually(replied)
    assert page["reply"] == REPLY and page["status"] == "resolved"
    labels = [s["label"] for s in page["steps"]]
    assert "原承办单位退回申请已批准，重新交办" in labels and "退回申请被驳回" not in labels
    assert [s["reply"] for s in page["steps"] if s["reply"]] == [REPLY]
    assert "13912345678" not in str(page) and "张三" not in str(page)

    async def texted() -> list[dict[str, Any]] | None:
        rows = await _sms(intake, a["ticket_no"])
        return rows if {"reply", "return_approved", "extension_approved"} <= {m["kind"] for m in rows} else None

    rows = await eventually(texted)
    kinds = sorted(m["kind"] for m in rows)
    assert kinds == ["extension_approved", "reply", "return_approved", "ticket_registered"]  # the refusals: none
    reply = next(m for m in rows if m["kind"] == "reply")
    assert reply["to"] == "139****5678" and REPLY in reply["text"] and reply["text"].startswith("【办成】")
    assert all("13912345678" not in str(m) for m in rows)

    # the anonymous ticket shows the reply on its page but has nobody to text
    async def anon_done() -> bool:
        t = (await intake.client.get(f"/v1/tickets/{anon['ticket_no']}", headers=h)).json()
        return t["status"] == "resolved" and any("延期" in s["label"] for s in t["timeline"])

    await eventually(anon_done)
    assert await _sms(intake, anon["ticket_no"]) == []
    # a unit key cannot read the outbox
    assert (await intake.client.get("/v1/sms", headers=auth("unit"))).status_code == 403


class Flaky:
    """A gateway that fails the first `fails` sends of each message, recording when each try came."""

    records_only = False

    def __init__(self, fails: int) -> None:
        self.fails = fails
        self.tries: dict[int, list[float]] = {}

    async def send(self, message: dict[str, Any]) -> None:
        """Fail (naming the number, as a careless gateway might) until the message's tries run out."""
        tries = self.tries.setdefault(message["id"], [])
        tries.append(time.monotonic())
        if len(tries) <= self.fails:
            raise RuntimeError(f"gateway refused {message['to']}")


@pytest.fixture
async def texting(databases: Databases, kafka_bootstrap: str, topic_prefix: str) -> AsyncIterator[RunningService]:
    """intake with an SMS gateway configured (replaced by a fake in the tests) and fast backoff."""
    url = await databases.new("intake")
    async with run_service("intake", database_url=url, kafka_bootstrap=kafka_bootstrap, topic_prefix=topic_prefix,
                           pii_key=PII_KEY, sms_gateway_url="http://127.0.0.1:9/sms", sms_poll_s=0.05,
                           sms_backoff_base_s=0.3, sms_backoff_max_s=5, sms_max_attempts=3) as svc:
        yield svc


async def test_a_failed_text_is_retried_with_backoff_then_parked(texting: RunningService) -> None:
    gateway = Flaky(fails=2)
    texting.app.state.intake.sms = gateway
    h = auth("operator")
    ok = (await texting.client.post("/v1/tickets", json=ticket("小区电梯停运三天", "13811112222"), headers=h)).json()

    async def sent() -> list[dict[str, Any]]:
        return await _sms(texting, ok["ticket_no"], status="sent")

    (msg,) = await eventually(sent)
    assert msg["attempts"] == 3 and msg["last_error"] == "RuntimeError: gateway refused 138****2222"
    t = gateway.tries[msg["id"]]
    # backoff doubles (0.3 s, then 0.6 s); equal jitter waits at least half of it
    assert t[1] - t[0] >= 0.3 / 2 * 0.9 and t[2] - t[1] >= 0.6 / 2 * 0.9

    gateway.fails = 10
    bad = (await texting.client.post("/v1/tickets", json=ticket("路口信号灯坏了", "13833334444"), headers=h)).json()

    async def waiting() -> list[dict[str, Any]]:
        rows = await _sms(texting, bad["ticket_no"])
        return rows if rows and rows[0]["attempts"] >= 1 and rows[0]["status"] == "pending" else []

    (pending,) = await eventually(waiting)
    assert pending["next_attempt_at"] is not None
    (failed,) = await eventually(lambda: _sms(texting, bad["ticket_no"], status="failed"))
    assert failed["attempts"] == 3 and failed["next_attempt_at"] is None and failed["to"] == "138****4444"
    assert "13833334444" not in str(failed)
    assert len(gateway.tries[failed["id"]]) == 3
