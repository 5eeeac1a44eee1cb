"""Reports people can read: region and unit names, Chinese headers, the change from the previous month (环比), an
XLSX with percent formats, frozen headers and a chart; and building a city-scale report does not stop oversight's
consumer from applying events. Real broker, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import date
from typing import Any

from openpyxl import load_workbook
from oversight_helpers import at, ev, produce
from sqlalchemy import insert

from bancheng_services.testing import Databases, RunningService, auth, eventually, run_service
from bancheng_shared.contracts.sla import ClockStarted
from bancheng_shared.contracts.triage import TicketDispatched, TicketSigned
from oversight_svc.adapters.tables import rollups, units

MARKET, GOV = "339901-market_regulation", "339901-local_government"
HOUSING, LABOUR = "339902-housing_construction", "339902-human_resources"
NAMES = {MARKET: "东湖区市场监督管理局", GOV: "东湖区人民政府", HOUSING: "西岭区住房和城乡建设局",
         LABOUR: "西岭区人力资源和社会保障局"}
MARCH = {"period": "month", "start": "2025-03-15"}


def work_order(no: str, unit: str, days: float, *, signed: bool) -> list[Any]:
    """A dispatch `days` from T0 with its clock; signed within the acceptance window when `signed`."""
    region = unit.split("-")[0] + "001"
    envs = [ev(TicketDispatched(lead_unit=unit, lead_unit_name=NAMES[unit], unit_level=2, region_code=region,
                                tier="green", response_level=2, dispatched_at=at(days=days)), no),
            ev(ClockStarted(unit=unit, started_at=at(days=days), accept_due=at(days=days + 1),
                            resolve_due=at(days=days + 5), working_days=5, calendar_version="cn-test"), no)]
    if signed:
        envs.append(ev(TicketSigned(unit=unit, signed_at=at(hours=2, days=days)), no))
    return envs


async def report(svc: RunningService, fmt: str) -> Any:
    r = await svc.client.get("/v1/reports", params={**MARCH, "format": fmt}, headers=auth("leader"))
    assert r.status_code == 200, r.text
    return r


async def test_a_monthly_report_people_can_read(databases: Databases, kafka_bootstrap: str,
                                                 topic_prefix: str) -> None:
    url = await databases.new("oversight")
    async with run_service("oversight", database_url=url, kafka_bootstrap=kafka_bootstrap,
                           topic_prefix=topic_prefix) as svc:
        # February (T0 is Monday 3 March; −28 days is 3 February): 东湖区 2 dispatched, 1 signed in time
        envs = work_order("F1", MARKET, -28, signed=True) + work_order("F2", MARKET, -28, signed=False)
        # March: 东湖区 4 dispatched, all signed in time; 西岭区 2 dispatched, 1 signed in time
        envs += work_order("M1", MARKET, 0, signed=True) + work_order("M2", MARKET, 0, signed=True)
        envs += work_order("M3", MARKET, 1, signed=True) + work_order("M4", GOV, 1, signed=True)
        envs += work_order("M5", HOUSING, 2, signed=True) + work_order("M6", LABOUR, 2, signed=False)
        await produce(kafka_bootstrap, topic_prefix, envs)

        async def counted() -> Any:
            data = (await report(svc, "json")).json()
            t = data["overview"]["totals"]
            return data if (t["dispatched"], t["signed_in_time"]) == (6, 5) and data["change"] and \
                data["change"]["totals"]["dispatched"] == 4 else None

        data = await eventually(counted)
        ch = data["change"]
        assert (ch["from"], ch["to"]) == ("2025-02-01", "2025-02-28")
        # totals: 5/6 now, 1/2 before → +33.3 points; regions: 东湖区 4/4 against 1/2, 西岭区 new this month
        assert ch["totals"]["response_rate"] == 33.3 and ch["totals"]["dispatched"] == 4
        assert ch["by_region"]["339901"]["response_rate"] == 50.0 and ch["by_region"]["339901"]["dispatched"] == 2
        assert ch["by_region"]["339902"]["response_rate"] is None and ch["by_region"]["339902"]["dispatched"] == 2
        regions = {r["region_code"]: r["region_name"] for r in data["overview"]["by_region"]}
        assert regions == {"339901": "东湖区", "339902": "西岭区"}
        assert {u["name"]: u["region_name"] for u in data["units"]} == {
            "东湖区市场监督管理局": "东湖区", "东湖区人民政府": "东湖区", "西岭区住房和城乡建设局": "西岭区",
            "西岭区人力资源和社会保障局": "西岭区"}

        page = (await report(svc, "html")).text
        for text in ("东湖区", "西岭区", "东湖区市场监督管理局", "响应率", "环比（上月）", "+33.3 个百分点",
                     "环比（百分点）", "+50.0</td>", "+4</td>", "@page{size:A4", "@media print",
                     "overflow-wrap:anywhere"):
            assert text in page, text
        assert MARKET not in page and "339902-" not in page  # units by name, not by code
        assert "<script" not in page and "src=\"http" not in page and "@import" not in page and "url(" not in page

        wb = load_workbook(io.BytesIO((await report(svc, "xlsx")).content))
        assert wb.sheetnames[:3] == ["summary 概览", "regions 区划", "units 单位"]
        ws = wb["regions 区划"]
        assert [c.value for c in ws[1]][:7] == ["区划名称", "区划代码", "单位数", "派单", "派单环比", "响应率",
                                                "响应率环比"]
        east = [c for c in ws[2]]
        assert (east[0].value, east[3].value, east[4].value, east[5].value, east[6].value) == (
            "东湖区", 4, 2, 1.0, 50.0)
        assert east[5].number_format == "0.0%" and "个百分点" in east[6].number_format
        assert ws.freeze_panes == "C2" and ws.column_dimensions["A"].width == 24
        charts = ws._charts
        assert len(charts) == 1 and charts[0].tagname == "barChart" and len(charts[0].series) == 3
        us = wb["units 单位"]
        header = [c.value for c in us[1]]
        assert header[:4] == ["单位代码", "单位名称", "所属区划", "区划代码"] and us.freeze_panes == "C2"
        col = header.index("响应率")
        rates = {row[1].value: row[col] for row in us.iter_rows(min_row=2)}
        assert rates["西岭区住房和城乡建设局"].value == 1.0 and rates["西岭区住房和城乡建设局"].number_format == "0.0%"
        summary = {r[0].value: r for r in wb["summary 概览"].iter_rows() if r[0].value}
        assert summary["响应率"][1].number_format == "0.0%" and summary["响应率"][2].value == 33.3
        assert summary["派单"][1].value == 6 and summary["派单"][2].value == 4

        text = (await report(svc, "csv")).text.lstrip("\ufeff")
        rows = list(csv.reader(io.StringIO(text)))
        assert rows[0][:5] == ["单位代码", "单位名称", "所属区划", "区划代码", "派单"]
        east_market = next(r for r in rows if r[0] == MARKET)
        assert east_market[1:3] == ["东湖区市场监督管理局", "东湖区"]
        assert east_market[rows[0].index("响应率")] == "100.00%"


CITY_UNITS = 20_000


async def seed_city(svc: RunningService) -> None:
    """A city's month in the rollups: 20,000 units, each with its March figures (as the consumer would keep)."""
    unit_rows = [{"unit": f"3399{i % 60 + 1:02d}-kind{i}", "name": f"单位{i}", "region_code": f"3399{i % 60 + 1:02d}",
                  "level": 2} for i in range(CITY_UNITS)]
    month = [{"grain": "m", "period": date(2025, 3, 1), "unit": u["unit"], "dispatched": 10 + i % 7,
              "signed_in_time": 9, "resolved": 9, "visited": 8, "visit_yes": 7, "satisfied": 6,
              "basically_satisfied": 1} for i, u in enumerate(unit_rows)]
    async with svc.runtime.engine.begin() as conn:
        await conn.execute(insert(units), unit_rows)
        await conn.execute(insert(rollups), month)


