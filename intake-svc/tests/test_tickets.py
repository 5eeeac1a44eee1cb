"""Registration from every channel, bad input, idempotency, merging, PII by role, lookups, lists."""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import UTC, datetime

import orjson
import pytest
from intake_helpers import CREDIT_CODE, ID_NUMBER, REGION, publish, ticket
from merge_corpus import NEAR_MISSES, TRUE_REPEATS

from bancheng_services.testing import RunningService, auth, eventually
from bancheng_shared.contracts import make_event
from bancheng_shared.contracts.triage import TicketDispatched, TicketTriaged
from bancheng_shared.topics import TRIAGE_WORK_ORDERS

CHANNELS = ["hotline", "mailbox", "window", "web", "app", "platform"]
# who registers on which channel (domain.channels): operators key in, front ends forward, platforms sign
KEY_OF = {"hotline": "operator", "window": "operator", "mailbox": "frontend", "web": "frontend", "app": "frontend"}
PLATFORM_SECRET = "duch-secret-0123456789"  # conftest's gov-duch


def signed(body: dict) -> tuple[bytes, dict[str, str]]:
    """A platform item signed as gov-duch signs it."""
    raw = orjson.dumps(body)
    stamp = str(int(time.time()))
    sig = hmac.new(PLATFORM_SECRET.encode(), stamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
    return raw, {**auth("platform"), "content-type": "application/json", "X-Bancheng-Timestamp": stamp,
                 "X-Bancheng-Signature": f"sha256={sig}"}


async def count(svc: RunningService) -> int:
    r = await svc.client.get("/v1/tickets", params={"limit": 200}, headers=auth("operator"))
    return len(r.json()["items"])


async def test_every_channel_registers_with_full_data(intake: RunningService) -> None:
    nos = []
    matters = ["楼道堆放杂物", "公交站台破损", "医保报销咨询", "学校周边摊贩", "停水未通知", "企业开办流程"]
    for n, ch in enumerate(CHANNELS):
        body = {
            "channel": ch, "content": f"{matters[n]}，请处理",
            "title": "标题", "category": "complaint", "external_id": f"{ch}-{n}",
            "complainant": {"name": "李四", "phone": f"+86 139 1234 567{n}", "id_number": ID_NUMBER},
            "enterprise": {"name": "某某有限公司", "credit_code": CREDIT_CODE},
            "location": {"region_code": f"3399{n + 1:02d}001", "address": "建设路1号", "longitude": 120.1,
                         "latitude": 30.2},
            "happened_at": "2026-11-20T09:00:00+08:00",
            "attachments": [{"url": "https://files.example/1.jpg", "name": "1.jpg", "size": 1024,
                             "sha256": "a" * 64}],
        }
        if ch == "platform":  # another platform's item: only through the signed route
            item = {k: v for k, v in body.items() if k != "channel"}
            raw, headers = signed(item)
            r = await intake.client.post("/v1/platforms/gov-duch/items", content=raw, headers=headers)
        else:
            r = await intake.client.post("/v1/tickets", json=body, headers=auth(KEY_OF[ch]))
        assert r.status_code == 201, r.text
        data = r.json()
        assert data["ticket_no"].startswith("BC") and data["merged"] is False
        assert data["status_label"] == "已受理" and data["tracking_token"] in data["tracking_url"]
        nos.append(data["ticket_no"])
    assert len(set(nos)) == len(nos)
    # numbers sort in the order of receipt
    assert sorted(nos) == nos
    t = (await intake.client.get(f"/v1/tickets/{nos[0]}", headers=auth("operator"))).json()
    assert t["complainant"]["phone"] == "13912345670" and t["complainant"]["id_number"] == ID_NUMBER
    assert t["timeline"][0]["event"] == "TicketReceived" and "12345热线" in t["timeline"][0]["label"]
    # the receipt SMS went to the person, number masked in the outbox
    sms = (await intake.client.get("/v1/sms", params={"ticket_no": nos[0]}, headers=auth("operator"))).json()
    assert sms[0]["to"] == "139****5670" and nos[0] in sms[0]["text"] and sms[0]["status"] == "recorded"


BAD = [
    ({"channel": "hotline", "content": ""}, 422, "content"),
    ({"channel": "hotline", "content": "   "}, 422, "content"),
    ({"channel": "hotline", "content": "长" * 10001}, 422, "content"),
    ({"channel": "fax", "content": "内容"}, 422, "channel"),
    ({"channel": "hotline", "content": "内容", "complainant": {"phone": "12345"}}, 422, "complainant.phone"),
    ({"channel": "hotline", "content": "内容", "complainant": {"id_number": "110105194912310021"}}, 422,
     "complainant.id_number"),
    ({"channel": "hotline", "content": "内容", "enterprise": {"name": "某公司", "credit_code": "91350100M000100Y44"}},
     422, "enterprise.credit_code"),
    ({"channel": "hotline", "content": "内容", "location": {"region_code": "99990100"}}, 422, "location.region_code"),
    ({"channel": "hotline", "content": "内容", "complainant": {"anonymous": True, "phone": "13800138000"}}, 422,
     "complainant"),
    ({"channel": "hotline", "content": "内容", "happened_at": "2026-01-01T00:00:00"}, 422, "happened_at"),
    ({"channel": "hotline", "content": "内容", "surprise": 1}, 422, "surprise"),
]


@pytest.mark.parametrize("body,status,field", BAD)
async def test_bad_input_names_the_field_and_writes_nothing(intake: RunningService, body: dict, status: int,
                                                             field: str) -> None:
    r = await intake.client.post("/v1/tickets", json=body, headers=auth("operator"))
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in r.json()["errors"]], r.json()
    assert await count(intake) == 0


