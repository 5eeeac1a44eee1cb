"""The red track: triage's red tier opens a case; register, investigate, letter, reply by the unit's own key,
inspectors' visit, redo through triage (RedoOrdered), second letter left unanswered → raised and
accountability proposed, decided, concluded with the feedback sheet, published without PII."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from oversight_helpers import at, ev, outbox_events, produce

from bancheng_services.testing import Databases, RunningService, auth, eventually, run_service
from bancheng_shared.contracts.triage import TicketDispatched, TicketTriaged
from oversight_svc.domain.commands import CheckLetters

UNIT = "339901-market_regulation"


async def check_letters(svc: RunningService, now: datetime | None = None) -> int:
    """Run the overdue-letter job once (its loop sleeps an hour in these tests)."""
    return int(await svc.app.state.bus.handle(CheckLetters(now=now)))


async def post(svc: RunningService, path: str, who: str, body: dict[str, Any], status: int = 200) -> Any:
    r = await svc.client.post(path, headers=auth(who), json=body)
    assert r.status_code == status, r.text
    return r.json()


async def test_red_ticket_to_concluded_case(databases: Databases, kafka_bootstrap: str, topic_prefix: str) -> None:
    url = await databases.new("oversight")
    async with run_service("oversight", database_url=url, kafka_bootstrap=kafka_bootstrap,
                           topic_prefix=topic_prefix, letter_check_interval_s=3600) as svc:
        await produce(kafka_bootstrap, topic_prefix, [
            ev(TicketTriaged(category="complaint", domain="market_supervision", department_kinds=["local_government"],
                             tier="red", response_level=1, route="dispatch", region_code="339901001"), "R1"),
            ev(TicketDispatched(lead_unit=UNIT, lead_unit_name="东湖区市场监管局", unit_level=2,
                                region_code="339901001", tier="red", response_level=1, dispatched_at=at()), "R1"),
        ])

        async def opened() -> Any:
            r = await svc.client.get("/v1/cases", params={"ticket_no": "R1"}, headers=auth("inspector"))
            rows = r.json()
            return rows if rows and rows[0]["units"] == [UNIT] else None

        case = (await eventually(opened))[0]
        cid = case["case_id"]
        assert case["state"] == "opened" and case["red"] and case["sources"] == ["red_ticket"]
        assert [e.payload["case_id"] for e in await outbox_events(svc, "CaseOpened")] == [cid]

        # an invalid transition names the state and the allowed actions
        r = await svc.client.post(f"/v1/cases/{cid}/conclusion", headers=auth("inspector"),
                                  json={"result": "x", "solved": True})
        assert r.status_code == 409 and r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["state"] == "opened" and r.json()["allowed_actions"] == ["register"]

        await post(svc, f"/v1/cases/{cid}/register", "inspector", {"inspector": "第五纪检监察室 王某"})
        await post(svc, f"/v1/cases/{cid}/investigations", "inspector",
                   {"notes": "走访街道政务服务中心", "findings": "未提供邮寄服务"})
        c = await post(svc, f"/v1/cases/{cid}/letters", "inspector",
                       {"unit": UNIT, "requirements": "完善证照代寄服务", "working_days": 5})
        letter = c["letters"][0]
        assert c["state"] == "letter_sent" and letter["unit"] == UNIT

        # only the addressed unit answers, with its own key; unknown letters are 404
        r = await svc.client.post(f"/v1/cases/{cid}/letters/{letter['letter_id']}/reply",
                                  headers=auth("other_unit"), json={"content": "x"})
        assert r.status_code == 404  # the other unit does not even see the case
        r = await svc.client.post(f"/v1/cases/{cid}/letters/LTR-nope/reply", headers=auth("unit"),
                                  json={"content": "x"})
        assert r.status_code == 404 and r.json()["type"].endswith("unknown-letter")
        c = await post(svc, f"/v1/cases/{cid}/letters/{letter['letter_id']}/reply", "unit",
                       {"content": "已联系快递公司设置寄送服务点", "measures": ["公示邮寄电话"]})
        assert c["state"] == "replied" and c["letters"][0]["reply"]["late"] is False

        c = await post(svc, f"/v1/cases/{cid}/return-visits", "inspector",
                       {"resolved": "partly", "satisfaction": "unsatisfied", "rectification": "insufficient"})
        assert c["state"] == "visited"
        c = await post(svc, f"/v1/cases/{cid}/redo", "inspector", {"reason": "整改不到位：邮寄点未公示"})
        assert c["state"] == "redo"
        redo = await outbox_events(svc, "RedoOrdered")
        assert [(e.ticket_id, e.payload["case_id"], e.payload["unit"]) for e in redo] == [("R1", cid, UNIT)]

        # a second letter that nobody answers: the loop raises the case and proposes accountability
        c = await post(svc, f"/v1/cases/{cid}/letters", "inspector",
                       {"unit": UNIT, "requirements": "限期公示邮寄电话", "working_days": 1})
        second = c["letters"][1]
        assert await check_letters(svc) == 0  # not due yet
        due = datetime.fromisoformat(second["due_at"])
        assert await check_letters(svc, now=due + timedelta(seconds=1)) == 1
        assert await check_letters(svc, now=due + timedelta(seconds=2)) == 0  # raised once
        c = (await svc.client.get(f"/v1/cases/{cid}", headers=auth("inspector"))).json()
        assert c["level"] == "raised" and c["letters"][1]["overdue"] is True
        raised = await outbox_events(svc, "CaseRaised")
        proposal_id = raised[0].payload["accountability_id"]
        props = (await svc.client.get("/v1/accountability", params={"status": "proposed"},
                                      headers=auth("supervision_office"))).json()
        assert [p["record_id"] for p in props] == [proposal_id] and props[0]["unit"] == UNIT
        rec = await post(svc, f"/v1/accountability/{proposal_id}/decision", "inspector", {
            "person": {"name": "刘洋", "post": "街道政务服务中心负责人"}, "measure": "reminder_talk",
            "reason_category": "不作为"})
        assert rec["status"] == "decided" and rec["case_ids"] == [cid]
        r = await svc.client.post(f"/v1/accountability/{proposal_id}/decision", headers=auth("inspector"),
                                  json={"dismiss": True})
        assert r.status_code == 409

        c = await post(svc, f"/v1/cases/{cid}/letters/{second['letter_id']}/reply", "unit",
                       {"content": "已公示邮寄电话"})
        assert c["letters"][1]["reply"]["late"] is True
        await post(svc, f"/v1/cases/{cid}/return-visits", "inspector",
                   {"resolved": "yes", "satisfaction": "satisfied", "rectification": "sufficient"})
        c = await post(svc, f"/v1/cases/{cid}/conclusion", "inspector",
                       {"result": "街道已设置寄送服务点并公示电话；负责人刘洋提醒谈话", "solved": True})
        sheet = c["documents"][-1]
        assert c["state"] == "concluded" and sheet["kind"] == "conclude"
        assert sheet["body"]["sent_to"] == ["hotline_center", UNIT]
        assert [d["kind"] for d in c["documents"]] == [
            "opened", "register", "investigate", "send_letter", "reply", "return_visit", "order_redo",
            "send_letter", "letter_overdue", "reply", "return_visit", "conclude"]

        # the unit sees its case, but not the informant; nothing on the public feed before publication
        uc = (await svc.client.get(f"/v1/cases/{cid}", headers=auth("unit"))).json()
        assert "informant" not in uc and uc["state"] == "concluded"
        assert (await svc.client.get(f"/v1/cases/{cid}", headers=auth("other_unit"))).status_code == 404
        assert (await svc.client.get("/v1/cases", headers=auth("other_unit"))).json() == []
        assert (await svc.client.get("/v1/disclosures")).json() == []
        await post(svc, f"/v1/cases/{cid}/publication", "supervision_office", {
            "title": "街道证照邮寄服务缺失问题已整改",
            "summary": "群众刘洋（13812345678）反映街道不提供证照邮寄服务，同小区的居民王芳（住人民路8号2栋301室）"
                       "也反映过。经督办，街道设置寄送服务点。"})
        pub = (await svc.client.get("/v1/disclosures")).json()
        text = str(pub)
        assert len(pub) == 1 and "13812345678" not in text and "刘洋" not in text and "刘某" in text
        # a name and an address written in the text, unknown to the case, do not go out either
        assert "王芳" not in text and "王某" in text and "301室" not in text and "人民路××" in text
        assert pub[0]["units"] == ["东湖区市场监管局"]

        # accountability in a case that is not a red ticket's (opened by hand) is not a red-track figure
        other = await post(svc, "/v1/cases", "inspector", {"title": "窗口人员推诿", "summary": "人工立案",
                                                           "units": [UNIT], "red": False}, status=201)
        await post(svc, "/v1/accountability", "inspector", {
            "unit": UNIT, "person": {"name": "赵敏", "post": "窗口工作人员"}, "measure": "criticism",
            "reason_category": "推诿扯皮", "case_ids": [other["case_id"]], "ticket_nos": []}, status=201)

        # red-track figures for the period
        today = "2099-12-31"  # beyond now in any time zone
        ov = (await svc.client.get("/v1/stats/overview", params={"from": "2025-01-01", "to": today},
                                   headers=auth("leader"))).json()
        assert ov["red_track"]["red_tickets_investigated"] == 1
        assert ov["red_track"]["problems_solved"] == 1
        assert ov["red_track"]["people_held_accountable"] == 1
        assert ov["red_track"]["accountability_measures"] == {"reminder_talk": 1}
        unit_row = (await svc.client.get("/v1/stats/units", params={"from": "2025-01-01", "to": today},
                                         headers=auth("unit"))).json()[0]
        # the unit's own figures count every case and measure, the hand-opened one too
        assert (unit_row["supervised"], unit_row["redone"], unit_row["accountability"]) == (2, 1, 2)


async def test_manual_case_roles_and_informant(databases: Databases, kafka_bootstrap: str, topic_prefix: str) -> None:
    url = await databases.new("oversight")
    async with run_service("oversight", database_url=url, kafka_bootstrap=kafka_bootstrap,
                           topic_prefix=topic_prefix) as svc:
        body = {"title": "举报：窗口吃拿卡要", "units": [UNIT], "informant": "张三 13900001111", "red": True}
        r = await svc.client.post("/v1/cases", headers=auth("unit"), json=body)
        assert r.status_code == 403
        c = await post(svc, "/v1/cases", "supervision_office", body, 201)
        assert c["informant"] == "张三 13900001111" and c["sources"] == ["manual"]
        listed = (await svc.client.get("/v1/cases", headers=auth("unit"))).json()
        assert [x["case_id"] for x in listed] == [c["case_id"]] and "informant" not in listed[0]
        assert (await svc.client.get("/v1/cases", headers=auth("leader"))).status_code == 403
        assert (await svc.client.get("/v1/cases/CASE-unknown", headers=auth("inspector"))).status_code == 404
        r = await svc.client.post("/v1/accountability", headers=auth("inspector"), json={
            "unit": UNIT, "person": {"name": "李四", "post": "窗口负责人"}, "measure": "criticism",
            "reason_category": "乱作为", "case_ids": ["CASE-unknown"]})
        assert r.status_code == 422 and "case_ids" in r.json()["detail"]
        r = await svc.client.post("/v1/accountability", headers=auth("inspector"), json={
            "unit": UNIT, "person": {"name": "李四", "post": "窗口负责人"}, "measure": "nonsense",
            "reason_category": "乱作为"})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "measure"
        rec = await post(svc, "/v1/accountability", "inspector", {
            "unit": UNIT, "person": {"name": "李四", "post": "窗口负责人"}, "measure": "criticism",
            "reason_category": "乱作为", "case_ids": [c["case_id"]]}, 201)
        assert rec["decided_by"] == "test inspector"
        assert len((await svc.client.get("/v1/accountability", headers=auth("unit"))).json()) == 1
        assert (await svc.client.get("/v1/accountability", headers=auth("other_unit"))).json() == []
        r = await svc.client.get(f"/v1/accountability/{rec['record_id']}", headers=auth("other_unit"))
        assert r.status_code == 404
