"""Ledgers (台账) over HTTP: the four ledgers in XLSX and CSV with Chinese headers, the filters (period, unit,
region), a unit key's scope, bad parameters, no personal data; and a year-sized ledger read and written in chunks
with the memory flat while the file is streamed out."""

from __future__ import annotations

import asyncio
import csv
import io
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from oversight_helpers import at, ev, produce
from sqlalchemy import insert

from bancheng_services.testing import KEYS, Databases, auth, eventually, run_service
from bancheng_shared.contracts.intake import TicketReceived
from bancheng_shared.contracts.triage import ResolutionSubmitted, TicketDispatched
from oversight_svc.adapters.tables import rounds, tickets, units
from oversight_svc.domain.ledgers import headers

UNIT, OTHER = "339901-market_regulation", "339902-market_regulation"
NAMES = {UNIT: "东湖区市场监管局", OTHER: "西湖区市场监管局"}
TZ = ZoneInfo("Asia/Shanghai")
MARCH = {"from": "2025-03-01", "to": "2025-03-31"}


def _events(no: str, unit: str, title: str, days: float) -> list[Any]:
    region = unit.split("-")[0] + "001"
    return [ev(TicketReceived(channel="hotline", content=title + "，请尽快处理", title=title, region_code=region,
                              category_hint="complaint", received_at=at(days=days)), no),
            ev(TicketDispatched(lead_unit=unit, lead_unit_name=NAMES[unit], unit_level=2, region_code=region,
                                tier="yellow", response_level=2, dispatched_at=at(hours=1, days=days)), no)]


def _csv(r: Any, encoding: str = "utf-8-sig") -> list[list[str]]:
    return list(csv.reader(io.StringIO(r.content.decode(encoding))))


def _xlsx(r: Any) -> list[list[Any]]:
    wb = load_workbook(io.BytesIO(r.content), read_only=True)
    return [list(row) for row in wb.worksheets[0].iter_rows(values_only=True)]