async def test_malformed_json_content_type_oversize_unknown_ticket(intake: RunningService) -> None:
    h = auth("operator")
    r = await intake.client.post("/v1/tickets", content=b'{"channel": "hotline", "content": ',
                                 headers={**h, "content-type": "application/json"})
    assert r.status_code == 400 and r.json()["type"].endswith("malformed-json")
    r = await intake.client.post("/v1/tickets", content=b"channel=hotline", headers={**h, "content-type": "text/plain"})
    assert r.status_code == 415 and r.headers["content-type"].startswith("application/problem+json")
    big = b'{"channel": "hotline", "content": "' + "长".encode() * 800_000 + b'"}'
    r = await intake.client.post("/v1/tickets", content=big, headers={**h, "content-type": "application/json"})
    assert r.status_code == 413
    r = await intake.client.get("/v1/tickets/BC00000000000000000XXXX", headers=h)
    assert r.status_code == 404 and r.json()["type"].endswith("unknown-ticket")
    r = await intake.client.post("/v1/tickets", json={"channel": "hotline", "content": "无凭据"})
    assert r.status_code == 401
    r = await intake.client.post("/v1/tickets", json={"channel": "hotline", "content": "单位不能登记"},
                                 headers=auth("unit"))
    assert r.status_code == 403
    assert await count(intake) == 0


async def test_idempotency_key_and_channel_id(intake: RunningService) -> None:
    h = {**auth("operator"), "Idempotency-Key": "k-1"}
    body = ticket("东湖区某路口井盖缺失，存在安全隐患", "13800138000")
    first = await intake.client.post("/v1/tickets", json=body, headers=h)
    again = await intake.client.post("/v1/tickets", json=body, headers=h)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["ticket_no"] == first.json()["ticket_no"] and again.json()["replayed"] is True
    assert again.json()["tracking_token"] == first.json()["tracking_token"]
    other = await intake.client.post("/v1/tickets", json={**body, "content": "别的内容"}, headers=h)
    assert other.status_code == 409 and other.json()["ticket_no"] == first.json()["ticket_no"]
    # the channel's own id works the same without a key
    b2 = ticket("信箱来信：某小区停车难问题", channel="mailbox", external_id="MB-77")
    a = await intake.client.post("/v1/tickets", json=b2, headers=auth("frontend"))
    b = await intake.client.post("/v1/tickets", json=b2, headers=auth("frontend"))
    assert (a.status_code, b.status_code) == (201, 200) and a.json()["ticket_no"] == b.json()["ticket_no"]
    c = await intake.client.post("/v1/tickets", json={**b2, "title": "改了"}, headers=auth("frontend"))
    assert c.status_code == 409
    assert await count(intake) == 2


