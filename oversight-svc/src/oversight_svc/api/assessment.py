"""The yearly assessment (绩效考核): the scheme versions an admin sets, and every unit's score with its explanation."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from bancheng_shared.contracts.limits import Reason
from oversight_svc import assessment_queries
from oversight_svc.adapters import assessment_files
from oversight_svc.api.deps import Admin, AssessmentReader, Body, Bus, CorrelationId, Ctx, RuntimeDep
from oversight_svc.domain.assessment import DEDUCTIONS, MEASURES
from oversight_svc.domain.commands import SetAssessmentScheme

router = APIRouter()

Year = Annotated[int, Path(ge=1, le=9999, description="考核年度 / the year assessed")]
MEASURES_DOC = "、".join(f"`{k}` {m.name}" for k, m in MEASURES.items())
DEDUCTIONS_DOC = "、".join(f"`{k}` {n}" for k, (n, _) in DEDUCTIONS.items())
RULE_DOC = (
    "计分规则：指标得分 = 指标值 × 权重（各计分指标权重之和为 100）；单位某指标无样本（如无回访接通）按全市值计；"
    "扣分 = 次数 × 每次扣分（督办、问责、超期工单）；总分 = 指标得分 − 扣分，最低 0 分；年度派单数不少于最低样本的单位"
    "按总分排名（同分并列），其余单独列出、不排名。数据取自年度统计（按派单所属期间计），不逐件扫描工单。\n\n"
    "Rule: a measure scores value × weight (the weights of the rated measures sum to 100); a unit without a sample "
    "for a measure (e.g. no visit reached anyone) scores it at the city's value; deductions = count × points per "
    "count (supervision cases, accountability records, overdue work orders); score = points − deductions, at least "
    "0; units with at least the minimum sample of work orders dispatched in the year are ranked by score (ties "
    "share a rank), the others are listed apart. From the yearly statistics (each round in its dispatch period).")


class SchemeIn(Body):
    """A new version of the year's scheme."""

    measures: dict[str, float] = Field(
        description="计分指标及权重，权重之和为 100 / rated measures and their weights, summing to 100: "
        + MEASURES_DOC,
        examples=[{"response_rate": 20, "resolution_rate": 30, "satisfaction_rate": 30, "on_time_rate": 20}])
    deductions: dict[str, float] = Field(
        default_factory=dict, description=f"每次扣分 / points taken per count: {DEDUCTIONS_DOC}",
        examples=[{"supervised": 1, "accountability": 2, "overdue": 0.5}])
    min_sample: int = Field(description="参加排名的最低年度派单数 / work orders dispatched in the year to be ranked")
    reason: Reason = Field(min_length=1, description="修改原因 / why this version")


class SchemeVersion(BaseModel):
    """One version of a year's assessment scheme (version 0: the shipped default)."""

    year: int
    version: int
    measures: dict[str, float] = Field(description="measure -> weight")
    deductions: dict[str, float] = Field(description="counter -> points per count")
    min_sample: int
    reason: str
    created_by: str = Field(description="who stored it (the key's name) / 修改人")
    created_role: str
    created_at: datetime | None = Field(description="when (None for the default) / 修改时间")


class SchemeVersions(BaseModel):
    """A year's scheme versions, oldest first, and the one in force (the latest)."""

    year: int
    current: int = Field(description="the version scores use by default")
    versions: list[SchemeVersion]


class MeasureScore(BaseModel):
    """One measure of a unit: value, weight, points and the sentence that explains them."""

    measure: str
    name: str = Field(description="中文名称")
    value: float | None = Field(description="the unit's rate (None: no sample)")
    city_value: float | None = Field(description="the city's rate over all units / 全市")
    sample: int = Field(description="the rate's denominator for the unit")
    basis: Literal["unit", "city", "none"] = Field(description="scored on the unit's value, the city's, or nothing")
    weight: float
    points: float
    explanation: str = Field(description="e.g. 满意率 93.1%（回访 58，全市 95.0%），得 27.93/30 分")


class DeductionScore(BaseModel):
    """A deduction of a unit: the count, the points per count and the points taken."""

    deduction: str
    name: str
    count: int
    per: float
    points: float
    explanation: str


class UnitScore(BaseModel):
    """A unit's score of the year, its rank (None when below the minimum sample) and the explanation."""

    unit: str
    name: str | None
    region_code: str | None
    score: float
    rated_points: float
    deducted_points: float
    sample: int = Field(description="work orders dispatched to it as lead unit in the year")
    ranked: bool
    rank: int | None = Field(description="1 = best; ties share a rank")
    explanation: str
    measures: list[MeasureScore]
    deductions: list[DeductionScore]


