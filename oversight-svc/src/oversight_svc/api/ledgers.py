"""Ledgers (台账) as XLSX or CSV files: work orders, return visits, supervision cases with letters, accountability."""

from __future__ import annotations

import os
from datetime import date
from typing import Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from bancheng_shared.contracts.limits import RegionCode, UnitCode
from bancheng_shared.errors import Problem
from bancheng_shared.principal import Role
from oversight_svc.adapters import ledger_files
from oversight_svc.adapters.ledgers import Filters
from oversight_svc.api.deps import Ctx, LedgerReader, RuntimeDep
from oversight_svc.domain.ledgers import COLUMNS, TITLES, file_name
from oversight_svc.domain.periods import local_bounds

router = APIRouter()

FILES = {
    ledger_files.XLSX: {"schema": {"type": "string", "format": "binary"}},
    "text/csv": {"schema": {"type": "string"}},
}
_LEDGER_DOC = "\n".join(f"- `{k}` {TITLES[k]}: " + "、".join(c.header for c in cols) for k, cols in COLUMNS.items())


@router.get("/ledgers/{ledger}.{fmt}", tags=["ledgers"], response_class=FileResponse,
            responses={200: {"content": FILES, "description": "XLSX 或 CSV 文件 / the ledger as an XLSX or CSV file"}},
            summary="台账下载 / Ledger download (XLSX, CSV)",
            description="工单台账（work-orders，按派单日期，即统计所计的期间）、回访台账（return-visits，按回访时间）、"
            "督办台账（supervision，按开案时间，每封督办函及其回复一行）、问责台账（accountability，按决定时间，未决定的按"
            "提出时间）。期间为本地日期（含首尾日）；可按承办单位、区划（单位所属区划代码前缀）筛选。时间为本地时间"
            "（Asia/Shanghai），不带时区。CSV 默认 UTF-8（带 BOM），`encoding=gb18030` 供旧版 Excel。台账不含群众的"
            "电话、证件号，文本中的姓名、电话、证件号已隐去，举报人从不出现。单位密钥只能下载本单位的台账。"
            "按块读取与写入，一个城市一年的数据也不会整体载入内存。\n\n"
            "Work orders (by the round's dispatch day: the period the statistics count it in), return visits (by "
            "the visit time), supervision cases (by the opening time; one row per letter with its reply), "
            "accountability (by the decision time, else the proposal time). Local days, inclusive; filter by unit "
            "and by region (a prefix of the unit's region code, as /v1/stats/units). Times are local wall-clock "
            "times without an offset. CSV is UTF-8 with a BOM; `encoding=gb18030` for old Excel. No complainant "
            "phone or ID; names, phones and ID numbers written in texts are masked; the informant never appears. "
            "A unit key gets only its own unit's rows. Rows are read and written in chunks: a city's year is never "
            "held in memory.\n\n" + _LEDGER_DOC)
async def ledger(
    rt: RuntimeDep,
    ox: Ctx,
    who: LedgerReader,
    ledger: Literal["work-orders", "return-visits", "supervision", "accountability"] = Path(
        description="台账 / ledger"),
    fmt: Literal["xlsx", "csv"] = Path(description="文件格式 / file format"),
    start: date = Query(alias="from", description="期间起（本地日期）/ first local day"),
    end: date = Query(alias="to", description="期间止（本地日期，含）/ last local day (inclusive)"),
    unit: UnitCode | None = Query(None, description="承办单位代码 / unit code"),
    region: RegionCode | None = Query(None, description="单位所属区划代码前缀 / region code prefix of the units"),
    encoding: Literal["utf-8", "gb18030"] = Query(
        "utf-8", description="CSV 编码：utf-8（带 BOM）或 gb18030 / CSV encoding: utf-8 (with BOM) or gb18030"),
) -> FileResponse:
    ox.check_period(start, end)
    if who.role == Role.unit:
        if unit is not None and unit != who.unit_code:
            raise Problem(403, f"unit: a unit key reads only its own unit's ledger ({who.unit_code})",
                          type_="forbidden")
        unit = who.unit_code
    if fmt == "xlsx" and encoding != "utf-8":
        raise Problem(422, "encoding: applies to CSV only (an XLSX file is always Unicode)", type_="validation")
    since, until = local_bounds(start, end, ox.tz)
    s = ox.settings
    path = await ledger_files.build(rt, ledger, fmt, Filters(start, end, since, until, unit, region),
                                    encoding=encoding, tz=ox.tz, chunk_rows=s.ledger_chunk_rows,
                                    tmp_dir=s.ledger_tmp_dir)
    media = ledger_files.XLSX if fmt == "xlsx" else f"text/csv; charset={encoding}"
    return FileResponse(path, media_type=media, filename=file_name(ledger, start, end, unit, region, fmt),
                        background=BackgroundTask(os.unlink, path))
