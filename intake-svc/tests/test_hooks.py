"""Platforms in (signed), callbacks out to a real HTTP receiver, SMS of the alert ladder, Open311 round trips."""

from __future__ import annotations

import hashlib
import hmac
import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import orjson
import pytest
from hooks_support import Receiver, hooks_service, standard_signatures
from intake_helpers import REGION, publish
from sqlalchemy import select

from bancheng_services.testing import Databases, RunningService, auth, eventually
from bancheng_shared.contracts import make_event
from bancheng_shared.contracts.sla import AlertRaised
from bancheng_shared.topics import SLA_CLOCKS
from intake_svc.adapters.tables import plumbing

SECRET = "duch-secret-0123456789"


@pytest.fixture
async def hooks(databases: Databases, kafka_bootstrap: str, topic_prefix: str) -> AsyncIterator[RunningService]:
    """intake whose callbacks may reach the local test receivers."""
    async with hooks_service(databases, kafka_bootstrap, topic_prefix) as svc:
        yield svc


def signed(body: dict, secret: str = SECRET, ts: int | None = None) -> tuple[bytes, dict[str, str]]:
    raw = orjson.dumps(body)
    stamp = str(ts if ts is not None else int(time.time()))
    sig = hmac.new(secret.encode(), stamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
    return raw, {**auth("platform"), "content-type": "application/json", "X-Bancheng-Timestamp": stamp,
                 "X-Bancheng-Signature": f"sha256={sig}"}


ITEM = {"external_id": "DUCH-2026-001", "content": "国务院互联网+督查平台转办：某企业反映开办登记拖延",
        "category": "complaint", "location": {"region_code": REGION}}


async def test_signed_items_valid_stale_replayed_tampered(intake: RunningService) -> None:
    c = intake.client
    raw, h = signed(ITEM)
    ok = await c.post("/v1/platforms/gov-duch/items", content=raw, headers=h)
    assert ok.status_code == 201, ok.text
    no = ok.json()["ticket_no"]
    replay = await c.post("/v1/platforms/gov-duch/items", content=raw, headers=h)
    assert replay.status_code == 409 and replay.json()["type"].endswith("replayed-signature")
    # the same item signed anew is idempotent: same ticket
    raw2, h2 = signed(ITEM, ts=int(time.time()) + 1)
    again = await c.post("/v1/platforms/gov-duch/items", content=raw2, headers=h2)
    assert again.status_code == 200 and again.json()["ticket_no"] == no
    stale_raw, stale_h = signed({**ITEM, "external_id": "X2"}, ts=int(time.time()) - 301)
    stale = await c.post("/v1/platforms/gov-duch/items", content=stale_raw, headers=stale_h)
    assert stale.status_code == 401 and stale.json()["type"].endswith("stale-timestamp")
    t_raw, t_h = signed({**ITEM, "external_id": "X3"})
    tampered = await c.post("/v1/platforms/gov-duch/items", content=t_raw.replace("拖延".encode(), "顺利".encode()),
                            headers=t_h)
    assert tampered.status_code == 401 and tampered.json()["type"].endswith("bad-signature")
    w_raw, w_h = signed({**ITEM, "external_id": "X4"}, secret="wrong-secret-0123456789")
    assert (await c.post("/v1/platforms/gov-duch/items", content=w_raw, headers=w_h)).status_code == 401
    u_raw, u_h = signed(ITEM)
    assert (await c.post("/v1/platforms/nobody/items", content=u_raw, headers=u_h)).status_code == 404
    bad_raw, bad_h = signed({**ITEM, "external_id": "X5", "content": ""})
    bad = await c.post("/v1/platforms/gov-duch/items", content=bad_raw, headers=bad_h)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "content"
    listed = (await c.get("/v1/tickets", headers=auth("operator"))).json()["items"]
    assert [t["ticket_no"] for t in listed] == [no] and listed[0]["platform"] == "gov-duch"


async def test_callbacks_retry_then_deliver_signed_and_replay(hooks: RunningService) -> None:
    c = hooks.client
    async with Receiver(fail_first=1) as rx, Receiver(fail_first=100) as dead:
        sub = await c.post("/v1/subscriptions", json={"name": "city", "url": rx.url, "event_types": ["TicketReceived"],
                                                       "secret": "sub-secret-0123456789"}, headers=auth("operator"))
        assert sub.status_code == 201, sub.text
        bad = await c.post("/v1/subscriptions", json={"name": "x", "url": rx.url, "event_types": ["Nope"],
                                                       "secret": "sub-secret-0123456789"}, headers=auth("operator"))
        assert bad.status_code == 422
        parked = (await c.post("/v1/subscriptions", json={"name": "down", "url": dead.url, "event_types": ["*"],
                                                           "secret": "sub-secret-0123456789"},
                               headers=auth("operator"))).json()
        r = await c.post("/v1/tickets", json={"channel": "web", "content": "网站留言：道路破损"},
                         headers=auth("operator"))
        no = r.json()["ticket_no"]

        async def logged_delivered() -> list:
            # the delivery log is written after the receiver answered: wait for the state asserted below
            return (await c.get("/v1/deliveries", params={"subscription_id": sub.json()["id"], "status": "delivered"},
                                headers=auth("operator"))).json()

        await eventually(logged_delivered)

        async def delivered() -> list:
            return rx.received

        got = await eventually(delivered)
        headers, body = got[0]
        env = orjson.loads(body)
        assert env["type"] == "TicketReceived" and env["ticket_id"] == no and rx.hits == 2
        expected = hmac.new(b"sub-secret-0123456789", headers["x-bancheng-timestamp"].encode() + b"." + body,
                            hashlib.sha256).hexdigest()
        assert headers["x-bancheng-signature"] == f"sha256={expected}"
        # Standard Webhooks: the event id, the timestamp and the body signed; the id is the event's
        assert headers["webhook-id"] == env["event_id"] and headers["webhook-timestamp"].isdigit()
        assert set(headers["webhook-signature"].split(" ")) == standard_signatures(b"sub-secret-0123456789", headers,
                                                                                   body)
        log = (await c.get("/v1/deliveries", params={"subscription_id": sub.json()["id"]},
                           headers=auth("operator"))).json()
        assert log[0]["status"] == "delivered" and [a["status_code"] for a in log[0]["attempt_log"]] == [500, 200]

        async def is_parked() -> list:
            return (await c.get("/v1/deliveries", params={"status": "parked", "subscription_id": parked["id"]},
                                headers=auth("operator"))).json()

        p = (await eventually(is_parked))[0]
        assert p["attempts"] == 3 and dead.hits == 3
        dead.fail_first = 0
        rep = await c.post(f"/v1/deliveries/{p['id']}/replay", headers=auth("operator"))
        assert rep.status_code == 200 and rep.json()["status"] == "pending"

        async def relogged() -> list:
            return (await c.get("/v1/deliveries", params={"status": "delivered", "subscription_id": parked["id"]},
                                headers=auth("operator"))).json()

        async def redelivered() -> list:
            return dead.received

        await eventually(relogged)
        await eventually(redelivered)
        # other callers do not see these subscriptions
        assert (await c.get(f"/v1/subscriptions/{parked['id']}", headers=auth("platform"))).status_code == 404
        assert (await c.delete(f"/v1/subscriptions/{parked['id']}", headers=auth("operator"))).status_code == 204


async def test_platform_items_get_callbacks_automatically(hooks: RunningService) -> None:
    intake = hooks
    c = intake.client
    async with Receiver(fail_first=0) as rx:
        reg = await c.put("/v1/platforms/prov", json={"secret": "prov-secret-0123456789", "callback_url": rx.url},
                          headers=auth("admin"))
        assert reg.status_code == 200, reg.text
        await c.post("/v1/tickets", json={"channel": "hotline", "content": "不是平台来的事项"},
                     headers=auth("operator"))
        raw, h = signed({**ITEM, "external_id": "PROV-1"}, secret="prov-secret-0123456789")
        no = (await c.post("/v1/platforms/prov/items", content=raw, headers=h)).json()["ticket_no"]

        async def both_handled() -> bool:
            # the consumer queues deliveries in the transaction that records the event as handled: once both
            # tickets' TicketReceived are in its inbox, a wrongly queued delivery would be in the log
            async with intake.runtime.sm() as s:
                sent = set((await s.execute(select(plumbing.outbox.c.event_id).where(
                    plumbing.outbox.c.event_type == "TicketReceived"))).scalars())
                handled = set((await s.execute(select(plumbing.inbox.c.event_id))).scalars())
            return len(sent) == 2 and sent <= handled

        async def delivered() -> list:
            return (await c.get("/v1/deliveries", params={"status": "delivered"}, headers=auth("admin"))).json()

        async def got() -> list:
            return rx.received

        await eventually(both_handled)
        await eventually(delivered)
        received = await eventually(got)
        queued = (await c.get("/v1/deliveries", headers=auth("admin"))).json()
        assert {d["ticket_no"] for d in queued} == {no}
        assert {orjson.loads(b)["ticket_id"] for _h, b in rx.received} == {no}
        assert orjson.loads(received[0][1])["payload"]["platform"] == "prov"


async def test_alert_reported_goes_to_the_sms_outbox(intake: RunningService) -> None:
    c = intake.client
    no = (await c.post("/v1/tickets", json={"channel": "hotline", "content": "占道经营"},
                       headers=auth("operator"))).json()["ticket_no"]
    env = make_event(AlertRaised(level="reported", unit="339901-urban_management", raised_at=datetime.now(UTC)),
                     ticket_id=no, producer="sla-svc")
    await publish(intake.settings.kafka_bootstrap, intake.settings.topic_prefix, SLA_CLOCKS, env, env)

    async def sms() -> list:
        rows = (await c.get("/v1/sms", params={"unit": "339901-urban_management"}, headers=auth("operator"))).json()
        return rows

    rows = await eventually(sms)
    assert len(rows) == 1 and no in rows[0]["text"] and "339901-urban_management" in rows[0]["text"]
    # no dispatch told intake the unit's number: parked, not sent (tests/test_unit_sms.py)
    assert rows[0]["to"] is None and rows[0]["kind"] == "alert_reported" and rows[0]["status"] == "no_recipient"


async def test_open311_round_trips_json_and_xml(intake: RunningService) -> None:
    c = intake.client
    key = auth("frontend")
    services = await c.get("/open311/v2/services.json", headers=key)
    assert services.status_code == 200 and "report" in [s["service_code"] for s in services.json()]
    xml = await c.get("/open311/v2/services.xml", headers=key)
    root = ET.fromstring(xml.content)
    assert root.tag == "services" and root.find("service/service_code") is not None
    d = (await c.get("/open311/v2/services/complaint.json", headers=key)).json()
    assert d["service_code"] == "complaint"
    form = {"service_code": "complaint", "description": "人行道上的树倒了",
            "lat": "30.25", "long": "120.16", "address_string": "建设路100号", "phone": "13812340000"}
    created = await c.post("/open311/v2/requests.json", data=form, headers=key)
    assert created.status_code == 201, created.text
    sr = created.json()[0]
    one = (await c.get(f"/open311/v2/requests/{sr['service_request_id']}.json", headers=key)).json()[0]
    assert one["status"] == "open" and one["description"] == "人行道上的树倒了" and one["lat"] == 30.25
    assert "13812340000" not in str(one)
    tok = (await c.get(f"/open311/v2/tokens/{sr['token']}.json", headers=key)).json()
    assert tok[0]["service_request_id"] == sr["service_request_id"]
    created_xml = await c.post("/open311/v2/requests.xml", data={**form, "description": "公园厕所无人打扫",
                                                                 "phone": "13812341111"}, headers=key)
    assert created_xml.status_code == 201
    sid = ET.fromstring(created_xml.content).findtext("request/service_request_id")
    listed = ET.fromstring((await c.get("/open311/v2/requests.xml", params={"status": "open"}, headers=key)).content)
    assert {r.findtext("service_request_id") for r in listed.findall("request")} == {sid, sr["service_request_id"]}
    by_code = (await c.get("/open311/v2/requests.json", params={"service_code": "report"}, headers=key)).json()
    assert by_code == []
    # GeoReport errors in its own format
    err = await c.post("/open311/v2/requests.json", data={**form, "service_code": "nope"}, headers=key)
    assert err.status_code == 404 and err.json()[0]["code"] == 404
    err = await c.post("/open311/v2/requests.xml", data={**form, "phone": "123"}, headers=key)
    e = ET.fromstring(err.content)
    assert err.status_code == 400 and e.tag == "errors" and "phone" in e.findtext("error/description")
    assert (await c.get("/open311/v2/services.json")).json()[0]["code"] == 401
    assert (await c.get("/open311/v2/requests/BCNONE.json", headers=key)).status_code == 404
    assert (await c.get("/open311/v2/services.csv", headers=key)).status_code == 400