async def test_same_person_repeats_merge_and_near_misses_do_not(intake: RunningService) -> None:
    h = auth("operator")
    for n, (first, repeat) in enumerate(TRUE_REPEATS):
        phone = f"1390000{n:04d}"
        a = (await intake.client.post("/v1/tickets", json=ticket(first, phone, region=None), headers=h)).json()
        b = (await intake.client.post("/v1/tickets", json=ticket(repeat, phone, region=None), headers=h)).json()
        assert b["merged"] is True and b["ticket_no"] == a["ticket_no"], (first, repeat, b)
        assert b["repeat_count"] == 1
    for n, (first, other) in enumerate(NEAR_MISSES):
        phone = f"1370000{n:04d}"
        a = (await intake.client.post("/v1/tickets", json=ticket(first, phone, region=None), headers=h)).json()
        b = (await intake.client.post("/v1/tickets", json=ticket(other, phone, region=None), headers=h)).json()
        assert b["merged"] is False and b["ticket_no"] != a["ticket_no"], (first, other, b)


async def test_different_people_same_place_merge_and_event_published(intake: RunningService) -> None:
    h = auth("operator")
    first, repeat = TRUE_REPEATS[0]
    site = "城关街道幸福小区东门"
    a = (await intake.client.post("/v1/tickets", json=ticket(first, "13811110001", address=site), headers=h)).json()
    elsewhere = (await intake.client.post("/v1/tickets", json=ticket(repeat, "13811110002", region="339902001",
                                                                     address=site), headers=h)).json()
    assert elsewhere["merged"] is False
    # the same street (region code) but no address, or another building of it: a stranger's own ticket
    street_only = (await intake.client.post("/v1/tickets", json=ticket(repeat, "13811110004"), headers=h)).json()
    neighbour = (await intake.client.post("/v1/tickets", json=ticket(repeat, "13811110005",
                                                                     address="城关街道幸福小区西门"), headers=h)).json()
    assert street_only["merged"] is False and neighbour["merged"] is False
    b = (await intake.client.post("/v1/tickets", json=ticket(repeat, "13811110003", address="城关街道 幸福小区 东门"),
                                  headers=h)).json()
    assert b["merged"] is True and b["ticket_no"] == a["ticket_no"] and b["similarity"] >= 0.45
    # the same person again through the app, much shorter and without an address: merged
    c = (await intake.client.post("/v1/tickets", json=ticket("幸福小区烧烤摊油烟还是很大", "13811110001",
                                                             channel="app", region=None), headers=h)).json()
    assert c["merged"] is True and c["repeat_count"] == 2 and c["ticket_no"] == a["ticket_no"]
    t = (await intake.client.get(f"/v1/tickets/{a['ticket_no']}", headers=h)).json()
    assert t["repeat_count"] == 2
    assert [r["same_person"] for r in t["repeats"]] == [False, True]
    assert t["repeats"][0]["content"] == repeat
    events = [s["event"] for s in t["timeline"]]
    assert events.count("RepeatReceived") == 2 and events.count("TicketReceived") == 1
    # a closed ticket takes no more repeats
    env = make_event(TicketTriaged(category="complaint", domain="social_management", department_kinds=[],
                                   tier="green", response_level=3, route="answer"),
                     ticket_id=a["ticket_no"], producer="triage-svc")
    from bancheng_shared.contracts.triage import TicketAnswered
    done = make_event(TicketAnswered(answer="已答复", answered_at=datetime.now(UTC)), ticket_id=a["ticket_no"],
                      producer="triage-svc")
    bootstrap, prefix = intake.settings.kafka_bootstrap, intake.settings.topic_prefix
    await publish(bootstrap, prefix, TRIAGE_WORK_ORDERS, env, done)

    async def answered() -> bool:
        r = await intake.client.get(f"/v1/tickets/{a['ticket_no']}", headers=h)
        return r.json()["status"] == "answered"

    await eventually(answered)
    d = (await intake.client.post("/v1/tickets", json=ticket(first, "13811110009", address=site), headers=h)).json()
    assert d["merged"] is False