async def test_the_four_ledgers(databases: Databases, kafka_bootstrap: str, topic_prefix: str) -> None:
    url = await databases.new("oversight")
    # one row per chunk: every ledger's rows are read across chunk boundaries (keyset or cursor)
    async with run_service("oversight", database_url=url, kafka_bootstrap=kafka_bootstrap,
                           topic_prefix=topic_prefix, ledger_chunk_rows=1) as svc:
        c = svc.client
        await produce(kafka_bootstrap, topic_prefix, [
            *_events("L1", UNIT, "解放碑步行街商铺占道经营，群众刘洋反映电话13912345678", 0),
            *_events("L2", OTHER, "=HYPERLINK(\"http://x\") 渝中区解放碑街道噪声扰民", 1),
            *_events("L3", UNIT, "四月的工单：小区电梯停运", 31),
            ev(ResolutionSubmitted(unit=UNIT, outcome="resolved", reply="已责令整改", submitted_at=at(days=2)), "L1")])

        async def visit_due() -> Any:
            return (await c.get("/v1/return-visits/due", headers=auth("work_team"))).json()

        await eventually(visit_due)
        r = await c.post("/v1/tickets/L1/return-visits", headers=auth("work_team"), json={
            "resolved": "no", "satisfaction": "unsatisfied", "cause": "subjective",
            "notes": "市民王芳说没人来处理，身份证110101199003071234", "visited_at": at(days=3).isoformat()})
        assert r.status_code == 201
        case = (await c.post("/v1/cases", headers=auth("inspector"), json={
            "title": "解放碑商铺占道经营久拖不决", "units": [UNIT, OTHER], "ticket_nos": ["L1"],
            "informant": "张三丰 13900001111", "summary": "举报人张三丰反映"})).json()
        cid = case["case_id"]
        assert (await c.post(f"/v1/cases/{cid}/register", headers=auth("inspector"), json={})).status_code == 200
        ask = {"requirements": "请于期限内整改并回复，勿向张三丰透露", "working_days": 5}
        r = await c.post(f"/v1/cases/{cid}/letters", headers=auth("inspector"), json={"unit": UNIT, **ask})
        assert r.status_code == 200, r.text
        letter = r.json()["letters"][0]
        r = await c.post(f"/v1/cases/{cid}/letters/{letter['letter_id']}/reply", headers=auth("unit"),
                         json={"content": "已约谈商户，恢复通行", "measures": ["约谈", "每日巡查"]})
        assert r.status_code == 200, r.text
        r = await c.post(f"/v1/cases/{cid}/letters", headers=auth("inspector"), json={"unit": OTHER, **ask})
        assert r.status_code == 200, r.text
        for unit, person in ((UNIT, "李四"), (OTHER, "赵六")):
            r = await c.post("/v1/accountability", headers=auth("supervision_office"), json={
                "unit": unit, "person": {"name": person, "post": "科长"}, "measure": "criticism",
                "reason_category": "慢作为", "reason": "拖延办理", "case_ids": [cid], "ticket_nos": ["L1"],
                "decided_at": at(days=4).isoformat()})
            assert r.status_code == 201

        async def three() -> Any:
            r = await c.get("/v1/ledgers/work-orders.csv", params={"from": "2025-03-01", "to": "2025-04-30"},
                            headers=auth("leader"))
            return r if len(_csv(r)) == 4 else None

        # --- work orders: headers, local times, names beside codes, masked text, a formula kept as text
        r = await eventually(three)
        assert r.headers["content-type"].startswith("text/csv") and r.content.startswith(b"\xef\xbb\xbf")
        assert "filename*=utf-8''" in r.headers["content-disposition"]
        rows = _csv(r)
        assert rows[0] == headers("work-orders") and rows[0][:4] == ["工单号", "轮次", "受理时间", "标题"]
        l1 = dict(zip(rows[0], rows[1], strict=True))
        assert (l1["工单号"], l1["承办单位代码"], l1["承办单位名称"]) == ("L1", UNIT, "东湖区市场监管局")
        assert l1["受理时间"] == "2025-03-03 09:00:00" and l1["派单日期"] == "2025-03-03"  # local, no offset
        assert l1["办结时间"] == "2025-03-05 09:00:00" and l1["办理结果"] == "已解决"
        assert "13912345678" not in r.text and "刘洋" not in r.text and "刘某" in l1["标题"]
        assert l1["回访满意度"] == "不满意" and l1["诉求类别"] in ("投诉", "")
        l2 = dict(zip(rows[0], rows[2], strict=True))
        assert l2["标题"].startswith("'=HYPERLINK")

        x = await c.get("/v1/ledgers/work-orders.xlsx", params=MARCH, headers=auth("work_team"))
        assert x.status_code == 200 and x.headers["content-type"].startswith("application/vnd.openxmlformats")
        sheet = _xlsx(x)
        assert sheet[0] == headers("work-orders") and [s[0] for s in sheet[1:]] == ["L1", "L2"]
        assert sheet[1][2] == datetime(2025, 3, 3, 9, 0) and sheet[1][8] == "东湖区市场监管局"
        assert sheet[2][3].startswith("'=HYPERLINK")

        # --- the filters: period, unit, region
        april = await c.get("/v1/ledgers/work-orders.csv", params={"from": "2025-04-01", "to": "2025-04-30"},
                            headers=auth("leader"))
        assert [row[0] for row in _csv(april)[1:]] == ["L3"]
        other = await c.get("/v1/ledgers/work-orders.csv", params={**MARCH, "unit": OTHER}, headers=auth("leader"))
        assert [row[0] for row in _csv(other)[1:]] == ["L2"]
        west = await c.get("/v1/ledgers/work-orders.csv", params={**MARCH, "region": "339902"},
                           headers=auth("inspector"))
        assert [row[0] for row in _csv(west)[1:]] == ["L2"]
        gb = await c.get("/v1/ledgers/work-orders.csv", params={**MARCH, "encoding": "gb18030"},
                         headers=auth("leader"))
        assert gb.headers["content-type"] == "text/csv; charset=gb18030" and not gb.content.startswith(b"\xef\xbb")
        assert _csv(gb, "gb18030")[0][0] == "工单号" and "东湖区市场监管局".encode("gb18030") in gb.content

        # --- a unit key: its own rows only, another unit's are refused
        own = await c.get("/v1/ledgers/work-orders.csv", params=MARCH, headers=auth("unit"))
        assert [row[0] for row in _csv(own)[1:]] == ["L1"]
        r = await c.get("/v1/ledgers/work-orders.csv", params={**MARCH, "unit": OTHER}, headers=auth("unit"))
        assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json")
        assert "unit" in r.json()["detail"]
        theirs = await c.get("/v1/ledgers/accountability.csv", params=MARCH, headers=auth("other_unit"))
        assert [row[2] for row in _csv(theirs)[1:]] == [OTHER] and "李四" not in theirs.text

        # --- return visits
        v = _csv(await c.get("/v1/ledgers/return-visits.csv", params=MARCH, headers=auth("leader")))
        assert v[0] == headers("return-visits") and len(v) == 2
        visit = dict(zip(v[0], v[1], strict=True))
        assert (visit["工单号"], visit["满意度"], visit["不满意原因"], visit["发回重办"]) == (
            "L1", "不满意", "主观原因", "是")
        assert visit["回访时间"] == "2025-03-06 09:00:00" and visit["承办单位名称"] == "东湖区市场监管局"
        assert "110101199003071234" not in visit["备注"] and "王芳" not in visit["备注"]
        vx = _xlsx(await c.get("/v1/ledgers/return-visits.xlsx", params=MARCH, headers=auth("unit")))
        assert vx[0] == headers("return-visits") and vx[1][1] == "L1"
        assert len(_csv(await c.get("/v1/ledgers/return-visits.csv", params=MARCH, headers=auth("other_unit")))) == 1

        # --- supervision: one row per letter, the reply beside it, never the informant
        today = datetime.now(TZ).date().isoformat()
        now = {"from": today, "to": today}
        s = await c.get("/v1/ledgers/supervision.csv", params=now, headers=auth("supervision_office"))
        sv = _csv(s)
        assert sv[0] == headers("supervision") and len(sv) == 3
        rows_by_unit = {row[sv[0].index("函件单位代码")]: dict(zip(sv[0], row, strict=True)) for row in sv[1:]}
        mine = rows_by_unit[UNIT]
        assert mine["案件编号"] == cid and mine["回复内容"] == "已约谈商户，恢复通行"
        assert mine["整改措施"] == "约谈；每日巡查" and mine["关联工单"] == "L1"
        assert "东湖区市场监管局" in mine["督办单位"] and mine["函件单位名称"] == "东湖区市场监管局"
        assert rows_by_unit[OTHER]["回复时间"] == "" and "张三丰" not in s.text and "13900001111" not in s.text
        su = _csv(await c.get("/v1/ledgers/supervision.csv", params=now, headers=auth("unit")))
        assert [row[su[0].index("函件单位代码")] for row in su[1:]] == [UNIT]
        sx = _xlsx(await c.get("/v1/ledgers/supervision.xlsx", params={**now, "region": "339902"},
                               headers=auth("business_environment")))
        assert sx[0] == headers("supervision") and len(sx) == 3 and sx[1][0] == cid
        old = _csv(await c.get("/v1/ledgers/supervision.csv", params=MARCH, headers=auth("inspector")))
        assert len(old) == 1

        # --- accountability
        a = _csv(await c.get("/v1/ledgers/accountability.csv", params=MARCH, headers=auth("leader")))
        assert a[0] == headers("accountability") and {row[5] for row in a[1:]} == {"李四", "赵六"}
        rec = dict(zip(a[0], a[1], strict=True))
        assert rec["问责措施"] == "批评教育" and rec["状态"] == "已决定" and rec["决定时间"] == "2025-03-07 09:00:00"
        assert rec["关联案件"] == cid
        ax = _xlsx(await c.get("/v1/ledgers/accountability.xlsx", params={**MARCH, "region": "339901"},
                               headers=auth("inspector")))
        assert [row[2] for row in ax[1:]] == [UNIT] and ax[1][12] is None  # no proposal time: decided directly

        # --- bad parameters: problem+json naming the field; roles
        for path, params, field in (
                ("/v1/ledgers/tickets.csv", MARCH, "ledger"), ("/v1/ledgers/work-orders.pdf", MARCH, "fmt"),
                ("/v1/ledgers/work-orders.csv", {"from": "2025-03-01"}, "to"),
                ("/v1/ledgers/work-orders.csv", {"from": "2025-03-31", "to": "2025-03-01"}, "to"),
                ("/v1/ledgers/work-orders.csv", {"from": "1900-01-01", "to": "2025-03-01"}, "from"),
                ("/v1/ledgers/work-orders.csv", {**MARCH, "encoding": "latin-1"}, "encoding"),
                ("/v1/ledgers/work-orders.xlsx", {**MARCH, "encoding": "gb18030"}, "encoding"),
                ("/v1/ledgers/work-orders.csv", {**MARCH, "region": "3" * 200}, "region")):
            r = await c.get(path, params=params, headers=auth("leader"))
            assert r.status_code == 422, (path, params, r.text)
            assert r.headers["content-type"].startswith("application/problem+json") and field in r.text, r.text
        assert (await c.get("/v1/ledgers/work-orders.csv", params=MARCH, headers=auth("operator"))).status_code == 403
        assert (await c.get("/v1/ledgers/work-orders.csv", params=MARCH)).status_code == 401


