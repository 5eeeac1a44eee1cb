"""Process improvement (改进建议, 总结提升): raise a suggestion to a department, list and read them, the department's
answer, and the per-department figures of a period."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import Field

from bancheng_shared.contracts.limits import Content, Name, RegionCode, Title, UnitCode
from bancheng_shared.principal import Role
from oversight_svc import suggestion_queries
from oversight_svc.api.deps import (
    Body,
    Bus,
    CorrelationId,
    Ctx,
    Id,
    Offset,
    RuntimeDep,
    StatsReader,
    SuggestionRaiser,
    SuggestionReader,
    UnitKey,
)
from oversight_svc.api.models import Suggestion, SuggestionFigures
from oversight_svc.domain.commands import AnswerSuggestion, RaiseSuggestion

router = APIRouter()

SuggestionId = Annotated[Id, Path(description="改进建议编号 / suggestion id (SUG-…)")]
RULES = ("状态机：raised →（answer）adopted / not_adopted，只能答复一次；答复期限为提出之日后第 N 个法定工作日结束"
         "（OVERSIGHT_SUGGESTION_ANSWER_WORKING_DAYS，默认 10），逾期未答复为 overdue（由期限与当前时间得出）。"
         "不允许的操作返回 409，说明当前状态与允许的操作。\n\n"
         "State machine: raised → (answer) adopted / not_adopted, answered once; the answer is due at the end of the "
         "Nth statutory working day after the day it is raised (OVERSIGHT_SUGGESTION_ANSWER_WORKING_DAYS, default 10); "
         "unanswered past that it is overdue (derived from the due time and now). A step the state does not allow is "
         "409 naming the state and the allowed actions.")


class SuggestionIn(Body):
    """A step or a certificate that can go, with the evidence, to a department."""

    source: Literal["ticket", "window_visit", "case"] = Field(
        description="where it was found: a ticket, a visit to the 办不成事 window, a supervision case / 来源")
    source_ref: Name = Field(min_length=1, description="the ticket number, the window visit's reference (e.g. the "
                             "register's entry), or the case id / 来源编号或窗口登记说明")
    target: Literal["step", "certificate", "other"] = Field(
        description="what can go: a step (环节), a certificate (证明材料), other / 可精简的对象")
    item: Title = Field(min_length=1, description="the step or the certificate, e.g. 无犯罪记录证明 / 名称")
    evidence: Content = Field(min_length=1, description="what shows it is unnecessary / 依据与情况说明")
    department: UnitCode = Field(description="the department it goes to (a unit code oversight knows) / 建议接收部门")


class AnswerIn(Body):
    """The department's answer: adopted with the change made, or not adopted with the reason."""

    decision: Literal["adopted", "not_adopted"]
    change: Content | None = Field(None, description="adopted: the change made (required) / 改进措施")
    effective_date: date | None = Field(None, description="adopted: when the change takes effect / 施行日期")
    reason: Content | None = Field(None, description="not adopted: the reason (required) / 不予采纳理由")


@router.post("/suggestions", tags=["suggestions"], status_code=201, response_model=Suggestion,
             summary="提出改进建议 / Raise a process-improvement suggestion",
             description="从工单、“办不成事”窗口接待或督办案件发现可取消的环节或证明材料，连同依据提交给责任部门"
             "（部门须为本服务已知单位；工单与案件须已知）。工作专班、督查室、营商办、纪检监察可提出；单位不能提出"
             "（由发现问题的一方向部门提出，部门自身可直接改进）。发布 SuggestionRaised。\n\n"
             "A step or a certificate found unnecessary at a ticket, a visit to the 办不成事 window or a supervision "
             "case, with the evidence, to the department responsible (a unit oversight knows; a ticket or a case must "
             "be known). The work team, the supervision office, the business-environment office and inspectors "
             "raise; units do not (the one who sees the procedure from outside raises it to the department). "
             "Publishes SuggestionRaised. " + RULES)
async def raise_suggestion(body: SuggestionIn, bus: Bus, corr: CorrelationId, who: SuggestionRaiser) -> dict[str, Any]:
    return await bus.handle(RaiseSuggestion(
        actor=who, source=body.source, source_ref=body.source_ref, target=body.target, item=body.item,
        evidence=body.evidence, department=body.department, correlation_id=corr))