async def _dispatch(svc: RunningService, ticket_no: str, unit: str, category: str = "complaint") -> None:
    now = datetime.now(UTC)
    tri = make_event(TicketTriaged(category=category, domain="market_supervision", department_kinds=["x"],
                                   tier="yellow", response_level=2, route="dispatch"), ticket_id=ticket_no,
                     producer="triage-svc")
    disp = make_event(TicketDispatched(lead_unit=unit, lead_unit_name="东湖区市场监管局", unit_level=2, tier="yellow",
                                       response_level=2, dispatched_at=now), ticket_id=ticket_no,
                      producer="triage-svc")
    await publish(svc.settings.kafka_bootstrap, svc.settings.topic_prefix, TRIAGE_WORK_ORDERS, tri, disp)

    async def at_unit() -> bool:
        r = await svc.client.get(f"/v1/tickets/{ticket_no}", headers=auth("operator"))
        return r.json()["unit"] == unit

    await eventually(at_unit)


async def test_pii_by_role_report_informant_hidden_and_audit(intake: RunningService) -> None:
    body = {"channel": "hotline", "content": "举报某超市销售假冒伪劣产品", "category": "report",
            "complainant": {"name": "王五", "phone": "13512345678", "id_number": ID_NUMBER},
            "location": {"region_code": REGION}}
    no = (await intake.client.post("/v1/tickets", json=body, headers=auth("operator"))).json()["ticket_no"]
    plain = {**body, "content": "某超市门口占道经营", "category": "complaint",
             "complainant": {"name": "赵六", "phone": "13612345678"}}
    no2 = (await intake.client.post("/v1/tickets", json=plain, headers=auth("operator"))).json()["ticket_no"]
    unit = "339901-market_regulation"
    # a unit sees nothing before the ticket reaches it
    assert (await intake.client.get(f"/v1/tickets/{no}", headers=auth("unit"))).status_code == 404
    await _dispatch(intake, no, unit, "report")
    await _dispatch(intake, no2, unit)
    full = (await intake.client.get(f"/v1/tickets/{no}", headers=auth("operator"))).json()["complainant"]
    assert full["phone"] == "13512345678" and full["id_number"] == ID_NUMBER and full["masked"] is False
    masked = (await intake.client.get(f"/v1/tickets/{no}", headers=auth("supervision_office"))).json()["complainant"]
    assert masked["phone"] == "135****5678" and masked["name"] == "王*" and masked["id_number"] == "1101**********002X"
    unit_view = (await intake.client.get(f"/v1/tickets/{no}", headers=auth("unit"))).json()
    assert unit_view["complainant"] == {"hidden": True, "reason": unit_view["complainant"]["reason"]}
    assert "13512345678" not in str(unit_view) and "王" not in str(unit_view["complainant"])
    unit_plain = (await intake.client.get(f"/v1/tickets/{no2}", headers=auth("unit"))).json()["complainant"]
    assert unit_plain["phone"] == "136****5678"
    assert (await intake.client.get(f"/v1/tickets/{no}", headers=auth("other_unit"))).status_code == 404
    log = (await intake.client.get("/v1/pii-access", params={"ticket_no": no}, headers=auth("inspector"))).json()
    # every full read (the operator's) is logged; masked reads (supervision office, unit) are not
    assert log and {e["role"] for e in log} == {"operator"}
    assert set(log[0]["fields"]) == {"name", "phone", "id_number"}
    # lists: a unit sees only tickets now at its unit; no PII in lists
    mine = (await intake.client.get("/v1/tickets", headers=auth("unit"))).json()["items"]
    assert {t["ticket_no"] for t in mine} == {no, no2}
    assert (await intake.client.get("/v1/tickets", headers=auth("other_unit"))).json()["items"] == []
    assert (await intake.client.get("/v1/tickets", params={"unit": "339902-market_regulation"},
                                    headers=auth("unit"))).status_code == 403