N_ROWS = 40_000


async def _download(app: Any, path: str, query: str, who: str) -> tuple[int, int, int, int]:
    """Drive the ASGI app as a server does, discarding the body as it arrives: (status, bytes, lines, peak)."""
    got = {"status": 0, "bytes": 0, "lines": 0}
    done = asyncio.Event()

    async def receive() -> dict[str, Any]:
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            got["status"] = message["status"]
        elif message["type"] == "http.response.body":
            body = message.get("body", b"")
            got["bytes"] += len(body)
            got["lines"] += body.count(b"\n")
            if not message.get("more_body"):
                done.set()

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
             "headers": [(b"host", b"test"), (b"authorization", f"Bearer {KEYS[who]}".encode())],
             "client": ("127.0.0.1", 1), "server": ("test", 80)}
    tracemalloc.reset_peak()
    await app(scope, receive, send)
    peak = tracemalloc.get_traced_memory()[1]
    return got["status"], got["bytes"], got["lines"], peak


async def test_a_large_ledger_is_streamed_in_chunks(databases: Databases, kafka_bootstrap: str,
                                                    topic_prefix: str) -> None:
    url = await databases.new("oversight")
    # no consumers, relay or scheduler: tracemalloc counts every allocation of the process, and theirs (a loaded CI
    # run: a month's download peaked at 15 MB, more than the year's file) would hide what the ledger holds
    async with run_service("oversight", database_url=url, kafka_bootstrap=kafka_bootstrap, topic_prefix=topic_prefix,
                           ledger_chunk_rows=200, consumers_enabled=False, relay_enabled=False,
                           scheduler_enabled=False) as svc:
        t0 = datetime(2025, 1, 1, 1, tzinfo=UTC)
        ts, rs = [], []
        for i in range(N_ROWS):
            no, when, unit = f"B{i:07d}", t0 + timedelta(minutes=17 * i), (UNIT, OTHER)[i % 2]
            ts.append({"ticket_no": no, "region_code": unit[:6] + "001", "title": f"第{i}号：道路破损，井盖缺失需维修",
                       "category": "complaint", "tier": "green", "received_at": when, "lead_unit": unit,
                       "status": "resolved", "updated_at": when})
            rs.append({"ticket_no": no, "round": 1, "unit": unit, "dispatch_day": when.astimezone(TZ).date(),
                       "accept_due": when, "resolve_due": when + timedelta(days=5), "signed_at": when,
                       "sign_in_time": True, "resolved_at": when + timedelta(days=2), "outcome": "resolved",
                       "resolve_in_time": True})
        async with svc.runtime.sm() as s, s.begin():
            await s.execute(insert(units), [{"unit": u, "name": n, "region_code": u[:6]} for u, n in NAMES.items()])
            for i in range(0, N_ROWS, 5000):
                await s.execute(insert(tickets), ts[i:i + 5000])
                await s.execute(insert(rounds), rs[i:i + 5000])
        last = rs[-1]["dispatch_day"]
        assert isinstance(last, date)
        del ts, rs
        query = f"from=2025-01-01&to={last.isoformat()}"
        tracemalloc.start()
        try:
            for fmt in ("csv", "xlsx"):  # once on a day: imports, compiled statements and caches are not the data
                assert (await _download(svc.app, f"/v1/ledgers/work-orders.{fmt}", "from=2025-01-01&to=2025-01-01",
                                        "leader"))[0] == 200
            month = await _download(svc.app, "/v1/ledgers/work-orders.csv", "from=2025-01-01&to=2025-01-31",
                                    "leader")
            status, data_size, lines, peak = await _download(svc.app, "/v1/ledgers/work-orders.csv", query, "leader")
            assert status == 200 and lines == N_ROWS + 1 and data_size > 10 * month[1]
            # every row went out, and the memory held at any time stayed flat: a chunk of rows and the file's
            # buffers, as for a month, not the period. The bound is the file's size, not a fraction of it: the
            # period's rows held as Python objects would take several times the file, while tracemalloc also counts
            # what the service's consumers allocate meanwhile (a CI run on a loaded machine peaked at 6.5 MB for a
            # 12 MB file, the month's download at 15 MB)
            assert peak < 1.5 * month[3] and peak < data_size, (month, data_size, peak)
            # the XLSX of a quarter (≈7,600 rows; openpyxl under tracemalloc is slow): as flat as the CSV's month
            status, size, _, peak = await _download(svc.app, "/v1/ledgers/work-orders.xlsx",
                                                    "from=2025-01-01&to=2025-03-31", "leader")
            assert status == 200 and size > 300_000
            assert peak < 1.5 * month[3] and peak < data_size, (month, data_size, peak)
        finally:
            tracemalloc.stop()
