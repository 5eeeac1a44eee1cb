"""并单 by hand across the services: an operator merges a ticket into another (its work order closes and its clock
stops), then takes a repeat back out (it becomes its own ticket with its own work order and clock). Real broker,
real databases, all four services."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

from bancheng_services.demo import seed_directory
from bancheng_services.testing import Databases, RunningService, auth, eventually, run_service

FOOD = ("您好，我要投诉。东湖区城关街道人民路88号阳光花园3栋楼下的一家超市卖过期食品，我上周买的牛奶回家一看已经过期"
        "五天了，找商家要求退款，商家拒绝退款还态度很差，希望市场监管部门尽快查处，给消费者一个说法。")
NOISE = ("你好，东湖区城关街道人民路90号的烧烤摊每天晚上营业到凌晨两点，油烟很大，熏得窗户都不敢开，附近居民"
         "意见很大，找过社区也没有用，请城管部门管一管，谢谢。")


async def post_ticket(intake: RunningService, content: str, phone: str) -> str:
    r = await intake.client.post("/v1/tickets", headers=auth("operator"), json={
        "channel": "hotline", "content": content, "location": {"region_code": "339901001"},
        "complainant": {"name": "王女士", "phone": phone}})
    assert r.status_code == 201, r.text
    return str(r.json()["ticket_no"])


async def test_merge_by_hand_closes_the_work_order_and_unmerge_gives_its_own(
    databases: Databases, kafka_bootstrap: str, topic_prefix: str
) -> None:
    urls = {s: await databases.new(s) for s in ("intake", "triage", "sla", "oversight")}
    await seed_directory(urls["triage"])
    async with AsyncExitStack() as stack:
        svc = {s: await stack.enter_async_context(run_service(s, database_url=u, kafka_bootstrap=kafka_bootstrap,
                                                              topic_prefix=topic_prefix))
               for s, u in urls.items()}
        intake, triage, sla = svc["intake"], svc["triage"], svc["sla"]
        first = await post_ticket(intake, FOOD, "13800001111")
        second = await post_ticket(intake, NOISE, "13900002222")  # another matter: registered on its own

        async def running_clock(no: str) -> dict[str, Any] | None:
            r = await sla.client.get(f"/v1/clocks/{no}", headers=auth("work_team"))
            rounds = r.json().get("rounds") if r.status_code == 200 else None
            return rounds[0] if rounds and rounds[0]["state"] == "running" else None

        await eventually(lambda: running_clock(first))
        await eventually(lambda: running_clock(second))

        r = await intake.client.post(f"/v1/tickets/{second}/merge", headers=auth("operator"),
                                     json={"into": first, "reason": "来电人确认是同一件事"})
        assert r.status_code == 200, r.text

        async def closed(no: str) -> dict[str, Any] | None:
            w = (await triage.client.get(f"/v1/work-orders/{no}", headers=auth("work_team"))).json()
            return w if w.get("state") == "closed" else None

        wo = await eventually(lambda: closed(second))
        assert any(line["action"] == "merge_away" and line["detail"]["into"] == first for line in wo["log"])

        async def stopped(no: str) -> dict[str, Any] | None:
            r = await sla.client.get(f"/v1/clocks/{no}", headers=auth("work_team"))
            rounds = r.json().get("rounds") or []
            return rounds[0] if rounds and rounds[0]["state"] == "closed" else None

        await eventually(lambda: stopped(second))

        async def counted() -> dict[str, Any] | None:
            w = (await triage.client.get(f"/v1/work-orders/{first}", headers=auth("work_team"))).json()
            return w if w.get("repeat_count") == 1 else None

        await eventually(counted)
        seq = (await intake.client.get(f"/v1/tickets/{first}", headers=auth("operator"))).json()["repeats"][0]["seq"]
        r = await intake.client.post(f"/v1/tickets/{first}/unmerge", headers=auth("operator"),
                                     json={"seq": seq, "reason": "核实后不是同一事项"})
        assert r.status_code == 201, r.text
        own = r.json()["ticket_no"]
        assert own not in (first, second)
        await eventually(lambda: running_clock(own))  # its own work order and clock

        async def uncounted() -> dict[str, Any] | None:
            w = (await triage.client.get(f"/v1/work-orders/{first}", headers=auth("work_team"))).json()
            return w if w.get("repeat_count") == 0 else None

        await eventually(uncounted)
        again = await intake.client.post(f"/v1/tickets/{first}/unmerge", headers=auth("operator"),
                                         json={"seq": seq, "reason": "再次撤销"})
        assert again.status_code == 409 and again.headers["content-type"].startswith("application/problem+json")
