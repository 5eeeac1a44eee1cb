"""A hotspot handed down across the four services, on a real broker and real databases: the same problem raised in
several districts is mined by oversight, handed down (HotspotHandedDown), registered by intake as a ticket of
channel `hotspot` with nobody as complainant, dispatched by triage to the city department of the hotspot's kind
(not to a street's), put on a clock by sla; oversight shows the department, the ticket and its status on the
hotspot, and refuses a second hand-down naming the ticket. And 回头看: a closed ticket's re-check that finds the
problem back reopens it, as an unsatisfied return visit does."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

from bancheng_services.demo import seed_directory
from bancheng_services.testing import TEST_UNIT, Databases, auth, eventually, run_service

# 共享单车乱停放 raised by different people in four districts (street region codes)
BIKES = [
    ("339901001", "13800001111", "投诉东湖区城关街道地铁站B口共享单车乱停放，把盲道和人行道都堵死了，"
                                 "推婴儿车根本过不去，共享单车乱停放问题一直没人管。"),
    ("339902003", "13900002222", "投诉西岭区人民街道人民医院门口共享单车乱停放严重，人行道都堵死了，救护车进出受影响，"
                                 "共享单车乱停放没人管。"),
    ("339903002", "13700003333", "投诉南港区新华街道实验小学门口共享单车乱停放，人行道堵死了，孩子上学只能走机动车道，"
                                 "共享单车乱停放一直没人管。"),
    ("339904001", "13600004444", "投诉北川区城关街道幸福小区大门口共享单车乱停放，人行道和消防通道都堵死了，"
                                 "物业说共享单车乱停放他们管不了。"),
]


async def test_hotspot_handed_down_becomes_a_city_work_order_on_a_clock(
    databases: Databases, kafka_bootstrap: str, topic_prefix: str
) -> None:
    urls = {s: await databases.new(s) for s in ("intake", "triage", "sla", "oversight")}
    await seed_directory(urls["triage"])
    async with AsyncExitStack() as stack:
        svc = {s: await stack.enter_async_context(run_service(s, database_url=u, kafka_bootstrap=kafka_bootstrap,
                                                              topic_prefix=topic_prefix))
               for s, u in urls.items()}
        intake, triage, sla, ov = (svc[s].client for s in ("intake", "triage", "sla", "oversight"))
        nos = []
        for region, phone, text in BIKES:
            r = await intake.post("/v1/tickets", headers=auth("operator"), json={
                "channel": "hotline", "content": text, "location": {"region_code": region},
                "complainant": {"name": "市民", "phone": phone}})
            assert r.status_code == 201, r.text
            nos.append(r.json()["ticket_no"])

        async def mined() -> Any:
            rows = (await ov.get("/v1/hotspots", headers=auth("supervision_office"))).json()
            return next((h for h in rows if sorted(h["ticket_nos"]) == sorted(nos)), None)

        h = await eventually(mined)
        kind = h["kind"]
        # the street tickets went to their districts' units; the hotspot goes to the city's department of that kind
        for no in nos:
            wo = (await triage.get(f"/v1/work-orders/{no}", headers=auth("work_team"))).json()
            assert wo["lead_unit"] == f"{wo['region_code'][:6]}-{kind}"
        assert h["order"] is None

        r = await ov.post(f"/v1/hotspots/{h['hotspot_id']}/hand-down", headers=auth("unit"), json={})
        assert r.status_code == 403
        r = await ov.post(f"/v1/hotspots/{h['hotspot_id']}/hand-down", headers=auth("supervision_office"), json={})
        assert r.status_code == 201, r.text
        order = r.json()
        assert (order["department_kind"], order["unit_level"]) == (kind, 1)
        assert "共享单车乱停放" in order["title"] and all(no in order["summary"] for no in nos)
        for _, phone, _ in BIKES:  # no complainant data goes down
            assert phone not in order["summary"]
        assert "婴儿车" not in order["summary"]

        async def linked() -> Any:
            got = await mined()
            o = got["order"] if got else None
            return o if o and o["ticket_no"] and o["status"] == "dispatched" and o["unit"] else None

        o = await eventually(linked, timeout_s=40)
        ticket_no = o["ticket_no"]
        assert ticket_no not in nos
        assert o["unit"] == f"3399-{kind}" and o["unit_name"].startswith("示范市")

        # intake: a ticket of channel hotspot, nobody's complaint
        t = (await intake.get(f"/v1/tickets/{ticket_no}", headers=auth("operator"))).json()
        assert t["channel"] == "hotspot" and t["content"] == order["summary"]
        assert t["complainant"] is None or not any(t["complainant"].get(k) for k in ("name", "phone", "id_number"))
        # triage: the city department of the kind, the hand-down in its explanation
        wo = (await triage.get(f"/v1/work-orders/{ticket_no}", headers=auth("work_team"))).json()
        assert (wo["state"], wo["lead_unit"], wo["channel"]) == ("dispatched", f"3399-{kind}", "hotspot")
        assert any(f"hotspot {h['hotspot_id']}: handed down to the {kind} department at level 1" in line
                   for line in wo["explanation"])

        # sla: a clock like any other ticket's
        async def clock() -> Any:
            r = await sla.get(f"/v1/clocks/{ticket_no}", headers=auth("work_team"))
            rounds = r.json().get("rounds") if r.status_code == 200 else None
            return rounds[0] if rounds and rounds[0]["state"] == "running" else None

        c = await eventually(clock)
        assert c["unit"] == f"3399-{kind}" and c["resolve_due"]

        # once only: the second hand-down names the ticket
        r = await ov.post(f"/v1/hotspots/{h['hotspot_id']}/hand-down", headers=auth("inspector"), json={})
        assert r.status_code == 409 and r.headers["content-type"].startswith("application/problem+json")
        assert ticket_no in r.json()["detail"] and r.json()["ticket_no"] == ticket_no
        # the work order is not mined as one more place of its own hotspot; the case route still works
        again = await mined()
        assert again is not None and ticket_no not in again["ticket_nos"]
        r = await ov.post(f"/v1/hotspots/{h['hotspot_id']}/case", headers=auth("supervision_office"),
                          json={"units": [f"3399-{kind}"]})
        assert r.status_code == 201, r.text


FOOD = ("您好，我要投诉。东湖区城关街道人民路88号阳光花园3栋楼下的一家超市卖过期食品，我上周买的牛奶回家一看已经过期"
        "五天了，找商家要求退款，商家拒绝退款还态度很差，希望市场监管部门尽快查处。")


async def test_a_recheck_finding_the_problem_back_reopens_the_closed_work_order(
    databases: Databases, kafka_bootstrap: str, topic_prefix: str
) -> None:
    """回头看 with every closed ticket in the sample, due at once: the problem is back through the unit's fault, so
    the closed work order is reopened for a new round and a new clock, as after an unsatisfied return visit."""
    urls = {s: await databases.new(s) for s in ("intake", "triage", "sla", "oversight")}
    await seed_directory(urls["triage"])
    extra: dict[str, dict[str, Any]] = {"oversight": {"recheck_sample_rate": 1.0, "recheck_after_days": 0}}
    async with AsyncExitStack() as stack:
        svc = {s: await stack.enter_async_context(run_service(s, database_url=u, kafka_bootstrap=kafka_bootstrap,
                                                              topic_prefix=topic_prefix, **extra.get(s, {})))
               for s, u in urls.items()}
        intake, triage, sla, ov = (svc[s].client for s in ("intake", "triage", "sla", "oversight"))
        r = await intake.post("/v1/tickets", headers=auth("operator"), json={
            "channel": "hotline", "content": FOOD, "location": {"region_code": "339901001"},
            "complainant": {"name": "王女士", "phone": "13912345678"}})
        assert r.status_code == 201, r.text
        no = r.json()["ticket_no"]

        async def state(want: str, rnd: int = 1) -> Any:
            w = (await triage.get(f"/v1/work-orders/{no}", headers=auth("work_team"))).json()
            return w if w.get("state") == want and w.get("round") == rnd else None

        assert (await eventually(lambda: state("dispatched")))["lead_unit"] == TEST_UNIT
        assert (await triage.post(f"/v1/work-orders/{no}/sign", headers=auth("unit"))).status_code == 200
        r = await triage.post(f"/v1/work-orders/{no}/resolution", headers=auth("unit"),
                              json={"outcome": "resolved", "reply": "已责令超市下架过期食品并退款"})
        assert r.status_code == 200, r.text

        async def visited() -> Any:
            r = await ov.post(f"/v1/tickets/{no}/return-visits", headers=auth("work_team"),
                              json={"resolved": "yes", "satisfaction": "satisfied"})
            return r.json() if r.status_code == 201 else None

        await eventually(visited)
        await eventually(lambda: state("closed"))

        async def due() -> Any:
            rows = (await ov.get("/v1/rechecks", params={"due": "true"}, headers=auth("work_team"))).json()
            return next((x for x in rows if x["ticket_no"] == no), None)

        owed = await eventually(due)
        assert (owed["round"], owed["unit"]) == (1, TEST_UNIT)
        r = await ov.post(f"/v1/tickets/{no}/recheck", headers=auth("work_team"), json={
            "resolved": "no", "satisfaction": "unsatisfied", "cause": "subjective",
            "notes": "一个月后这家超市又在卖过期牛奶"})
        assert r.status_code == 200, r.text
        assert r.json()["relapsed"] is True and r.json()["redo"] is True

        w = await eventually(lambda: state("dispatched", 2))
        assert w["lead_unit"] == TEST_UNIT

        async def second_clock() -> Any:
            r = await sla.get(f"/v1/clocks/{no}", headers=auth("work_team"))
            c = r.json() if r.status_code == 200 else {}
            return c if c.get("current_round") == 2 and c["rounds"][-1]["state"] == "running" else None

        await eventually(second_clock)
        today = owed["dispatch_day"]
        row = next(x for x in (await ov.get("/v1/stats/units", params={"from": today, "to": today},
                                            headers=auth("leader"))).json() if x["unit"] == TEST_UNIT)
        assert (row["recheck_due"], row["rechecked"], row["recheck_relapsed"]) == (1, 1, 1)
