"""Ticket search through the service (SQLite FTS5 and PostgreSQL pg_trgm): full text in Chinese without false
friends (电梯 never finds 电瓶车), phone and name by their keyed hashes, address, number, unit scope, masked
excerpts, cursor pages that walk every match once with an exact total, repeats found through their ticket (and no
longer after an unmerge), unknown parameters refused."""

from __future__ import annotations

import asyncio
import random
from typing import Any

from alembic import command
from hooks_support import PII_KEY
from intake_helpers import publish
from sqlalchemy import select

from bancheng_services.stack import SERVICES
from bancheng_services.testing import OTHER_UNIT, TEST_UNIT, Databases, RunningService, auth, eventually, run_service
from bancheng_shared.contracts import make_event
from bancheng_shared.contracts.triage import TicketDispatched
from bancheng_shared.migrate import alembic_config
from bancheng_shared.topics import TRIAGE_WORK_ORDERS
from intake_svc.adapters.tables import ticket_search, tickets
from intake_svc.cli import rekey_command
from intake_svc.settings import IntakeSettings

OP, LEADER = auth("operator"), auth("leader")

OPENINGS = ["您好，我要反映一个问题，", "你好，我想投诉一下，", "喂，是12345吗？我反映个情况，",
            "您好，我是附近的居民，", "领导您好，我们这里有个事情一直没人管，"]
CLOSINGS = ["希望有关部门尽快处理，谢谢。", "麻烦尽快派人来看看，不然要出事的。", "已经反映过好几次了，请给个答复。",
            "请相关部门重视，早日解决，谢谢你们。"]
# matters, each with look-alikes that share characters but are another matter
MATTERS = {
    "lift": ["{place}的电梯已经停了三天，七楼八楼的老人上下楼只能爬楼梯，物业说在等配件，一直没有修好",
             "{place}电梯经常困人，上周五晚上有个小孩被关在轿厢里二十多分钟，物业电话一直打不通",
             "{place}的电梯运行时有很大异响，晃得厉害，住户都不敢坐，维保单位来看过说没问题"],
    "ebike": ["{place}楼道里有人给电瓶车充电，电线从窗户拉出来，晚上也不拔，很容易起火，物业不管",
              "{place}门口的电瓶车乱停乱放，把消防通道都堵死了，救护车都开不进来",
              "{place}有人把电动车推进楼梯间充电，楼梯被堵了一半，老人上下很不方便"],
    "fumes": ["{place}楼下新开的烧烤店油烟直接往楼上排，窗户都不敢开，衣服晒出去全是味道",
              "{place}底商饭店的油烟机对着居民楼，每天中午晚上油烟呛人，孩子一直咳嗽"],
    "water": ["{place}楼上卫生间漏水，把我家天花板泡坏了，墙皮一块块往下掉，楼上住户不配合维修",
              "{place}小区自来水发黄有异味，已经好几天了，烧开了还有沉淀，不敢给孩子喝"],
}
STREETS = ["建设路", "解放大道", "人民路", "中山北路", "和平街", "东湖路"]
ESTATES = ["幸福小区", "阳光花园", "金色家园", "翠苑新村", "锦绣华庭", "桃源里"]
# the same boilerplate with typos people make; never part of what a test searches for
TYPOS = [("反映", "反应"), ("一直", "已直"), ("物业", "物叶")]


def _content(rng: random.Random, matter: str, place: str) -> str:
    text = rng.choice(OPENINGS) + rng.choice(MATTERS[matter]).format(place=place) + "。"
    while len(text) < 170:  # about 200 characters, as a call is written down
        text += rng.choice(["我们楼里住的大多是老人，", "这个问题不是一天两天了，", "之前也打过物业电话，",
                            "社区的人来看过一次就没下文了，", "家里还有刚出生的孩子，"])
    text += rng.choice(CLOSINGS)
    if rng.random() < 0.3:
        wrong, typo = rng.choice(TYPOS)
        text = text.replace(wrong, typo, 1)
    return text


