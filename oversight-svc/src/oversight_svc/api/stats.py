"""Statistics and the three rates, periodic reports, tier copies."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from bancheng_shared.contracts.limits import RegionCode, TicketNo, UnitCode
from bancheng_shared.principal import Role
from oversight_svc import queries
from oversight_svc.adapters import report_files
from oversight_svc.api.deps import Bus, CopyReader, CorrelationId, Ctx, Offset, ReportReader, RuntimeDep, StatsReader
from oversight_svc.api.models import Overview, ReportData, TierCopy, UnitStats
from oversight_svc.domain.commands import DetectHotspots
from oversight_svc.domain.periods import period_bounds
from oversight_svc.domain.rates import RATE_DEFINITIONS

router = APIRouter()

RATES_DOC = "\n\n".join(f"- **{k}**: {v}" for k, v in RATE_DEFINITIONS.items())
# a report is a file in the asked format; `format=json` answers its data
REPORT_FORMATS = {
    "text/html": {"schema": {"type": "string"}},
    report_files.XLSX: {"schema": {"type": "string", "format": "binary"}},
    "text/csv": {"schema": {"type": "string"}},
}


@router.get("/stats/units", tags=["stats"], response_model=list[UnitStats],
            summary="单位统计与三率 / Per-unit statistics and the three rates",
            description="按单位统计某期间（含首尾日，本地日期）的各项计数与三率。单位密钥只能看到本单位。\n\n"
            "Per-unit counters and rates for [from, to] (local dates, inclusive), from incremental rollups. "
            "A unit key sees only its own unit.\n\n" + RATES_DOC)
async def unit_stats(
    rt: RuntimeDep,
    ox: Ctx,
    who: StatsReader,
    start: date = Query(alias="from"),
    end: date = Query(alias="to"),
    unit: UnitCode | None = None,
    region: RegionCode | None = Query(None, description="region code prefix of the units / 单位所属区划代码前缀"),
) -> list[dict[str, Any]]:
    if who.role == Role.unit:
        unit, region = who.unit_code, None
    return await queries.unit_stats(rt, ox, start, end, unit, region)


@router.get("/stats/overview", tags=["stats"], response_model=Overview,
            summary="总览、排名与红灯件数据 / Overview, rankings, red-track figures",
            description="某区划某期间的合计、分区划数据、三率排名（样本不足不排名）、“办结未解决”单位标记、红灯件数据。\n\n"
            "Totals, per-region figures, rankings (units under the minimum sample are not ranked), units that "
            "close without solving, red-track figures (red tickets investigated, problems solved, people held "
            "accountable).\n\n" + RATES_DOC)
async def overview(
    rt: RuntimeDep,
    ox: Ctx,
    who: ReportReader,
    start: date = Query(alias="from"),
    end: date = Query(alias="to"),
    region: RegionCode | None = None,
) -> dict[str, Any]:
    return await queries.overview(rt, ox, start, end, region)


@router.get("/reports", tags=["reports"], response_class=Response,
            responses={200: {"model": ReportData, "content": REPORT_FORMATS,
                             "description": "HTML, XLSX or CSV file; `format=json`: the report's data"}},
            summary="定期分析报告 / Periodic analysis report",
            description="周/月/季/年报告：HTML（内嵌 SVG 图表，不依赖外网，可打印为 A4）、XLSX（百分比格式、冻结表头、"
            "各区划三率图表）或 CSV 下载；区划与单位显示名称，各项数据附与上一同长期间的比较（环比，比率以百分点计）。"
            "报告在独立进程中生成，不阻塞事件消费。\n\n"
            "Week, month, quarter or year report for a region: HTML with inline SVG charts (nothing loaded from "
            "the internet; prints on A4), XLSX (percent formats, frozen headers, a chart of the three rates by "
            "region) or CSV download. Regions and units by name; each figure with its change from the previous "
            "period of the same kind (rates in percentage points). Files are built in a worker process, so event "
            "consumption does not stall. `start` is any day inside the period.")
async def report(
    rt: RuntimeDep,
    ox: Ctx,
    bus: Bus,
    corr: CorrelationId,
    who: ReportReader,
    period: Literal["week", "month", "quarter", "year"] = "month",
    start: date = Query(description="a day in the period / 期间内任一天"),
    region: RegionCode | None = None,
    format: Literal["html", "xlsx", "csv", "json"] = "html",
) -> Response:
    ox.check_day("start", start)  # before the period around it is counted (no overflow at year 1 or 9999)
    first, last = period_bounds(period, start)
    # the hotspots of the period are mined (and kept, so that a case can be opened for one) as the list does
    hotspots = await bus.handle(DetectHotspots(start=first, end=last, correlation_id=corr))
    inputs = await queries.report_inputs(rt, ox, period, start, region, hotspots, rt.clock.now())
    # the statistics and the file are made in a worker process: the loop keeps consuming events and answering
    content, media_type, headers = await ox.reports.build(inputs, format)
    return Response(content, media_type=media_type, headers=headers)


@router.get("/copies", tags=["copies"], response_model=list[TierCopy],
            summary="分级抄送件 / Tier copies (archive, joint scheduling, supervision)",
            description="分诊服务按红黄绿分级规则抄送的诉求件：绿灯件办结后抄送营商办备案（archive），黄灯件抄送营商办"
            "联合调度（joint_scheduling），红灯件抄送营商办与纪委监委督办（supervision，同时确保存在督办案件，"
            "case_id 为其案件）。可按用途、等级、工单号、接收单位（to_units 中的单位代码）和抄送日期（本地日期，"
            "含首尾日）筛选，按抄送时间倒序。\n\n"
            "Copies triage sent under the tier rules: green → archive copy to the business-environment office "
            "after completion; yellow → joint-scheduling copy to the business-environment office; red → "
            "supervision by the business-environment office and discipline inspection (oversight makes sure a "
            "supervision case exists; `case_id` names it). Filter by purpose, tier, ticket number, receiving "
            "unit (a code in `to_units`) and issue date (local dates, inclusive); newest first.")
async def list_copies(
    rt: RuntimeDep,
    ox: Ctx,
    who: CopyReader,
    purpose: Literal["archive", "joint_scheduling", "supervision"] | None = Query(
        None, description="用途 / purpose"),
    tier: Literal["green", "yellow", "red"] | None = Query(None, description="等级 / tier"),
    ticket_no: TicketNo | None = Query(None, description="工单号 / ticket number"),
    unit: UnitCode | None = Query(None, description="接收单位代码 / receiving unit code"),
    start: date | None = Query(None, alias="from", description="抄送日期起 / issued from (local date)"),
    end: date | None = Query(None, alias="to", description="抄送日期止 / issued to (local date, inclusive)"),
    limit: int = Query(100, ge=1, le=1000),
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    return await queries.list_copies(rt, ox, purpose=purpose, tier=tier, ticket_no=ticket_no, unit=unit,
                                     start=start, end=end, limit=limit, offset=offset)