class Assessment(BaseModel):
    """A year's assessment: the scheme version used, the city's values, ranked units, then the others."""

    year: int
    scheme: SchemeVersion
    city: dict[str, float | None] = Field(description="each rated measure over all units / 全市")
    ranked: list[UnitScore]
    not_ranked: list[UnitScore] = Field(description="below the minimum sample: scored, not ranked / 样本不足不排名")


FILES = {
    "text/csv": {"schema": {"type": "string"}},
    assessment_files.XLSX: {"schema": {"type": "string", "format": "binary"}},
}


@router.put("/assessment/schemes/{year}", tags=["assessment"], status_code=201, response_model=SchemeVersion,
            summary="修改年度考核方案（新版本）/ Set the year's assessment scheme (a new version)",
            description="管理员设置某年度的计分指标权重、扣分标准与最低样本。每次修改生成新版本，记录修改人、时间与原因；"
            "旧版本保留，可按版本重算旧的考核结果。校验：指标名须为已知指标，权重与扣分不得为负，计分指标权重之和为 "
            f"100。可用指标：{MEASURES_DOC}；扣分项：{DEDUCTIONS_DOC}。\n\n"
            "An admin sets the year's measure weights, deductions and minimum sample. Every change is a new version "
            "(who, when, why); earlier versions stay, so an old score can be computed again. Known measure names "
            "only, no negative numbers, the weights sum to 100; a 422 names each wrong field.\n\n" + RULE_DOC)
async def put_scheme(year: Year, body: SchemeIn, bus: Bus, corr: CorrelationId, who: Admin) -> dict[str, Any]:
    return await bus.handle(SetAssessmentScheme(
        actor=who, year=year, weights=body.measures, deductions=body.deductions, min_sample=body.min_sample,
        reason=body.reason, correlation_id=corr))


@router.get("/assessment/schemes/{year}", tags=["assessment"], response_model=SchemeVersions,
            summary="年度考核方案的各版本 / The year's assessment scheme versions",
            description="版本 0 为随系统发布的默认方案；其后为管理员的每次修改（修改人、时间、原因）。"
            "最新版本为现行版本。\n\n"
            "Version 0 is the shipped default; then every change an admin made (who, when, why). The latest is in "
            "force.")
async def scheme_versions(year: Year, rt: RuntimeDep, ox: Ctx, who: AssessmentReader) -> dict[str, Any]:
    return await assessment_queries.scheme_versions(rt, ox, year)


@router.get("/assessment/{year}", tags=["assessment"], response_model=Assessment,
            responses={200: {"content": FILES, "description": "JSON; `format=csv|xlsx`: the table as a file"}},
            summary="年度绩效考核 / The yearly assessment",
            description="各单位年度得分、排名及每项指标的值、权重、得分与中文说明；样本不足的单位单独列出、不排名。"
            "`version` 指定方案版本（默认最新），可重现旧结果。单位密钥只看到本单位一行。"
            "`format=csv|xlsx` 导出（中文表头）。"
            "\n\nEach unit's score for the year, its rank, and per measure the value, weight, points and a one-line "
            "explanation in Chinese; units under the minimum sample are listed apart, not ranked. `version` names "
            "the scheme version (default the latest), so an old score is reproduced. A unit key sees only its own "
            "row. `format=csv|xlsx` downloads the table (Chinese headers).\n\n" + RULE_DOC)
async def get_assessment(
    year: Year,
    rt: RuntimeDep,
    ox: Ctx,
    who: AssessmentReader,
    version: int | None = Query(None, ge=0, le=1_000_000, description="方案版本，默认最新 / scheme version"),
    format: Literal["json", "csv", "xlsx"] = "json",
) -> Any:
    data = await assessment_queries.assessment(rt, ox, who, year, version)
    if format == "json":
        # a city's answer is tens of MB: serialized once in a worker thread (the model above documents it; checking
        # 20,000 units against it again would take seconds on the event loop)
        body = await asyncio.to_thread(orjson.dumps, data, option=orjson.OPT_UTC_Z)
        return Response(body, media_type="application/json")
    content, media_type, headers = await asyncio.to_thread(assessment_files.render, data, format)
    return Response(content, media_type=media_type, headers=headers)
