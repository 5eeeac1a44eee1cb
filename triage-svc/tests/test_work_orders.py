"""The work-order lifecycle through the API and the events, on a real broker and real databases."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import select

from bancheng_services.demo import seed_directory
from bancheng_services.stack import seed_keys
from bancheng_services.testing import Databases, RunningService, auth, eventually, run_service
from bancheng_shared.contracts import EventPayload, make_event
from bancheng_shared.contracts.intake import RepeatReceived, TicketReceived
from bancheng_shared.contracts.oversight import RedoOrdered, ReturnVisitRecorded
from bancheng_shared.contracts.sla import AlertRaised, DeemedSigned
from bancheng_shared.contracts.vocab import AlertLevel, Channel, Satisfaction
from bancheng_shared.outbox import add_events
from bancheng_shared.topics import INTAKE_TICKETS, OVERSIGHT_CASES, SLA_CLOCKS, TRIAGE_WORK_ORDERS
from triage_svc.adapters.tables import plumbing

UNIT = "339901-market_regulation"
NOW = datetime.now(UTC)


async def inject(svc: RunningService, ticket_no: str, payload: EventPayload, topic: str) -> None:
    """Put another service's event on its topic (through this service's outbox relay: a real broker trip)."""
    async with svc.runtime.sm() as s, s.begin():
        await add_events(s, plumbing, [make_event(payload, ticket_id=ticket_no, producer="test")], topic)
    svc.runtime.relay.wake()


async def receive(svc: RunningService, content: str, region: str | None = "339901001") -> str:
    ticket_no = f"T{uuid.uuid4().hex[:10]}"
    await inject(svc, ticket_no, TicketReceived(channel=Channel.hotline, content=content, region_code=region,
                                                received_at=NOW), INTAKE_TICKETS)
    return ticket_no


async def wo(svc: RunningService, ticket_no: str, who: str = "work_team", state: str | None = None) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        r = await svc.client.get(f"/v1/work-orders/{ticket_no}", headers=auth(who))
        if r.status_code != 200:
            return None
        body = r.json()
        return body if state is None or body["state"] == state else None
    return await eventually(check)


async def events(svc: RunningService, ticket_no: str) -> list[dict[str, Any]]:
    async with svc.runtime.sm() as s:
        rows = (await s.execute(select(plumbing.outbox.c.value).where(
            plumbing.outbox.c.key == ticket_no, plumbing.outbox.c.topic == TRIAGE_WORK_ORDERS)
            .order_by(plumbing.outbox.c.id))).scalars().all()
    return [orjson.loads(v) for v in rows]


async def test_lifecycle(databases: Databases, kafka_bootstrap: str, topic_prefix: str) -> None:
    url = await databases.new("triage")
    await seed_directory(url)
    async with run_service("triage", database_url=url, kafka_bootstrap=kafka_bootstrap,
                           topic_prefix=topic_prefix) as svc:
        c = svc.client
        # --- dispatched to the district's market regulation; unit scoping
        a = await receive(svc, "东湖区城关街道一家超市卖过期食品，商家拒绝退款")
        w = await wo(svc, a, state="dispatched")
        assert w["lead_unit"] == UNIT and w["round"] == 1 and w["explanation"]
        assert (await c.get(f"/v1/work-orders/{a}", headers=auth("other_unit"))).status_code == 404
        assert (await c.post(f"/v1/work-orders/{a}/sign", headers=auth("other_unit"))).status_code == 404
        assert (await c.get(f"/v1/work-orders/{a}", headers=auth("unit"))).status_code == 200
        # --- a refused action names the state and what is allowed
        r = await c.post(f"/v1/work-orders/{a}/resolution", headers=auth("unit"),
                         json={"outcome": "resolved", "reply": "已处理"})
        assert r.status_code == 409 and r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["state"] == "dispatched" and "sign" in r.json()["allowed_actions"]
        # --- return request inside the window, approved → re-dispatch, new round
        r = await c.post(f"/v1/work-orders/{a}/return-requests", headers=auth("unit"),
                         json={"reason": "商家在西岭区", "basis": "属地管辖"})
        assert r.status_code == 200 and r.json()["state"] == "return_requested"
        r = await c.post(f"/v1/work-orders/{a}/return-requests/decision", headers=auth("unit"),
                         json={"approved": True, "reason": "x"})
        assert r.status_code == 403
        r = await c.post(f"/v1/work-orders/{a}/return-requests/decision", headers=auth("work_team"),
                         json={"approved": True, "reason": "属西岭区", "new_unit": "339902-market_regulation"})
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "dispatched" and r.json()["round"] == 2
        assert (await c.get(f"/v1/work-orders/{a}", headers=auth("unit"))).status_code == 404
        assert (await c.get(f"/v1/work-orders/{a}", headers=auth("other_unit"))).status_code == 200
        ev = await events(svc, a)
        redis = [e for e in ev if e["type"] == "TicketDispatched" and e["payload"]["redispatch"]]
        assert redis and redis[0]["payload"]["round"] == 2 and redis[0]["payload"]["lead_unit"] == \
            "339902-market_regulation"
        assert any(e["type"] == "ReturnDecided" and e["payload"]["approved"] for e in ev)

        # --- outside the window: deemed signed by sla, then a return request is refused
        b = await receive(svc, "东湖区城关街道的菜市场有人缺斤短两")
        await wo(svc, b, state="dispatched")
        await inject(svc, b, DeemedSigned(unit=UNIT, at=NOW, round=1), SLA_CLOCKS)
        await wo(svc, b, state="signed")
        r = await c.post(f"/v1/work-orders/{b}/return-requests", headers=auth("unit"),
                         json={"reason": "不属于", "basis": "三定方案"})
        assert r.status_code == 409 and r.json()["state"] == "signed"
        # --- progress, resolution, satisfied visit closes; redo reopens with a new round and clock
        assert (await c.post(f"/v1/work-orders/{b}/progress", headers=auth("unit"),
                             json={"note": "已约谈商户"})).json()["state"] == "in_progress"
        r = await c.post(f"/v1/work-orders/{b}/resolution", headers=auth("unit"),
                         json={"outcome": "resolved", "reply": "已责令整改并退还差价"})
        assert r.json()["state"] == "resolved"
        await inject(svc, b, RedoOrdered(reason="回访不满意，主观原因", round=1, ordered_at=NOW), OVERSIGHT_CASES)
        w = await wo(svc, b, state="dispatched")
        assert w["round"] == 2
        ev = await events(svc, b)
        assert any(e["type"] == "TicketReopened" and e["payload"]["round"] == 2 for e in ev)
        assert any(e["type"] == "TicketDispatched" and e["payload"]["round"] == 2 for e in ev)
        for step, body in (("sign", None), ("resolution", {"outcome": "partially_resolved", "reply": "部分退还"})):
            assert (await c.post(f"/v1/work-orders/{b}/{step}", headers=auth("unit"), json=body)).status_code == 200
        await inject(svc, b, ReturnVisitRecorded(satisfaction=Satisfaction.basically_satisfied, round=2,
                                                 visited_at=NOW), OVERSIGHT_CASES)
        await wo(svc, b, state="closed")
        assert any(e["type"] == "TicketClosed" for e in await events(svc, b))
        # green ticket completed → archive copy to the business-environment office
        copies = [e for e in await events(svc, b) if e["type"] == "TierCopyIssued"]
        assert copies and copies[0]["payload"]["purpose"] == "archive"

        # --- rejected return: the unit keeps it
        d = await receive(svc, "东湖区城关街道一家饭店卖的凉菜变质了")
        await wo(svc, d, state="dispatched")
        await c.post(f"/v1/work-orders/{d}/return-requests", headers=auth("unit"),
                     json={"reason": "不属于本单位", "basis": "三定方案未列"})
        r = await c.post(f"/v1/work-orders/{d}/return-requests/decision", headers=auth("work_team"),
                         json={"approved": False, "reason": "食品安全属市场监管职责"})
        assert r.json()["state"] == "signed"
        w = await wo(svc, d)
        assert w["lead_unit"] == UNIT and w["return_request"]["decision_reason"] == "食品安全属市场监管职责"

        # --- signed, then asked back within 2 working days after signing (签收后2个工作日内); once rejected, closed
        e = await receive(svc, "东湖区城关街道一家理发店办的储值卡，老板换人后不认了")
        await wo(svc, e, state="dispatched")
        assert (await c.post(f"/v1/work-orders/{e}/sign", headers=auth("unit"))).json()["state"] == "signed"
        r = await c.post(f"/v1/work-orders/{e}/return-requests", headers=auth("unit"),
                         json={"reason": "预付卡纠纷属商务部门", "basis": "单用途商业预付卡管理办法"})
        assert r.status_code == 200 and r.json()["state"] == "return_requested", r.text
        r = await c.post(f"/v1/work-orders/{e}/return-requests/decision", headers=auth("work_team"),
                         json={"approved": False, "reason": "消费纠纷属市场监管"})
        assert r.json()["state"] == "signed"
        r = await c.post(f"/v1/work-orders/{e}/return-requests", headers=auth("unit"),
                         json={"reason": "再次申请", "basis": "三定方案"})
        assert r.status_code == 409 and r.json()["type"].endswith("/return-window-closed")


async def test_tiers_and_special_routes(databases: Databases, kafka_bootstrap: str, topic_prefix: str) -> None:
    url = await databases.new("triage")
    await seed_directory(url)
    async with run_service("triage", database_url=url, kafka_bootstrap=kafka_bootstrap,
                           topic_prefix=topic_prefix) as svc:
        c = svc.client
        # conduct complaint → red, supervision copy
        red = await receive(svc, "东湖区市场监管局对我们反映的问题推诿扯皮，吃拿卡要")
        w = await wo(svc, red, state="dispatched")
        assert w["tier"] == "red" and w["response_level"] == 1
        cp = [e for e in await events(svc, red) if e["type"] == "TierCopyIssued"]
        assert cp and cp[0]["payload"]["purpose"] == "supervision" and "discipline" in cp[0]["payload"]["to_kinds"]
        # repeats → yellow, then urgent with repeats → red; never down automatically
        g = await receive(svc, "东湖区城关街道一家超市卖过期面包")
        assert (await wo(svc, g, state="dispatched"))["tier"] == "green"
        # another person's request merged in: counted, the tier stays; the same person twice: yellow
        await inject(svc, g, RepeatReceived(repeat_count=1, content="我也在这家超市买到过期面包", same_person=False,
                                            channel=Channel.app, received_at=NOW), INTAKE_TICKETS)
        await eventually(lambda: _logged(svc, g, "repeat", 1))
        assert (await wo(svc, g))["tier"] == "green"
        for n in (2, 3):
            await inject(svc, g, RepeatReceived(repeat_count=n, content="又买到过期面包", same_person=True,
                                                channel=Channel.hotline, received_at=NOW), INTAKE_TICKETS)
        await eventually(lambda: _tier(svc, g, "yellow"))
        await inject(svc, g, AlertRaised(level=AlertLevel.urgent, unit=UNIT, raised_at=NOW, round=1), SLA_CLOCKS)
        await eventually(lambda: _tier(svc, g, "red"))
        await inject(svc, g, RepeatReceived(repeat_count=0, content="x", same_person=True, channel=Channel.hotline,
                                            received_at=NOW), INTAKE_TICKETS)
        # wait until that repeat was handled (its log line): it must not have moved the tier, and handled after the
        # lowering below it would raise the tier again (a repeat while urgent earns red)
        await eventually(lambda: _logged(svc, g, "repeat", 4))
        changes = [e["payload"] for e in await events(svc, g) if e["type"] == "TierChanged"]
        assert [(x["old_tier"], x["new_tier"], x["automatic"]) for x in changes] == [
            ("green", "yellow", True), ("yellow", "red", True)]
        # down only by a person with a reason
        assert (await c.post(f"/v1/work-orders/{g}/tier", headers=auth("unit"),
                             json={"tier": "green", "reason": "x"})).status_code == 403
        r = await c.post(f"/v1/work-orders/{g}/tier", headers=auth("work_team"),
                         json={"tier": "yellow", "reason": "已核实非主观原因"})
        assert r.status_code == 200 and (await _tier(svc, g, "yellow"))
        # petition and legal leave the dispatch track
        p = await receive(svc, "我的宅基地问题在区信访局反映了三年没有结果")
        assert (await wo(svc, p, state="transferred"))["route"] == "petition"
        tr = [e for e in await events(svc, p) if e["type"] == "TicketTransferred"]
        assert tr and tr[0]["payload"]["to_unit"] == "339901-petition"
        lg = await receive(svc, "法院判决了对方赔偿，到现在也没执行")
        assert (await wo(svc, lg, state="transferred"))["route"] == "legal"
        # look-alikes stay on the dispatch track: a court building, a threat to sue, an earlier visit to 信访局
        for text in ("您好，东湖区城关街道法院门口那段路的路灯坏了一个多星期，晚上黑漆漆的，希望尽快修好",
                     "东湖区城关街道某小区物业说不交钱就起诉我们，可电梯坏了三个月没人修，物业费凭什么照收",
                     "东湖区城关街道上个月去信访局问过，说归街道管，可我们楼下的垃圾到现在还没人清运"):
            w = await wo(svc, await receive(svc, text))
            assert w["route"] == "dispatch" and w["state"] == "dispatched", (text, w["route"])
        # a kickback asked by an official: red, copied to discipline inspection; many households: at least yellow
        k = await receive(svc, "东湖区城关街道办事处的工作人员办低保时跟我要了两千块好处费，不给钱就不给办")
        assert (await wo(svc, k, state="dispatched"))["tier"] == "red"
        cp = [e for e in await events(svc, k) if e["type"] == "TierCopyIssued"]
        assert cp and "discipline" in cp[0]["payload"]["to_kinds"]
        m = await receive(svc, "东湖区城关街道我们小区三十多户居民联名反映，楼下烧烤店油烟直排，家家户户不敢开窗")
        assert (await wo(svc, m, state="dispatched"))["tier"] in ("yellow", "red")
        # a simple consultation: answered from the knowledge base
        q = await receive(svc, "请问办居住证需要什么材料，在哪里办")
        w = await wo(svc, q, state="awaiting_answer")
        assert w["response_level"] == 3 and w["suggested_answer"]
        r = await c.post(f"/v1/work-orders/{q}/answer", headers=auth("operator"), json={})
        assert r.status_code == 200 and r.json()["state"] == "answered"
        assert any(e["type"] == "TicketAnswered" for e in await events(svc, q))


async def _tier(svc: RunningService, ticket_no: str, tier: str) -> bool:
    r = await svc.client.get(f"/v1/work-orders/{ticket_no}", headers=auth("work_team"))
    return r.status_code == 200 and r.json()["tier"] == tier


async def _logged(svc: RunningService, ticket_no: str, action: str, times: int) -> bool:
    r = await svc.client.get(f"/v1/work-orders/{ticket_no}", headers=auth("work_team"))
    return r.status_code == 200 and sum(line["action"] == action for line in r.json()["log"]) >= times


async def test_reclassify_learns(databases: Databases, kafka_bootstrap: str, topic_prefix: str) -> None:
    url = await databases.new("triage")
    await seed_directory(url)
    async with run_service("triage", database_url=url, kafka_bootstrap=kafka_bootstrap,
                           topic_prefix=topic_prefix) as svc:
        c = svc.client
        text = "东湖区城关街道小区门口的电动车充电桩经常坏，车充不了电"
        a = await receive(svc, text)
        first = await wo(svc, a, state="dispatched")
        target = "emergency" if first["department_kinds"][0] != "emergency" else "civil_affairs"
        r = await c.post(f"/v1/work-orders/{a}/reclassify", headers=auth("unit"),
                         json={"department_kind": target, "reason": "x"})
        assert r.status_code == 403
        r = await c.post(f"/v1/work-orders/{a}/reclassify", headers=auth("work_team"),
                         json={"department_kind": target, "reason": "充电设施安全隐患属应急管理"})
        assert r.status_code == 200 and r.json()["rerouted"]
        w = await wo(svc, a)
        assert w["lead_unit"].endswith(target) and w["round"] == 2
        b = await receive(svc, "东湖区城关街道我们小区门口的电动车充电桩又坏了，充不上电")
        w2 = await wo(svc, b, state="dispatched")
        assert w2["department_kinds"][0] == target
        assert any("correction #" in x for x in w2["explanation"])
        assert (await c.get("/v1/corrections", headers=auth("work_team"))).json()[0]["kind"] == target


PETITION = "339901-petition"
PETITION_KEY = {"Authorization": "Bearer test-petition-key"}


async def test_the_receiving_organ_signs_for_a_transfer(databases: Databases, kafka_bootstrap: str,
                                                        topic_prefix: str) -> None:
    url = await databases.new("triage")
    await seed_directory(url)
    await seed_keys(url, "triage_svc", [{"name": "test petition office", "role": "unit", "unit": PETITION,
                                         "key": "test-petition-key"}])
    async with run_service("triage", database_url=url, kafka_bootstrap=kafka_bootstrap,
                           topic_prefix=topic_prefix) as svc:
        c = svc.client
        p = await receive(svc, "我的宅基地问题在区信访局反映了三年没有结果")
        w = await wo(svc, p, state="transferred")
        assert (w["transfer_unit"], w["lead_unit"]) == (PETITION, None) and "sign" in w["allowed_actions"]
        # the organ sees it (and finds it in its list); other units do not, and may not sign for it
        assert (await c.get(f"/v1/work-orders/{p}", headers=PETITION_KEY)).status_code == 200
        listed = (await c.get("/v1/work-orders", headers=PETITION_KEY)).json()
        assert [(x["ticket_no"], x["transfer_unit"]) for x in listed] == [(p, PETITION)]
        for who in ("unit", "other_unit"):
            r = await c.post(f"/v1/work-orders/{p}/sign", headers=auth(who))
            assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
        assert (await c.post(f"/v1/work-orders/{p}/sign", headers=auth("operator"))).status_code == 403
        # the petition office signs for it (签收): recorded as its sign, via the transfer
        r = await c.post(f"/v1/work-orders/{p}/sign", headers=PETITION_KEY)
        assert r.status_code == 200, r.text
        assert (r.json()["state"], r.json()["transfer_unit"]) == ("transfer_received", PETITION)
        w = await wo(svc, p, state="transfer_received")
        assert w["signed_at"] and w["allowed_actions"] == ["close", "merge_away", "reclassify", "change_tier"]
        assert w["log"][-1]["action"] == "sign" and w["log"][-1]["actor"].startswith("unit:")
        signed = [e["payload"] for e in await events(svc, p) if e["type"] == "TicketSigned"]
        assert [(s["unit"], s["via"], s["round"]) for s in signed] == [(PETITION, "transfer", 1)]
        # once only
        r = await c.post(f"/v1/work-orders/{p}/sign", headers=PETITION_KEY)
        assert r.status_code == 409 and r.json()["type"].endswith("invalid-transition")
        # the work team closes it once the organ's procedure took it over
        r = await c.post(f"/v1/work-orders/{p}/close", headers=auth("work_team"), json={"reason": "已转信访程序办理"})
        assert r.status_code == 200 and r.json()["state"] == "closed"
        # a transfer the work team takes back goes to a unit: the organ no longer has it
        p2 = await receive(svc, "我的宅基地问题在区信访局反映了三年没有结果")
        await wo(svc, p2, state="transferred")
        r = await c.post(f"/v1/work-orders/{p2}/dispatch", headers=auth("work_team"),
                         json={"lead_unit": UNIT, "reason": "属市场监管"})
        assert r.status_code == 200, r.text
        w = await wo(svc, p2, state="dispatched")
        assert w["transfer_unit"] is None
        assert (await c.post(f"/v1/work-orders/{p2}/sign", headers=PETITION_KEY)).status_code == 404