def corpus(seed: int = 14) -> list[dict[str, Any]]:
    """Varied requests of different people at different buildings (none merged), and a few with known people."""
    rng = random.Random(seed)
    items = []
    for i in range(36):
        matter = list(MATTERS)[i % len(MATTERS)]
        street, estate = STREETS[i % len(STREETS)], ESTATES[(i // len(STREETS)) % len(ESTATES)]
        place = f"{estate}{i + 1}栋"
        items.append({"channel": "hotline", "content": _content(rng, matter, place),
                      "complainant": {"name": rng.choice(["王芳", "刘洋", "陈静", "杨帆", "赵磊"]) + str(i),
                                      "phone": f"1390000{i:04d}"},
                      "location": {"region_code": "339901001", "address": f"东湖区{street}{i + 10}号{place}"}})
    return items


async def _batch(svc: RunningService, items: list[dict[str, Any]]) -> list[str]:
    r = await svc.client.post("/v1/tickets:batch", json={"items": items}, headers=OP)
    assert r.status_code == 201, r.text
    answers = r.json()["items"]
    assert not any(a["merged"] for a in answers)
    return [a["ticket_no"] for a in answers]


async def _search(svc: RunningService, who: dict[str, str] = OP, **params: Any) -> dict[str, Any]:
    r = await svc.client.get("/v1/tickets", params={"limit": 200, **params}, headers=who)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def _found(svc: RunningService, who: dict[str, str] = OP, **params: Any) -> set[str]:
    page = await _search(svc, who, **params)
    assert page["total"] == len(page["items"]) and page["next_cursor"] is None
    return {i["ticket_no"] for i in page["items"]}


async def _contents(svc: RunningService) -> dict[str, str]:
    async with svc.runtime.sm() as s:
        return {r.ticket_no: r.content for r in (await s.execute(select(tickets.c.ticket_no, tickets.c.content)))}


async def test_full_text_finds_the_matter_and_never_its_look_alikes(intake: RunningService) -> None:
    nos = await _batch(intake, corpus())
    text = await _contents(intake)
    lift = await _found(intake, q="电梯")
    assert lift == {n for n in nos if "电梯" in text[n]} and len(lift) == 9
    assert all("电瓶车" not in text[n] and "电动车" not in text[n] for n in lift)  # look-alikes not found
    assert not lift & await _found(intake, q="电瓶车")
    # three characters and more go through the trigram index; every word must occur
    stuck = await _found(intake, q="困人")
    assert stuck == {n for n in nos if "困人" in text[n]} and stuck < lift
    assert await _found(intake, q="轿厢 困人") == stuck
    assert await _found(intake, q="电梯 油烟") == set()
    fumes = await _found(intake, q="烧烤店油烟")
    assert fumes and fumes == {n for n in nos if "烧烤店油烟" in text[n]}
    # punctuation, spaces and full-width letters do not stop a match; the address is searched too
    assert await _found(intake, q="停了三天，七楼") == {n for n in nos if "停了三天，七楼" in text[n]}
    assert await _found(intake, q="幸福小区１栋") == {nos[0]}  # 幸福小区1栋, not 幸福小区10栋 (…10栋 has no 1栋)
    page = await _search(intake, q="电梯")
    item = page["items"][0]
    assert "电梯" in item["excerpt"] and len(item["excerpt"]) <= 82 and "complainant" not in item
    # filters combine with the search: the address, the number, the status
    assert await _found(intake, q="电梯", address="建设路") == {n for n in lift if "建设路" in _address(nos, n)}
    assert await _found(intake, number=nos[5]) == {nos[5]}
    assert await _found(intake, q=nos[5].lower()) == {nos[5]}
    assert await _found(intake, q="电梯", status="closed") == set()
    assert (await _search(intake, possible_repeat="true"))["total"] >= 0  # still taken


def _address(nos: list[str], no: str) -> str:
    return corpus()[nos.index(no)]["location"]["address"]


async def test_phone_and_name_by_keyed_hash_for_roles_that_may_see_pii(intake: RunningService) -> None:
    rng = random.Random(3)
    mine = [  # the same person about two different matters (never merged), another with a similar name
        {"channel": "hotline", "content": _content(rng, "lift", "翠苑新村8栋"),
         "complainant": {"name": "张三", "phone": "13800138000"}, "location": {"region_code": "339901001"}},
        {"channel": "hotline", "content": _content(rng, "fumes", "翠苑新村8栋") + "我的电话13800138000，我叫张三。",
         "complainant": {"name": "张 三", "phone": "+86 138 0013 8000"}, "location": {"region_code": "339901001"}},
        {"channel": "hotline", "content": _content(rng, "water", "桃源里2栋"),
         "complainant": {"name": "张三丰", "phone": "13800138001"}, "location": {"region_code": "339901001"}},
        {"channel": "window", "content": _content(rng, "water", "东湖路5号"),
         "complainant": {"name": "李四", "phone": "0571-88886666"}, "location": {"region_code": "339901001"}},
    ]
    a, b, c, d = await _batch(intake, mine)
    assert await _found(intake, phone="138 0013-8000") == {a, b}
    assert await _found(intake, q="138 0013 8000") == {a, b}
    assert await _found(intake, name="张三") == {a, b}  # not 张三丰
    assert await _found(intake, q="张三") == {a, b}  # the name hash, and 张三 in b's text
    assert await _found(intake, phone="0571 8888 6666") == {d}  # stored with its dash, found without
    assert await _found(intake, phone="13800138000", name="张三丰") == set()
    # with the other filters: the channel, the period
    assert await _found(intake, name="李四", channel="window") == {d}
    assert await _found(intake, phone="13800138000", channel="window") == set()
    assert await _found(intake, name="张三", **{"from": "2020-01-01T00:00:00+08:00"}) == {a, b}
    assert await _found(intake, name="张三", **{"to": "2020-01-01T00:00:00+08:00"}) == set()
    r = await intake.client.get("/v1/tickets", params={"phone": "电梯"}, headers=OP)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "phone"
    # a role that may not see PII: no search by the person; q finds the text only; the excerpt masked
    r = await intake.client.get("/v1/tickets", params={"phone": "13800138000"}, headers=LEADER)
    assert r.status_code == 403 and "phone" in r.json()["detail"]
    assert await _found(intake, LEADER, q="张三") == {b}
    masked = (await _search(intake, LEADER, q="油烟"))["items"]
    shown = next(i["excerpt"] for i in masked if i["ticket_no"] == b)
    assert "13800138000" not in shown and "张三" not in shown
    full = next(i["excerpt"] for i in (await _search(intake, q="13800138000"))["items"] if i["ticket_no"] == b)
    assert "13800138000" in full
    assert c not in await _found(intake, q="13800138000")


async def _dispatch(svc: RunningService, ticket_no: str, unit: str) -> None:
    from datetime import UTC, datetime
    env = make_event(TicketDispatched(lead_unit=unit, lead_unit_name="东湖区市场监管局", unit_level=2, tier="yellow",
                                      response_level=2, dispatched_at=datetime.now(UTC)), ticket_id=ticket_no,
                     producer="triage-svc")
    await publish(svc.settings.kafka_bootstrap, svc.settings.topic_prefix, TRIAGE_WORK_ORDERS, env)

    async def at_unit() -> bool:
        return (await svc.client.get(f"/v1/tickets/{ticket_no}", headers=OP)).json()["unit"] == unit

    await eventually(at_unit)


async def test_a_unit_finds_only_its_own_units_tickets(intake: RunningService) -> None:
    nos = await _batch(intake, corpus()[:12])
    text = await _contents(intake)
    lift = sorted(n for n in nos if "电梯" in text[n])
    await _dispatch(intake, lift[0], TEST_UNIT)
    await _dispatch(intake, lift[1], OTHER_UNIT)
    assert await _found(intake, auth("unit"), q="电梯") == {lift[0]}
    assert await _found(intake, auth("other_unit"), q="电梯") == {lift[1]}
    assert await _found(intake, auth("unit"), q=lift[1]) == set()  # not even by its number
    r = await intake.client.get("/v1/tickets", params={"q": "电梯", "unit": OTHER_UNIT}, headers=auth("unit"))
    assert r.status_code == 403


async def test_cursor_pages_walk_every_match_once(intake: RunningService) -> None:
    nos = await _batch(intake, corpus())
    seen: list[str] = []
    cursor = None
    totals = set()
    while True:
        params: dict[str, Any] = {"q": "小区", "limit": 4, **({"cursor": cursor} if cursor else {})}
        r = await intake.client.get("/v1/tickets", params=params, headers=OP)
        assert r.status_code == 200, r.text
        page = r.json()
        totals.add(page["total"])
        seen += [i["ticket_no"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    text = await _contents(intake)
    expected = {n for n in nos if "小区" in text[n] or "小区" in _address(nos, n)}
    assert len(seen) == len(set(seen)) and set(seen) == expected and totals == {len(expected)}
    assert seen == sorted(seen, reverse=True)  # newest first, a stable order
    r = await intake.client.get("/v1/tickets", params={"q": "小区", "cursor": "not-ours"}, headers=OP)
    assert r.status_code == 400


async def test_repeats_are_found_through_their_ticket_until_unmerged(intake: RunningService) -> None:
    first = {"channel": "hotline",
             "content": "您好，我要反映一个问题，幸福小区3栋的电梯已经停了三天，老人下不了楼，请尽快修理。",
             "complainant": {"phone": "13700001111"}, "location": {"region_code": "339901001"}}
    again = {"channel": "app", "content": "幸福小区3栋电梯停了三天还没修好，轿厢门也关不上，老人下不了楼，请尽快修理",
             "complainant": {"phone": "13700001111"}, "location": {"region_code": "339901001"}}
    no = (await intake.client.post("/v1/tickets", json=first, headers=OP)).json()["ticket_no"]
    merged = (await intake.client.post("/v1/tickets", json=again, headers=OP)).json()
    assert merged["merged"] is True and merged["ticket_no"] == no
    assert await _found(intake, q="轿厢门") == {no}  # only the repeat says it
    r = await intake.client.post(f"/v1/tickets/{no}/unmerge", json={"seq": 1, "reason": "另一件事"}, headers=OP)
    assert r.status_code == 201, r.text
    split = r.json()["ticket_no"]
    assert await _found(intake, q="轿厢门") == {split}
    async with intake.runtime.sm() as s:
        rows = (await s.execute(select(ticket_search.c.ticket_no))).scalars().all()
    assert sorted(rows) == sorted({no, split})


async def test_unknown_parameters_are_refused_by_name(intake: RunningService) -> None:
    for url in ("/v1/tickets", "/v1/tickets/BC20261205120000000ABCD", "/v1/sms"):
        r = await intake.client.get(url, params={"qq": "电梯"}, headers=OP)
        assert r.status_code == 400, (url, r.text)
        body = r.json()
        assert r.headers["content-type"].startswith("application/problem+json")
        assert body["errors"] == [{"field": "qq", "message": "unknown query parameter"}] and "'qq'" in body["detail"]
    r = await intake.client.get("/v1/public/track/abc", params={"phone": "1"})
    assert r.status_code == 400 and "'phone'" in r.json()["detail"]
    assert (await intake.client.get("/v1/tickets", params={"q": "，。"}, headers=OP)).status_code == 422


async def test_tickets_stored_before_search_are_indexed_by_the_migration_and_named_by_rekey(
        databases: Databases, kafka_bootstrap: str, topic_prefix: str) -> None:
    url = await databases.new("intake")
    first = {"channel": "hotline", "content": "您好，我要反映一个问题，锦绣华庭5栋的电梯已经停了三天，老人下不了楼。",
             "complainant": {"name": "王小明", "phone": "13600006666"}, "location": {"region_code": "339901001"}}
    again = {"channel": "app", "content": "锦绣华庭5栋电梯停了三天还没修，对讲门禁也坏了，老人下不了楼",
             "complainant": {"phone": "13600006666"}, "location": {"region_code": "339901001"}}
    async with run_service("intake", database_url=url, kafka_bootstrap=kafka_bootstrap, topic_prefix=topic_prefix,
                           pii_key=PII_KEY) as svc:
        no = (await svc.client.post("/v1/tickets", json=first, headers=OP)).json()["ticket_no"]
        assert (await svc.client.post("/v1/tickets", json=again, headers=OP)).json()["merged"] is True
    # as if these had been stored before search: back to the revision before it, then up again (the backfill)
    cfg = alembic_config(SERVICES["intake"]["migrations"], url)
    await asyncio.to_thread(command.downgrade, cfg, "e3b8d51a7c02")
    await asyncio.to_thread(command.upgrade, cfg, "head")
    assert await asyncio.to_thread(rekey_command, [], IntakeSettings(database_url=url, pii_key=PII_KEY)) == 0
    async with run_service("intake", database_url=url, kafka_bootstrap=kafka_bootstrap, topic_prefix=topic_prefix,
                           pii_key=PII_KEY) as svc:
        assert await _found(svc, q="对讲门禁") == {no}  # the repeat's text, through its ticket
        assert await _found(svc, q="锦绣华庭 电梯") == {no}
        assert await _found(svc, name="王小明") == {no}  # the name hash rekey filled
