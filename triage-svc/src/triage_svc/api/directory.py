"""Org-directory and catalogue routes (thin): the directory's lists, import and export; the catalogue's versions;
the work team's corrections."""

from __future__ import annotations

import csv
from typing import Any, Literal

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from bancheng_shared.app import CorrelationId, RuntimeDep
from bancheng_shared.errors import Problem
from triage_svc import queries
from triage_svc.api.common import (
    VERSION_MAX,
    Bus,
    Context,
    DirectoryReader,
    KindFilter,
    Offset,
    ParentFilter,
    Reader,
    RegionFilter,
    UnitCodePath,
    VersionPath,
    WorkTeam,
)
from triage_svc.api.requests import CatalogueIn
from triage_svc.api.responses import (
    CatalogueActiveOut,
    CatalogueOut,
    CatalogueVersionOut,
    CorrectionOut,
    ImportedOut,
    UnitDetailOut,
    UnitOut,
)
from triage_svc.domain.commands import ActivateCatalogue, ImportDirectory, PublishCatalogue
from triage_svc.domain.directory import decode_csv, parse_csv, to_csv

router = APIRouter()
Body_ = dict[str, Any]

# ------------------------------------------------------------------------------------------ directory


@router.get("/units", tags=["directory"], response_model=list[UnitOut],
            summary="组织目录 / List units of the org directory",
            description="按层级、类别、上级、区划筛选；联系方式（短信号码）仅工作专班、话务员、管理员及单位本身可见。"
                        "\n\nFilter by level, kind, parent and region (prefix); contact numbers only for the work "
                        "team, operators, admins and the unit itself.")
async def list_units(
    rt: RuntimeDep, who: DirectoryReader,
    level: int | None = Query(default=None, ge=1, le=4), kind: KindFilter = None, parent: ParentFilter = None,
    region: RegionFilter = None, active: bool | None = None,
    limit: int = Query(default=100, ge=1, le=5000), offset: Offset = 0,
) -> list[Body_]:
    return await queries.list_units(rt, who, level=level, kind=kind, region=region, parent=parent, active=active,
                                    limit=limit, offset=offset)


@router.get("/units:export", tags=["directory"], response_model=list[UnitOut],
            summary="导出组织目录 / Export the directory",
            description="CSV 或 JSON（可再导入）；CSV 中可能被电子表格当作公式的文本前加单引号。\n\n"
                        "CSV or JSON, re-importable; in CSV a text a spreadsheet would run as a formula gets a "
                        "leading apostrophe (taken off again on import).",
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                             "description": "JSON（默认）或 CSV（format=csv）/ JSON (default) or CSV"}})
async def export_units(rt: RuntimeDep, _who: WorkTeam,
                       fmt: Literal["json", "csv"] = Query(default="json", alias="format")) -> Any:
    rows = await queries.export_units(rt)
    if fmt == "csv":
        return PlainTextResponse(to_csv(rows), media_type="text/csv; charset=utf-8")
    return JSONResponse(rows)


@router.post("/units:import", tags=["directory"], response_model=ImportedOut,
             summary="导入组织目录 / Import the directory",
             description="JSON 数组（或 {\"units\": [...]}）或 CSV（text/csv，UTF-8（可带 BOM）或 Excel 保存的 "
                         "GBK/GB18030，自动识别，也可用 charset 指定）；"
                         "全部校验通过才导入（要么全部、要么不导），"
                         "错误列出行号与字段。mode=replace 替换整个目录。\n\n"
                         "JSON array or CSV (UTF-8 with or without a BOM, or GBK/GB18030 as Excel in China saves it: "
                         "detected, or named by `charset` in the query or the Content-Type); validated, "
                         "all-or-nothing, errors name the row and field.",
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
                 "text/csv": {"schema": {"type": "string"}}}}})