async def test_public_lookup_shows_only_status_and_public_steps(intake: RunningService) -> None:
    r = (await intake.client.post("/v1/tickets", json=ticket("路灯不亮一个月了", "13700001234"),
                                  headers=auth("operator"))).json()
    no, token = r["ticket_no"], r["tracking_token"]
    await _dispatch(intake, no, "339901-urban_management")
    ok = await intake.client.get(f"/v1/public/tickets/{no}", params={"phone_last4": "1234"})
    assert ok.status_code == 200
    data = ok.json()
    assert set(data) == {"ticket_no", "status", "status_label", "received_at", "reply", "steps"}
    assert data["status_label"] == "已交办"
    labels = [s["label"] for s in data["steps"]]
    assert any("已交办至" in x for x in labels) and not any("已分类" in x for x in labels)  # triage step is internal
    assert "1370000" not in ok.text and "张" not in ok.text
    by_token = await intake.client.get(f"/v1/public/track/{token}")
    assert by_token.status_code == 200 and by_token.json()["ticket_no"] == no
    assert (await intake.client.get(f"/v1/public/tickets/{no}", params={"token": token})).status_code == 200
    wrong = await intake.client.get(f"/v1/public/tickets/{no}", params={"phone_last4": "9999"})
    unknown = await intake.client.get("/v1/public/tickets/BC2026NOPE", params={"phone_last4": "1234"})
    assert wrong.status_code == unknown.status_code == 404 and wrong.json()["detail"] == unknown.json()["detail"]
    body = ticket("另一人的诉求：噪音", "13900001234", region="339903001")
    other = (await intake.client.post("/v1/tickets", json=body, headers=auth("operator"))).json()
    # someone else's token does not open this ticket
    assert (await intake.client.get(f"/v1/public/tickets/{no}",
                                    params={"token": other["tracking_token"]})).status_code == 404
    assert (await intake.client.get(f"/v1/public/tickets/{no}")).status_code == 404
    for _ in range(12):
        last = await intake.client.get(f"/v1/public/tickets/{no}", params={"phone_last4": "0000"})
    assert last.status_code == 429


async def test_follow_ups_need_proof_from_front_ends(intake: RunningService) -> None:
    r = (await intake.client.post("/v1/tickets", json=ticket("小区供暖温度不达标", "13700005678", channel="web"),
                                  headers=auth("frontend"))).json()
    no = r["ticket_no"]
    bad = await intake.client.post(f"/v1/tickets/{no}/follow-ups", json={"content": "补充", "phone_last4": "0000"},
                                   headers=auth("frontend"))
    assert bad.status_code == 404
    ok = await intake.client.post(f"/v1/tickets/{no}/follow-ups", json={"content": "室温只有12度",
                                  "phone_last4": "5678"}, headers=auth("frontend"))
    assert ok.status_code == 201 and ok.json()["follow_ups"] == 1
    op = await intake.client.post(f"/v1/tickets/{no}/follow-ups", json={"content": "来电补充：老人家中"},
                                  headers=auth("operator"))
    assert op.status_code == 201
    t = (await intake.client.get(f"/v1/tickets/{no}", headers=auth("operator"))).json()
    assert [f["content"] for f in t["follow_ups"]] == ["室温只有12度", "来电补充：老人家中"]
    assert "FollowUpAdded" in [s["event"] for s in t["timeline"]]
    empty = await intake.client.post(f"/v1/tickets/{no}/follow-ups", json={"content": ""}, headers=auth("operator"))
    assert empty.status_code == 422


async def test_list_filters_and_cursor(intake: RunningService) -> None:
    nos = []
    for n in range(7):
        ch = "web" if n % 2 else "hotline"
        body = ticket(f"第{n}号互不相同的事项{n * 37}", region=None, channel=ch)
        r = await intake.client.post("/v1/tickets", json=body, headers=auth("operator"))
        nos.append(r.json()["ticket_no"])
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (await intake.client.get("/v1/tickets", params=params, headers=auth("work_team"))).json()
        seen += [t["ticket_no"] for t in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(nos, reverse=True)
    web = (await intake.client.get("/v1/tickets", params={"channel": "web"}, headers=auth("operator"))).json()
    assert len(web["items"]) == 3
    future = (await intake.client.get("/v1/tickets", params={"from": "2100-01-01T00:00:00+08:00"},
                                      headers=auth("operator"))).json()
    assert future["items"] == []
    bad = await intake.client.get("/v1/tickets", params={"cursor": "!!"}, headers=auth("operator"))
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "cursor"
    bad = await intake.client.get("/v1/tickets", params={"tier": "purple"}, headers=auth("operator"))
    assert bad.status_code == 422
