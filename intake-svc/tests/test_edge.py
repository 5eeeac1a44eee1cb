"""The HTTP edge and the group commit under bad input: control characters refused naming the field, one request
never fails its neighbours, values as long as the limits are stored, no 500 from numbers or dates, channels by
role, channel ids scoped to their owner, no unit contact numbers for front ends or platforms."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from intake_helpers import publish, ticket
from sqlalchemy import func, select

from bancheng_services.testing import RunningService, auth, eventually
from bancheng_shared.contracts import make_event
from bancheng_shared.contracts.limits import REASON_MAX, TITLE_MAX
from bancheng_shared.contracts.triage import TicketDispatched, TierChanged
from bancheng_shared.topics import TRIAGE_WORK_ORDERS
from intake_svc.adapters.tables import tickets
from intake_svc.models import TicketCreate


async def _count(svc: RunningService) -> int:
    async with svc.runtime.sm() as s:
        return int((await s.execute(select(func.count()).select_from(tickets))).scalar_one())


def _valid(n: int) -> dict[str, Any]:
    return ticket(f"第{n}号楼前的路灯坏了{n}个月了，晚上一片漆黑", f"1350000{n:04d}",
                  region=f"3399{n % 90 + 10:02d}001")


CONTROL = [
    ({"content": "门口\x00垃圾没人清"}, "content"),
    ({"content": "内容", "title": "标\x07题"}, "title"),
    ({"content": "内容", "external_id": "MB\x00-1"}, "external_id"),
    ({"content": "内容", "complainant": {"name": "张\x00三"}}, "complainant.name"),
    ({"content": "内容", "location": {"address": "建设路\x1b1号"}}, "location.address"),
    ({"content": "内容", "location": {"region_code": "339901\x00"}}, "location.region_code"),
    ({"content": "内容", "enterprise": {"name": "某\x00公司"}}, "enterprise.name"),
    ({"content": "内容", "attachments": [{"url": "https://f.example/1", "name": "a\x00.jpg"}]}, "attachments.0.name"),
]


async def test_control_characters_are_refused_naming_the_field(intake: RunningService) -> None:
    for extra, field in CONTROL:
        r = await intake.client.post("/v1/tickets", json={"channel": "hotline", **extra}, headers=auth("operator"))
        assert r.status_code == 422, r.text
        assert field in [e["field"] for e in r.json()["errors"]], r.json()
    follow = await intake.client.post("/v1/tickets/BC1/follow-ups", json={"content": "补\x00充"},
                                      headers=auth("operator"))
    assert follow.status_code == 422 and follow.json()["errors"][0]["field"] == "content"
    assert await _count(intake) == 0
    # tab, newline and carriage return are text
    ok = await intake.client.post("/v1/tickets", json={"channel": "hotline", "content": "第一行\n第二行\t缩进\r\n"},
                                  headers=auth("operator"))
    assert ok.status_code == 201


async def test_60_valid_and_1_bad_sent_together_60_written_1_refused(intake: RunningService) -> None:
    h = auth("operator")
    bodies = [_valid(n) for n in range(60)]
    bodies.insert(30, ticket("门口\x00垃圾没人清", "13800000000"))
    answers = await asyncio.gather(*(intake.client.post("/v1/tickets", json=b, headers=h) for b in bodies))
    codes = Counter(a.status_code for a in answers)
    assert codes == {201: 60, 422: 1}, [a.text for a in answers if a.status_code not in (201,)]
    assert answers[30].status_code == 422 and answers[30].json()["errors"][0]["field"] == "content"
    assert await _count(intake) == 60


async def test_one_failing_request_in_a_group_fails_only_itself(intake: RunningService) -> None:
    """Below the edge: a request the database refuses (here a time that overflows once made UTC) shares a group
    with 60 others; they are written and answered, it alone gets its error."""
    ctx = intake.app.state.intake
    who = next(iter([await intake.app.state.api_keys.lookup("test-operator-key")]))
    bad = TicketCreate.model_validate(ticket("越界的时间", "13800000001"))
    bad.happened_at = datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14)))  # past the edge's check on purpose
    regs = [ctx.registrar.prepare(TicketCreate.model_validate(_valid(n)), caller=who, idempotency_key=None,
                                  correlation_id=None) for n in range(60)]
    regs.insert(17, ctx.registrar.prepare(bad, caller=who, idempotency_key=None, correlation_id=None))
    groups_before = ctx.group_commit.groups
    results = await asyncio.gather(*(ctx.registrar.register(r) for r in regs), return_exceptions=True)
    assert ctx.group_commit.groups > groups_before
    failed = [i for i, r in enumerate(results) if isinstance(r, BaseException)]
    assert failed == [17], results[failed[0]] if failed else None
    assert len({r.ticket_no for r in results if not isinstance(r, BaseException)}) == 60
    assert await _count(intake) == 60


async def test_values_as_long_as_the_limits_are_stored(intake: RunningService) -> None:
    title = "标" * 400
    r = await intake.client.post("/v1/tickets", json=ticket("长标题的诉求", title=title), headers=auth("operator"))
    assert r.status_code == 201, r.text
    no = r.json()["ticket_no"]
    longest = await intake.client.post("/v1/tickets", json=ticket("最长的标题", title="题" * TITLE_MAX),
                                       headers=auth("operator"))
    assert longest.status_code == 201
    view = (await intake.client.get(f"/v1/tickets/{no}", headers=auth("operator"))).json()
    assert view["title"] == title
    # what triage publishes fits intake's read model: a unit name of 200, a tier reason of REASON_MAX characters
    now = datetime.now(UTC)
    reason = "理" * REASON_MAX
    events = [make_event(TicketDispatched(lead_unit="339901-urban_management", lead_unit_name="名" * 200, unit_level=3,
                                          tier="yellow", response_level=2, dispatched_at=now),
                         ticket_id=no, producer="triage-svc"),
              make_event(TierChanged(old_tier="yellow", new_tier="red", reason=reason, automatic=False,
                                     changed_at=now), ticket_id=no, producer="triage-svc")]
    await publish(intake.settings.kafka_bootstrap, intake.settings.topic_prefix, TRIAGE_WORK_ORDERS, *events)

    async def red() -> Any:
        v = (await intake.client.get(f"/v1/tickets/{no}", headers=auth("operator"))).json()
        return v if v["tier"] == "red" else None

    v = await eventually(red)
    assert v["unit_name"] == "名" * 200
    assert any(s["label"].endswith(reason) for s in v["timeline"])


NO_500 = [
    ("get", "/v1/tickets", {"limit": 2**64}, "limit"),
    ("get", "/v1/tickets", {"limit": -1}, "limit"),
    ("get", "/v1/tickets", {"from": "0001-01-01T00:00:00+01:00"}, "from"),
    ("get", "/v1/tickets", {"to": "9999-12-31T23:59:59-14:00"}, "to"),
    ("get", "/v1/tickets", {"status": "x\x00"}, "status"),
    ("get", "/v1/tickets", {"unit": "u" * 65}, "unit"),
    ("get", "/v1/tickets", {"cursor": "\x00"}, "cursor"),
    ("get", "/v1/pii-access", {"limit": 2**63}, "limit"),
    ("get", "/v1/sms", {"limit": 10**30}, "limit"),
    ("get", "/v1/sms", {"ticket_no": "BC\x00"}, "ticket_no"),
]


async def test_absurd_parameters_are_422_naming_them(intake: RunningService) -> None:
    for method, path, params, field in NO_500:
        r = await intake.client.request(method, path, params=params, headers=auth("admin"))
        assert r.status_code == 422, r.text
        assert any(e["field"].endswith(field) for e in r.json()["errors"]), r.json()


BODIES_NO_500 = [
    ({"happened_at": "0001-01-01T00:00:00+14:00"}, "happened_at"),
    ({"happened_at": "9999-12-31T23:59:59-14:00"}, "happened_at"),
    ({"location": {"longitude": 1e308}}, "location.longitude"),
    ({"attachments": [{"url": "https://f.example/1", "name": "a.jpg", "size": 10**30}]}, "attachments.0.size"),
]


async def test_absurd_bodies_are_422_naming_the_field(intake: RunningService) -> None:
    for extra, field in BODIES_NO_500:
        r = await intake.client.post("/v1/tickets", json={"channel": "hotline", "content": "内容", **extra},
                                     headers=auth("operator"))
        assert r.status_code == 422, r.text
        assert field in [e["field"] for e in r.json()["errors"]], r.json()
    ok = await intake.client.post("/v1/tickets", json={"channel": "hotline", "content": "内容",
                                                       "happened_at": "0001-01-01T00:00:00-01:00"},
                                  headers=auth("operator"))
    assert ok.status_code == 201


async def test_bad_path_and_lookup_parameters_are_not_500(intake: RunningService) -> None:
    c = intake.client
    for path in ("/v1/tickets/" + "9" * 41, "/v1/tickets/BC%00X"):
        r = await c.get(path, headers=auth("operator"))
        assert r.status_code == 422, (path, r.text)
    for path, params in (("/v1/public/tickets/BC%00X", {"phone_last4": "1234"}),
                         ("/v1/public/tickets/BC1", {"phone_last4": "١٢٣٤"}),
                         ("/v1/public/tickets/BC1", {"token": "t\x00"}),
                         ("/v1/public/track/t%00", {})):
        r = await c.get(path, params=params)
        assert r.status_code == 422, (path, params, r.text)
    r = await c.post("/v1/tickets", json={"channel": "hotline", "content": "内容"},
                     headers={**auth("operator"), "Idempotency-Key": "k" * 201})
    assert r.status_code == 422


# ------------------------------------------------------------------ roles and channels


async def test_each_role_registers_only_on_its_channels(intake: RunningService) -> None:
    c = intake.client
    for who, channel in (("frontend", "hotline"), ("frontend", "window"), ("operator", "platform"),
                         ("admin", "platform"), ("frontend", "platform")):
        r = await c.post("/v1/tickets", json=ticket("某事项", channel=channel), headers=auth(who))
        assert r.status_code == 403, (who, channel, r.text)
        assert channel in r.json()["detail"] and r.json()["type"].endswith("channel-not-allowed")
    r = await c.post("/v1/tickets", json=ticket("平台直接登记", channel="app"), headers=auth("platform"))
    assert r.status_code == 403  # platform items come in signed, through /v1/platforms/{p}/items
    batch = {"items": [ticket("信箱来信一", channel="mailbox"), ticket("冒充热线", channel="hotline")]}
    r = await c.post("/v1/tickets:batch", json=batch, headers=auth("frontend"))
    assert r.status_code == 403 and "items[1].channel" in r.json()["detail"]
    for who, channel in (("operator", "hotline"), ("operator", "window"), ("operator", "mailbox"),
                         ("frontend", "mailbox"), ("frontend", "web"), ("frontend", "app"), ("admin", "hotline")):
        r = await c.post("/v1/tickets", json=ticket(f"{who}经{channel}登记的事项", region=None, channel=channel),
                         headers=auth(who))
        assert r.status_code == 201, (who, channel, r.text)
    assert await _count(intake) == 7


async def test_a_channel_id_cannot_be_taken_by_another_caller(intake: RunningService) -> None:
    c = intake.client
    letter = ticket("信箱来信：学府路小学门口早高峰车辆乱停", channel="mailbox", external_id="MB-2026-1")
    squat = await c.post("/v1/tickets", json={**letter, "content": "抢先占用这个编号"}, headers=auth("frontend"))
    assert squat.status_code == 201
    real = await c.post("/v1/tickets", json=letter, headers=auth("operator"))
    assert real.status_code == 201, real.text  # not 409, not the squatter's ticket
    assert real.json()["ticket_no"] != squat.json()["ticket_no"]
    again = await c.post("/v1/tickets", json=letter, headers=auth("operator"))
    assert again.status_code == 200 and again.json()["ticket_no"] == real.json()["ticket_no"]
    changed = await c.post("/v1/tickets", json={**letter, "title": "改了"}, headers=auth("operator"))
    assert changed.status_code == 409
    # a batch is scoped the same way
    r = await c.post("/v1/tickets:batch", json={"items": [letter]}, headers=auth("frontend"))
    assert r.status_code == 409  # the front end's own MB-2026-1 has another body: its own conflict, nobody else's


async def test_front_ends_and_platforms_read_no_sms_numbers(intake: RunningService) -> None:
    await intake.client.post("/v1/tickets", json=ticket("路灯不亮", "13700001234"), headers=auth("operator"))
    for who in ("frontend", "platform", "unit", "leader"):
        assert (await intake.client.get("/v1/sms", headers=auth(who))).status_code == 403, who
        assert (await intake.client.get("/v1/pii-access", headers=auth(who))).status_code == 403, who
    rows = (await intake.client.get("/v1/sms", headers=auth("operator"))).json()
    assert rows and all(r["to"] is None or "****" in r["to"] for r in rows)