async def import_units(request: Request, bus: Bus, who: WorkTeam, corr: CorrelationId,
                       mode: Literal["upsert", "replace"] = "upsert",
                       charset: str | None = Query(None, max_length=40, description=(
                           "CSV 编码（utf-8、gbk、gb18030），缺省时读取 Content-Type 的 charset，否则自动识别 / "
                           "the CSV's charset (utf-8, gbk, gb18030); else the Content-Type's charset, else detected"))
                       ) -> Body_:
    raw = await request.body()
    ctype, _, params = request.headers.get("content-type", "").partition(";")
    if ctype.strip().lower() == "text/csv":
        declared = next((v for k, _, v in (p.strip().partition("=") for p in params.split(";"))
                         if k.strip().lower() == "charset"), None)
        text = decode_csv(raw, charset or declared)
        try:
            rows: Any = parse_csv(text)
        except (ValueError, csv.Error) as exc:
            raise Problem(400, f"unreadable CSV: {str(exc)[:200]}", type_="malformed-csv") from None
    else:
        try:
            rows = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise Problem(400, f"malformed JSON body: {exc}", type_="malformed-json") from None
        if isinstance(rows, dict):
            rows = rows.get("units")
    if not isinstance(rows, list) or not rows:
        raise Problem(422, "send a non-empty list of units", type_="validation",
                      errors=[{"field": "units", "message": "a non-empty list is required"}])
    return await bus.handle(ImportDirectory(actor=who, rows=rows, replace=mode == "replace", correlation_id=corr))


@router.get("/units/{code}", tags=["directory"], response_model=UnitDetailOut, summary="查看单位 / Get a unit",
            description="单位详情及下级数量；联系方式仅工作专班、话务员、管理员及单位本身可见。\n\n"
                        "One unit and how many units it has below it; contact numbers only for the work team, "
                        "operators, admins and the unit itself.")
async def get_unit(code: UnitCodePath, rt: RuntimeDep, who: DirectoryReader) -> Body_:
    return await queries.get_unit(rt, code, who)


# ------------------------------------------------------------------------------------------ catalogue


@router.get("/corrections", tags=["catalogue"], response_model=list[CorrectionOut], summary="纠正记录 / Corrections",
            description="工作专班的分类纠正记录（最新在前）。\n\nThe work team's corrections, newest first.")
async def list_corrections(rt: RuntimeDep, _who: WorkTeam,
                           limit: int = Query(default=100, ge=1, le=1000)) -> list[Body_]:
    return await queries.list_corrections(rt, limit)


@router.get("/catalogue", tags=["catalogue"], response_model=CatalogueOut, response_model_exclude_unset=True,
            summary="派单目录 / The routing catalogue",
            description="当前生效的派单目录（或指定版本）。\n\nThe active routing catalogue (or a version).")
async def get_catalogue(rt: RuntimeDep, ctx: Context, _who: Reader,
                        version: int | None = Query(default=None, ge=0, le=VERSION_MAX)) -> Body_:
    return await queries.get_catalogue(rt, ctx.caches, version)


@router.put("/catalogue", tags=["catalogue"], response_model=CatalogueActiveOut,
            summary="发布派单目录新版本 / Publish a catalogue version",
            description="校验后保存为新版本并立即生效；旧版本保留可回滚。\n\n"
                        "Validated, stored as a new version and made active; older versions are kept.")
async def put_catalogue(body: CatalogueIn, bus: Bus, who: WorkTeam, corr: CorrelationId) -> Body_:
    return await bus.handle(PublishCatalogue(actor=who, catalogue=body.catalogue, note=body.note,
                                             correlation_id=corr))


@router.get("/catalogue/versions", tags=["catalogue"], response_model=list[CatalogueVersionOut],
            summary="派单目录版本 / Catalogue versions",
            description="所有版本（0 为随服务发布的默认目录）。\n\nEvery version; 0 is the shipped default.")
async def catalogue_versions(rt: RuntimeDep, _who: Reader) -> list[Body_]:
    return await queries.list_catalogue_versions(rt)


@router.post("/catalogue/versions/{version}:activate", tags=["catalogue"], response_model=CatalogueActiveOut,
             summary="启用某一版本 / Activate a version",
             description="回滚到指定版本。\n\nRoll back to an earlier version.")
async def activate(version: VersionPath, bus: Bus, who: WorkTeam, corr: CorrelationId) -> Body_:
    return await bus.handle(ActivateCatalogue(actor=who, version=version, correlation_id=corr))
