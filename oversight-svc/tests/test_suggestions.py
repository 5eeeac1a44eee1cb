"""Process improvement over HTTP (real broker, SQLite and PostgreSQL): suggestions raised from a ticket, a window
visit and a case to departments oversight learned from triage's dispatches; the department answers with its own
key (adopted with the change, not adopted with the reason), once; another unit neither reads nor answers them;
overdue derived from the due date; the figures per department in the statistics, the overview and the report;
SuggestionRaised and SuggestionAnswered in the outbox with the state."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from typing import Any

from openpyxl import load_workbook
from oversight_helpers import T0, at, ev, outbox_events, produce
from sqlalchemy import func, select

from bancheng_services.testing import OTHER_UNIT, TEST_UNIT, Databases, RunningService, auth, eventually, run_service
from bancheng_shared.contracts.triage import TicketDispatched, TicketTriaged
from oversight_svc.adapters.tables import suggestions

UNIT, OTHER = TEST_UNIT, OTHER_UNIT  # the unit keys' units: 东湖区 and 西湖区 market regulation
MONTH = {"from": "2025-03-01", "to": "2025-03-31"}


class Clock:
    """The service's time, moved by the test (the answer's due date is counted from it)."""

    def __init__(self, now: datetime) -> None:
        self.at = now

    def now(self) -> datetime:
        return self.at


def dispatched(ticket_no: str, unit: str, name: str) -> list[Any]:
    return [ev(TicketTriaged(category="complaint", domain="market_supervision", department_kinds=["market_regulation"],
                             tier="green", response_level=2, route="dispatch", region_code=unit[:6] + "001"),
               ticket_no),
            ev(TicketDispatched(lead_unit=unit, lead_unit_name=name, unit_level=2, region_code=unit[:6] + "001",
                                tier="green", response_level=2, dispatched_at=at()), ticket_no)]


async def send(svc: RunningService, method: str, path: str, who: str, status: int, **kw: Any) -> Any:
    r = await svc.client.request(method, path, headers=auth(who), **kw)
    assert r.status_code == status, r.text
    if status >= 400:
        assert r.headers["content-type"].startswith("application/problem+json")
    return r.json() if r.headers["content-type"].endswith("json") else r.text


async def count_rows(svc: RunningService) -> int:
    async with svc.runtime.sm() as s:
        return int((await s.execute(select(func.count()).select_from(suggestions))).scalar_one())


async def test_suggestions_raised_answered_counted(databases: Databases, kafka_bootstrap: str,
                                                   topic_prefix: str) -> None:
    url = await databases.new("oversight")
    async with run_service("oversight", database_url=url, kafka_bootstrap=kafka_bootstrap, topic_prefix=topic_prefix,
                           letter_check_interval_s=3600) as svc:
        clock = Clock(T0)  # Monday 3 March 2025, 09:00 in Shanghai
        svc.runtime.clock = clock
        await produce(kafka_bootstrap, topic_prefix, [*dispatched("BC-SUG-1", UNIT, "东湖区市场监管局"),
                                                      *dispatched("BC-SUG-2", OTHER, "西湖区市场监管局")])

        async def units_known() -> bool:
            r = await svc.client.get("/v1/stats/units", params=MONTH, headers=auth("leader"))
            return {row["unit"] for row in r.json()} == {UNIT, OTHER}

        await eventually(units_known)

        # from a ticket: 企业开办 asks for the business licence copy again
        licence = await send(svc, "POST", "/v1/suggestions", "work_team", 201, json={
            "source": "ticket", "source_ref": "BC-SUG-1", "target": "certificate", "item": "营业执照复印件",
            "evidence": "企业开办需重复提交营业执照复印件：申请人在同一窗口已提交原件，系统可直接调取电子证照。",
            "department": UNIT})
        assert licence["status"] == "raised" and licence["allowed_actions"] == ["answer"]
        assert licence["overdue"] is False and licence["answer"] is None
        # 10 working days after Monday 3 March: Monday 17 March, end of day in Shanghai
        assert licence["due_at"] == "2025-03-17T15:59:59Z"
        # from a window visit (a director sitting at the window, Wuhan): a step that is an internal check
        window = await send(svc, "POST", "/v1/suggestions", "business_environment", 201, json={
            "source": "window_visit", "source_ref": "区政务服务中心窗口坐班记录 2025-03-03 下午",
            "target": "step", "item": "基坑审查情况说明",
            "evidence": "办理施工许可证时要求企业先到区建设局开具《基坑审查文件的情况说明》，该环节本质是部门内部确认，"
                        "两部门内部沟通即可完成，让企业开证明的环节可以取消。", "department": UNIT})
        # from a supervision case, to the other department
        case = await send(svc, "POST", "/v1/cases", "inspector", 201,
                          json={"title": "不动产登记要求提供无犯罪记录证明", "units": [OTHER]})
        crime = await send(svc, "POST", "/v1/suggestions", "inspector", 201, json={
            "source": "case", "source_ref": case["case_id"], "target": "certificate", "item": "无犯罪记录证明",
            "evidence": "办理不动产登记要求提供的“无犯罪记录证明”实无必要，登记规定中并无此项材料。",
            "department": OTHER})

        # refused roles and references, without a row or an event left behind
        body = {"source": "ticket", "source_ref": "BC-SUG-1", "target": "step", "item": "现场核验",
                "evidence": "重复核验", "department": UNIT}
        await send(svc, "POST", "/v1/suggestions", "unit", 403, json=body)  # units do not raise
        await send(svc, "POST", "/v1/suggestions", "leader", 403, json=body)  # leaders read
        p = await send(svc, "POST", "/v1/suggestions", "work_team", 422, json={**body, "department": "339999-nobody"})
        assert p["detail"].startswith("department:")
        p = await send(svc, "POST", "/v1/suggestions", "work_team", 422, json={**body, "source_ref": "BC-NONE"})
        assert p["detail"].startswith("source_ref:") and p["type"].endswith("unknown-ticket")
        p = await send(svc, "POST", "/v1/suggestions", "work_team", 422, json={**body, "target": "form"})
        assert "target" in str(p)
        assert await count_rows(svc) == 3

        # scope: the other unit neither reads nor answers the unit's suggestion, nor sees it listed
        await send(svc, "GET", f"/v1/suggestions/{licence['suggestion_id']}", "other_unit", 404)
        p = await send(svc, "POST", f"/v1/suggestions/{licence['suggestion_id']}/answer", "other_unit", 404,
                       json={"decision": "adopted", "change": "取消"})
        assert p["type"].endswith("unknown-suggestion")
        listed = await send(svc, "GET", "/v1/suggestions", "other_unit", 200)
        assert [s["suggestion_id"] for s in listed] == [crime["suggestion_id"]]
        mine = await send(svc, "GET", "/v1/suggestions", "unit", 200, params={"department": OTHER})
        assert {s["suggestion_id"] for s in mine} == {licence["suggestion_id"], window["suggestion_id"]}
        # only the department answers: the work team that raised it cannot
        await send(svc, "POST", f"/v1/suggestions/{licence['suggestion_id']}/answer", "work_team", 403,
                   json={"decision": "adopted", "change": "取消"})

        # adopted with the change, on 10 March
        clock.at = T0 + timedelta(days=7)
        a = await send(svc, "POST", f"/v1/suggestions/{licence['suggestion_id']}/answer", "unit", 200, json={
            "decision": "adopted", "change": "企业开办窗口不再收取营业执照复印件，改为调取电子营业执照",
            "effective_date": "2025-04-01"})
        assert a["status"] == "adopted" and a["allowed_actions"] == []
        assert a["answer"]["effective_date"] == "2025-04-01" and a["answer"]["late"] is False
        # a second answer is a wrong step: 409 naming the state and the allowed actions
        p = await send(svc, "POST", f"/v1/suggestions/{licence['suggestion_id']}/answer", "unit", 409,
                       json={"decision": "not_adopted", "reason": "改变主意"})
        assert p["state"] == "adopted" and p["allowed_actions"] == [] and p["type"].endswith("invalid-transition")
        # not adopted needs the reason
        p = await send(svc, "POST", f"/v1/suggestions/{window['suggestion_id']}/answer", "unit", 422,
                       json={"decision": "not_adopted"})
        assert p["detail"].startswith("reason:")
        n = await send(svc, "POST", f"/v1/suggestions/{window['suggestion_id']}/answer", "unit", 200, json={
            "decision": "not_adopted", "reason": "该说明为省住建厅规定的审查要件，需报省级部门调整后方可取消"})
        assert n["status"] == "not_adopted" and n["answer"]["reason"].startswith("该说明")

        # the other department never answers: overdue from the end of 17 March (Shanghai), derived from now
        assert await send(svc, "GET", "/v1/suggestions", "leader", 200, params={"status": "overdue"}) == []
        clock.at = datetime.fromisoformat(crime["due_at"]) + timedelta(seconds=1)
        over = await send(svc, "GET", "/v1/suggestions", "leader", 200, params={"status": "overdue", **MONTH})
        assert [s["suggestion_id"] for s in over] == [crime["suggestion_id"]] and over[0]["overdue"] is True
        by_source = await send(svc, "GET", "/v1/suggestions", "supervision_office", 200, params={"source": "case"})
        assert [s["source_ref"] for s in by_source] == [case["case_id"]]
        assert await send(svc, "GET", "/v1/suggestions", "leader", 200,
                          params={"from": "2025-04-01", "to": "2025-04-30"}) == []

        # the figures per department: in the statistics, the overview and the report
        figs = await send(svc, "GET", "/v1/stats/suggestions", "leader", 200, params=MONTH)
        dept = {r["department"]: r for r in figs["by_department"]}
        assert (dept[UNIT]["raised"], dept[UNIT]["answered"], dept[UNIT]["adopted"], dept[UNIT]["not_adopted"],
                dept[UNIT]["open"], dept[UNIT]["adoption_rate"]) == (2, 2, 1, 1, 0, 0.5)
        assert (dept[OTHER]["open"], dept[OTHER]["overdue"], dept[OTHER]["answered"]) == (1, 1, 0)
        assert dept[UNIT]["name"] == "东湖区市场监管局"
        assert (figs["totals"]["raised"], figs["totals"]["overdue"], figs["totals"]["adopted"]) == (3, 1, 1)
        own = await send(svc, "GET", "/v1/stats/suggestions", "other_unit", 200, params={**MONTH, "department": UNIT})
        assert [r["department"] for r in own["by_department"]] == [OTHER]
        ov = await send(svc, "GET", "/v1/stats/overview", "leader", 200, params=MONTH)
        assert ov["suggestions"] == figs
        report = await send(svc, "GET", "/v1/reports", "leader", 200,
                            params={"period": "month", "start": "2025-03-15", "format": "json"})
        assert report["suggestions"] == figs
        page = await send(svc, "GET", "/v1/reports", "leader", 200, params={"period": "month", "start": "2025-03-15"})
        assert "<h2>改进建议</h2>" in page and "本期提出改进建议 3 条" in page
        r = await svc.client.get("/v1/reports", headers=auth("leader"),
                                 params={"period": "month", "start": "2025-03-15", "format": "xlsx"})
        sheet = load_workbook(io.BytesIO(r.content))["suggestions 改进建议"]
        cells = [[c.value for c in row] for row in sheet.iter_rows()]
        assert cells[0][:3] == ["部门代码", "部门", "提出"]
        assert [row[0] for row in cells[1:]] == [UNIT, OTHER, "合计"] and cells[-1][2:5] == [3, 1, 1]

        # the events, with the state, keyed by the suggestion id; the failed requests emitted nothing
        raised = await outbox_events(svc, "SuggestionRaised")
        assert [(e.ticket_id, e.payload["department"], e.payload["source"]) for e in raised] == [
            (licence["suggestion_id"], UNIT, "ticket"), (window["suggestion_id"], UNIT, "window_visit"),
            (crime["suggestion_id"], OTHER, "case")]
        assert "evidence" not in raised[0].payload and raised[0].payload["item"] == "营业执照复印件"
        answered = await outbox_events(svc, "SuggestionAnswered")
        assert [(e.ticket_id, e.payload["decision"], e.payload["late"]) for e in answered] == [
            (licence["suggestion_id"], "adopted", False), (window["suggestion_id"], "not_adopted", False)]
        assert answered[0].payload["effective_date"] == "2025-04-01"

        # a late answer is accepted and kept as late; the figures follow
        late = await send(svc, "POST", f"/v1/suggestions/{crime['suggestion_id']}/answer", "other_unit", 200, json={
            "decision": "adopted", "change": "不动产登记不再要求提供无犯罪记录证明"})
        assert late["answer"]["late"] is True and late["overdue"] is False
        figs = await send(svc, "GET", "/v1/stats/suggestions", "business_environment", 200, params=MONTH)
        assert (figs["totals"]["overdue"], figs["totals"]["answered_late"], figs["totals"]["adopted"]) == (0, 1, 2)