@router.get("/suggestions", tags=["suggestions"], response_model=list[Suggestion],
            summary="改进建议列表 / List suggestions",
            description="按部门、状态（含 overdue 逾期未答复）、来源和提出日期（本地日期，含首尾日）筛选，"
            "按提出时间倒序。单位密钥只看到发给本单位的建议。\n\n"
            "Filter by department, status (overdue: unanswered past due), source and the day raised (local dates, "
            "inclusive); newest first. A unit key sees only the suggestions addressed to its unit.")
async def list_suggestions(
    rt: RuntimeDep,
    ox: Ctx,
    who: SuggestionReader,
    department: UnitCode | None = Query(None, description="部门（单位代码）/ department (unit code)"),
    status: Literal["raised", "adopted", "not_adopted", "overdue"] | None = Query(None, description="状态 / status"),
    source: Literal["ticket", "window_visit", "case"] | None = Query(None, description="来源 / source"),
    start: date | None = Query(None, alias="from", description="提出日期起 / raised from (local date)"),
    end: date | None = Query(None, alias="to", description="提出日期止 / raised to (local date, inclusive)"),
    limit: int = Query(100, ge=1, le=1000),
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    return await suggestion_queries.list_suggestions(rt, ox, who, department=department, status=status,
                                                     source=source, start=start, end=end, limit=limit, offset=offset)


@router.get("/suggestions/{suggestion_id}", tags=["suggestions"], response_model=Suggestion,
            summary="改进建议详情 / A suggestion",
            description="建议、依据与部门答复。单位密钥只能查看发给本单位的建议。\n\n"
            "The suggestion, its evidence and the department's answer. A unit key reads only those addressed to it.")
async def get_suggestion(suggestion_id: SuggestionId, rt: RuntimeDep, who: SuggestionReader) -> dict[str, Any]:
    return await suggestion_queries.get_suggestion(rt, who, suggestion_id)


@router.post("/suggestions/{suggestion_id}/answer", tags=["suggestions"], response_model=Suggestion,
             summary="部门答复改进建议 / The department answers",
             description="由建议所发往的部门用本单位密钥答复一次：采纳（adopted，须写明改进措施，可注明施行日期）或"
             "不予采纳（not_adopted，须说明理由）。逾期答复记为 late。发布 SuggestionAnswered。\n\n"
             "The addressed department answers once with its own unit key: adopted (the change made is required, "
             "the date it takes effect optional) or not_adopted (the reason is required). An answer after the due "
             "time is marked late. Publishes SuggestionAnswered. " + RULES)
async def answer_suggestion(suggestion_id: SuggestionId, body: AnswerIn, bus: Bus, corr: CorrelationId,
                            who: UnitKey) -> dict[str, Any]:
    return await bus.handle(AnswerSuggestion(
        actor=who, suggestion_id=suggestion_id, decision=body.decision, change=body.change,
        effective_date=body.effective_date, reason=body.reason, correlation_id=corr))


@router.get("/stats/suggestions", tags=["stats", "suggestions"], response_model=SuggestionFigures,
            summary="改进建议统计 / Suggestion figures per department",
            description="某期间（提出日期，本地日期，含首尾日）提出的改进建议，按部门统计：提出、未答复、逾期、已答复、"
            "逾期答复、采纳、不予采纳与采纳率（按当前时间计）。单位密钥只看到本单位。\n\n"
            "Of the suggestions raised in [from, to] (local dates, inclusive), per department: raised, open, "
            "overdue, answered, answered late, adopted, not adopted and the adoption rate (as of now). A unit key "
            "sees only its own unit.")
async def suggestion_stats(
    rt: RuntimeDep,
    ox: Ctx,
    who: StatsReader,
    start: date = Query(alias="from"),
    end: date = Query(alias="to"),
    department: UnitCode | None = Query(None, description="部门（单位代码）/ department (unit code)"),
    region: RegionCode | None = Query(None, description="部门所属区划代码前缀 / region code prefix"),
) -> dict[str, Any]:
    if who.role == Role.unit:
        department, region = who.unit_code, None
    return await suggestion_queries.figures(rt, ox, start, end, region=region, department=department)
