"""Issue 11 on oversight: texts at the shared limits are stored and counted on both databases (not dead-lettered),
what oversight publishes fits its consumers, a formula sent as a ticket title is text in the leaders' XLSX, no input
answers 5xx, and the roles of DESIGN.md's users hold. Real broker, SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import load_workbook
from oversight_helpers import at, ev, outbox_events, produce
from sqlalchemy import select

from bancheng_services.testing import Databases, RunningService, auth, eventually, run_service
from bancheng_shared.contracts.intake import TicketReceived
from bancheng_shared.contracts.limits import CONTENT_MAX, REASON_MAX, TITLE_MAX
from bancheng_shared.contracts.sla import AlertRaised, ClockStarted
from bancheng_shared.contracts.triage import ResolutionSubmitted, TicketDispatched, TicketTriaged
from oversight_svc.adapters.tables import tickets

UNIT, OTHER = "339901-market_regulation", "339902-market_regulation"
MARCH = {"from": "2025-03-01", "to": "2025-03-31"}
FORMULAS = ['=HYPERLINK("http://evil.example/x","点此查看")', "+1+1", "-1+1", "@SUM(1+1)", "＝HYPERLINK(\"x\")"]


def dispatched(no: str, unit: str = UNIT, name: str = "东湖区市场监管局", tier: str = "green") -> Any:
    return ev(TicketDispatched(lead_unit=unit, lead_unit_name=name, unit_level=2, region_code="339901001",
                               tier=tier, response_level=2, dispatched_at=at()), no)


async def received(svc: RunningService, n: int) -> Any:
    r = await svc.client.get("/v1/stats/overview", params=MARCH, headers=auth("leader"))
    return r.json() if r.json()["totals"]["tickets_received"] == n else None


async def test_texts_at_the_limits_are_stored_and_counted(databases: Databases, kafka_bootstrap: str,
                                                          topic_prefix: str) -> None:
    url = await databases.new("oversight")
    async with run_service("oversight", database_url=url, kafka_bootstrap=kafka_bootstrap,
                           topic_prefix=topic_prefix) as svc:
        title, content = "长" * TITLE_MAX, "文" * CONTENT_MAX
        await produce(kafka_bootstrap, topic_prefix, [ev(TicketReceived(
            channel="web", title=title, content=content, region_code="3" * 64, received_at=at()), "L1")])
        await eventually(lambda: received(svc, 1))  # counted: the event was not dead-lettered
        await produce(kafka_bootstrap, topic_prefix, [  # the case is titled by the ticket known by then
            ev(TicketTriaged(category="complaint", domain="market_supervision", department_kinds=["market_regulation"],
                             tier="red", response_level=1, route="dispatch", region_code="3" * 64), "L1"),
            dispatched("L1", name="名" * 200, tier="red")])
        async with svc.runtime.sm() as s:
            row = (await s.execute(select(tickets.c.title, tickets.c.content).where(tickets.c.ticket_no == "L1"))).one()
        assert (row.title, row.content) == (title, content)

        async def case() -> Any:
            rows = (await svc.client.get("/v1/cases", params={"ticket_no": "L1"}, headers=auth("inspector"))).json()
            return rows if rows and rows[0]["units"] else None

        c = (await eventually(case))[0]
        # the case is titled by the ticket, within the limit its consumers store
        assert c["title"].startswith("红灯诉求件 red ticket L1: 长") and len(c["title"]) == TITLE_MAX
        opened = await outbox_events(svc, "CaseOpened")
        assert [len(e.payload["title"]) for e in opened] == [TITLE_MAX]

        # texts at the HTTP limits are taken, one character more is a 422 naming the field
        r = await svc.client.post("/v1/cases", headers=auth("inspector"), json={
            "title": "题" * TITLE_MAX, "summary": "述" * CONTENT_MAX, "units": [UNIT], "informant": "人" * REASON_MAX})
        assert r.status_code == 201, r.text
        cid = r.json()["case_id"]
        r = await svc.client.post("/v1/cases", headers=auth("inspector"), json={"title": "题" * (TITLE_MAX + 1)})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "title"
        await svc.client.post(f"/v1/cases/{cid}/register", headers=auth("inspector"), json={})
        r = await svc.client.post(f"/v1/cases/{cid}/letters", headers=auth("inspector"), json={
            "unit": UNIT, "requirements": "要" * CONTENT_MAX, "working_days": 5})
        assert r.status_code == 200, r.text


async def test_a_redo_reason_fits_what_triage_stores(databases: Databases, kafka_bootstrap: str,
                                                     topic_prefix: str) -> None:
    url = await databases.new("oversight")
    async with run_service("oversight", database_url=url, kafka_bootstrap=kafka_bootstrap,
                           topic_prefix=topic_prefix) as svc:
        await produce(kafka_bootstrap, topic_prefix, [dispatched("D1"), ev(ResolutionSubmitted(
            unit=UNIT, outcome="resolved", reply="已处理", submitted_at=at(days=3)), "D1")])

        async def due() -> bool:
            rows = (await svc.client.get("/v1/return-visits/due", headers=auth("work_team"))).json()
            return any(x["ticket_no"] == "D1" for x in rows)

        await eventually(due)
        r = await svc.client.post("/v1/tickets/D1/return-visits", headers=auth("work_team"), json={
            "resolved": "no", "satisfaction": "unsatisfied", "cause": "subjective", "notes": "慢" * REASON_MAX,
            "visited_at": at(days=4).isoformat()})
        assert r.status_code == 201, r.text
        redo = await outbox_events(svc, "RedoOrdered")
        assert len(redo) == 1 and len(redo[0].payload["reason"]) == REASON_MAX


async def test_a_formula_title_is_text_in_the_leaders_xlsx(databases: Databases, kafka_bootstrap: str,
                                                           topic_prefix: str) -> None:
    url = await databases.new("oversight")
    async with run_service("oversight", database_url=url, kafka_bootstrap=kafka_bootstrap,
                           topic_prefix=topic_prefix) as svc:
        envs = []
        for i, f in enumerate(FORMULAS):
            no = f"F{i}"
            envs += [ev(TicketReceived(channel="web", title=f, content="路灯坏了", region_code="339901001",
                                       received_at=at()), no),
                     dispatched(no, name=f),
                     ev(ClockStarted(unit=UNIT, started_at=at(), accept_due=at(days=1), resolve_due=at(days=5),
                                     working_days=5, calendar_version="t"), no),
                     ev(AlertRaised(level="alarm", unit=UNIT, raised_at=at(days=5, hours=1)), no)]
        await produce(kafka_bootstrap, topic_prefix, envs)
        params = {"period": "month", "start": "2025-03-15"}

        async def overdue() -> Any:
            r = await svc.client.get("/v1/reports", params={**params, "format": "json"}, headers=auth("leader"))
            rows = r.json()["overdue"]
            return rows if len(rows) == len(FORMULAS) and all(x["title"] for x in rows) else None

        await eventually(overdue)
        x = await svc.client.get("/v1/reports", params={**params, "format": "xlsx"}, headers=auth("leader"))
        wb = load_workbook(io.BytesIO(x.content))
        titles = {}
        for row in wb["overdue 逾期"].iter_rows(min_row=2):
            cell = row[4]
            assert cell.data_type == "s", (cell.coordinate, cell.value)
            titles[row[0].value] = cell.value
        assert titles == {f"F{i}": "'" + f for i, f in enumerate(FORMULAS)}
        units = wb["units 单位"]
        assert units["B2"].data_type == "s" and units["B2"].value.startswith("'")  # the unit's name, from triage
        text = (await svc.client.get("/v1/reports", params={**params, "format": "csv"},
                                     headers=auth("leader"))).text.lstrip("\ufeff")
        assert list(csv.reader(io.StringIO(text)))[1][1].startswith("'")  # the unit's name


BIG = str(2**63)
BAD_GETS: list[tuple[str, dict[str, str]]] = [
    ("/v1/cases", {"offset": BIG}), ("/v1/cases", {"limit": BIG}), ("/v1/cases", {"unit": "a\x00b"}),
    ("/v1/cases", {"ticket_no": "\x01"}), ("/v1/cases", {"state": "\x00"}),
    ("/v1/accountability", {"offset": BIG}), ("/v1/accountability", {"case_id": "x\x00"}),
    ("/v1/accountability", {"unit": "\x00"}),
    ("/v1/copies", {"offset": BIG}), ("/v1/copies", {"unit": "\x00"}), ("/v1/copies", {"from": "0001-01-01"}),
    ("/v1/copies", {"to": "9999-12-31"}), ("/v1/disclosures", {"offset": BIG}),
    ("/v1/return-visits/due", {"limit": BIG}),
    ("/v1/stats/units", {"from": "0001-01-01", "to": "9999-12-31"}),
    ("/v1/stats/units", {**MARCH, "region": "\x00"}), ("/v1/stats/units", {**MARCH, "unit": "\x00"}),
    ("/v1/stats/overview", {"from": "9999-12-31", "to": "9999-12-31"}),
    ("/v1/stats/overview", {**MARCH, "region": "33\x00"}),
    ("/v1/hotspots", {"from": "0001-01-01"}), ("/v1/hotspots", {"to": "0001-01-01"}),
    ("/v1/hotspots", {"from": "9999-12-31", "to": "9999-12-31"}), ("/v1/hotspots", {"kind": "\x00"}),
    ("/v1/cases/CASE-%00", {}), ("/v1/accountability/ACC%01", {}), ("/v1/tickets/T%00/return-visits", {}),
    ("/v1/tickets/" + "T" * 1000 + "/return-visits", {}),
]
BAD_GETS += [("/v1/reports", {"period": p, "start": d, "format": f})
             for p in ("week", "month", "quarter", "year") for d in ("0001-01-01", "9999-12-31")
             for f in ("html", "json")]
BAD_GETS += [("/v1/reports", {"start": "2025-03-15", "region": "\x00", "format": "json"})]


async def test_no_input_answers_5xx(databases: Databases, kafka_bootstrap: str, topic_prefix: str) -> None:
    url = await databases.new("oversight")
    async with run_service("oversight", database_url=url, kafka_bootstrap=kafka_bootstrap,
                           topic_prefix=topic_prefix) as svc:
        c = svc.client
        await produce(kafka_bootstrap, topic_prefix, [dispatched("N1"), ev(ResolutionSubmitted(
            unit=UNIT, outcome="resolved", reply="ok", submitted_at=at(days=1)), "N1")])
        await eventually(lambda: _due(svc, "N1"))
        case = (await c.post("/v1/cases", headers=auth("inspector"), json={"title": "案件", "units": [UNIT]})).json()
        cid = case["case_id"]
        await c.post(f"/v1/cases/{cid}/register", headers=auth("inspector"), json={})
        wrong: list[str] = []

        async def call(method: str, path: str, **kw: Any) -> None:
            try:  # the in-process client raises what the app did not handle (a 500 to a real client)
                r = await c.request(method, path, headers=auth("admin"), **kw)
            except Exception as exc:
                wrong.append(f"{method} {path} {kw}: raised {exc!r:.200}")
                return
            if not 400 <= r.status_code < 500:
                wrong.append(f"{method} {path} {kw}: {r.status_code} {r.text[:200]}")

        for path, params in BAD_GETS:
            await call("GET", path, params=params)
        far = ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "9999-12-31T23:00:00+00:00",
               "0001-01-01T00:00:00Z"]
        posts: list[tuple[str, dict[str, Any]]] = [
            ("/v1/cases", {"title": "ab\x00c"}), ("/v1/cases", {"title": "ab", "units": ["\x00"]}),
            ("/v1/cases", {"title": "ab", "ticket_nos": ["T" * 1000]}),
            (f"/v1/cases/{cid}/letters", {"unit": UNIT, "requirements": "x", "due_date": "9999-12-31"}),
            (f"/v1/cases/{cid}/letters", {"unit": UNIT, "requirements": "x", "due_date": "0001-01-01"}),
            (f"/v1/cases/{cid}/letters", {"unit": UNIT, "requirements": "x", "working_days": 2**64}),
            (f"/v1/cases/{cid}/investigations", {"notes": "x\x1b[2J"}),
            ("/v1/accountability", {"unit": UNIT, "person": {"name": "a\x00", "post": "b"}, "measure": "criticism",
                                    "reason_category": "乱作为"}),
            ("/v1/hotspots/HS-%00/case", {}), ("/v1/hotspots/HS-x/case", {"title": "\x07"}),
        ]
        posts += [("/v1/tickets/N1/return-visits", {"resolved": "yes", "satisfaction": "satisfied", "visited_at": t})
                  for t in far]
        posts += [("/v1/accountability", {"unit": UNIT, "person": {"name": "李四", "post": "科长"},
                                          "measure": "criticism", "reason_category": "乱作为", "decided_at": t})
                  for t in far]
        for path, body in posts:
            await call("POST", path, json=body)
        assert wrong == []


async def _due(svc: RunningService, no: str) -> bool:
    rows = (await svc.client.get("/v1/return-visits/due", headers=auth("work_team"))).json()
    return any(x["ticket_no"] == no for x in rows)


async def test_roles_of_the_people_who_work_cases(databases: Databases, kafka_bootstrap: str,
                                                  topic_prefix: str) -> None:
    url = await databases.new("oversight")
    async with run_service("oversight", database_url=url, kafka_bootstrap=kafka_bootstrap,
                           topic_prefix=topic_prefix, letter_check_interval_s=3600) as svc:
        c = svc.client
        # the business-environment office supervises red tickets (DESIGN.md): it works cases, as inspectors do
        r = await c.post("/v1/cases", headers=auth("business_environment"),
                         json={"title": "营商环境投诉", "units": [UNIT, OTHER], "informant": "王五"})
        assert r.status_code == 201, r.text
        cid = r.json()["case_id"]
        for path, body in ((f"/v1/cases/{cid}/register", {}),
                           (f"/v1/cases/{cid}/investigations", {"notes": "举报人王五称窗口索要好处费"}),
                           (f"/v1/cases/{cid}/letters", {"unit": UNIT, "requirements": "整改", "working_days": 5})):
            r = await c.post(path, headers=auth("business_environment"), json=body)
            assert r.status_code == 200, r.text
        first = r.json()["letters"][0]["letter_id"]
        r = await c.post(f"/v1/cases/{cid}/letters/{first}/reply", headers=auth("unit"), json={"content": "已整改"})
        assert r.status_code == 200, r.text
        r = await c.post(f"/v1/cases/{cid}/letters", headers=auth("business_environment"),
                         json={"unit": OTHER, "requirements": "配合整改", "working_days": 5})
        assert r.status_code == 200, r.text
        # leaders read statistics, not cases; the work team visits tickets, it does not work cases
        assert (await c.get("/v1/stats/overview", params=MARCH, headers=auth("leader"))).status_code == 200
        for who in ("leader", "work_team", "operator", "frontend", "platform"):
            assert (await c.post("/v1/cases", headers=auth(who), json={"title": "ab"})).status_code == 403, who
            assert (await c.get(f"/v1/cases/{cid}", headers=auth(who))).status_code == 403, who
        # a unit sees its own letters to reply to: not the other unit's, not the investigation, not the informant
        mine = (await c.get(f"/v1/cases/{cid}", headers=auth("unit"))).json()
        assert [x["unit"] for x in mine["letters"]] == [UNIT]
        assert "investigate" not in [d["kind"] for d in mine["documents"]]
        assert "王五" not in str(mine)
        theirs = (await c.get(f"/v1/cases/{cid}", headers=auth("other_unit"))).json()
        assert [x["unit"] for x in theirs["letters"]] == [OTHER]
        full = (await c.get(f"/v1/cases/{cid}", headers=auth("inspector"))).json()
        assert len(full["letters"]) == 2 and full["informant"] == "王五"
        letter = next(x for x in full["letters"] if x["unit"] == OTHER)
        r = await c.post(f"/v1/cases/{cid}/letters/{letter['letter_id']}/reply", headers=auth("unit"),
                         json={"content": "不是我们的函"})
        assert r.status_code in (403, 404)
        assert (await c.get(f"/v1/cases/{cid}", headers=auth("unit"))).json()["letters"][0]["reply"] is not None
        # the public feed needs no key and carries no personal data
        r = await c.post(f"/v1/cases/{cid}/letters/{letter['letter_id']}/reply", headers=auth("other_unit"),
                         json={"content": "已配合"})
        assert r.status_code == 200, r.text
        for path, body in ((f"/v1/cases/{cid}/return-visits", {"resolved": "yes", "satisfaction": "satisfied",
                                                               "rectification": "sufficient"}),
                           (f"/v1/cases/{cid}/conclusion", {"result": "王五反映属实，已整改", "solved": True}),
                           (f"/v1/cases/{cid}/publication", {
                               "title": "窗口索要好处费问题已整改",
                               "summary": "群众王五（电话 13900001111，wang@x.cn）反映"})):
            r = await c.post(path, headers=auth("business_environment"), json=body)
            assert r.status_code == 200, r.text
        pub = (await c.get("/v1/disclosures")).json()
        text = str(pub)
        assert len(pub) == 1 and "王五" not in text and "13900001111" not in text and "wang@x.cn" not in text
        assert set(pub[0]) == {"case_id", "title", "summary", "outcome", "units", "concluded_on", "published_at"}