async def test_the_consumer_applies_events_while_a_city_report_is_built(databases: Databases, kafka_bootstrap: str,
                                                                        topic_prefix: str) -> None:
    url = await databases.new("oversight")
    async with run_service("oversight", database_url=url, kafka_bootstrap=kafka_bootstrap,
                           topic_prefix=topic_prefix) as svc:
        await seed_city(svc)

        async def applied(unit: str) -> bool:
            r = await svc.client.get("/v1/stats/units", params={"from": "2025-03-01", "to": "2025-03-31",
                                                                "unit": unit}, headers=auth("leader"))
            return bool(r.json())

        # the consumer has its partitions and applies events
        await produce(kafka_bootstrap, topic_prefix, work_order("W0", MARKET, 0, signed=True))
        await eventually(lambda: applied(MARKET))
        building = asyncio.create_task(svc.client.get("/v1/reports", params={**MARCH, "format": "xlsx"},
                                                      headers=auth("leader")))
        await asyncio.sleep(0)  # the request has started
        await produce(kafka_bootstrap, topic_prefix, work_order("W1", HOUSING, 0, signed=True))
        await eventually(lambda: applied(HOUSING), interval_s=0.02)
        # the event was applied (and a stats request answered) while the report was still being built
        assert not building.done()
        r = await building
        assert r.status_code == 200
        ws = load_workbook(io.BytesIO(r.content), read_only=True)["units 单位"]
        # the header, the city and W0's unit (W1's, applied during the build, came after the report's data was read)
        assert sum(1 for _ in ws.iter_rows(values_only=True)) >= CITY_UNITS + 2
