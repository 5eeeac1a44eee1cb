"""sla HTTP routes (thin: validate, check the role, then a command through the bus or a query)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from bancheng_shared.app import CorrelationId
from bancheng_shared.auth import Principal, Role, require
from bancheng_shared.errors import Problem
from bancheng_shared.messagebus import MessageBus
from sla_svc import queries
from sla_svc.context import Sla
from sla_svc.domain.commands import (
    DecideExtension,
    LoadCalendarYear,
    PauseClock,
    RequestExtension,
    ResumeClock,
    SetSimulatedTime,
)
from sla_svc.handlers.scheduler import run_until_idle

router = APIRouter(prefix="/v1")

READERS = (Role.work_team, Role.unit, Role.operator, Role.inspector, Role.supervision_office,
           Role.business_environment, Role.leader)


async def bus_of(request: Request) -> MessageBus[Sla]:
    """The service's message bus (async so FastAPI does not hop to a thread for it)."""
    bus: MessageBus[Sla] = request.app.state.bus
    return bus


async def sla_of(request: Request) -> Sla:
    """The service's context, for queries."""
    sla: Sla = request.app.state.sla
    return sla


Bus = Annotated[MessageBus[Sla], Depends(bus_of)]
SlaDep = Annotated[Sla, Depends(sla_of)]
Reader = Annotated[Principal, Depends(require(*READERS))]
AnyCaller = Annotated[Principal, Depends(require())]
UnitCaller = Annotated[Principal, Depends(require(Role.unit))]
WorkTeam = Annotated[Principal, Depends(require(Role.work_team))]
UnitOrWorkTeam = Annotated[Principal, Depends(require(Role.unit, Role.work_team))]


class DayIn(BaseModel):
    """One dated entry of a calendar."""

    model_config = ConfigDict(extra="forbid")
    date: str = Field(description="YYYY-MM-DD")
    name: str = Field("", max_length=200)


class CalendarIn(BaseModel):
    """A year's statutory holidays and make-up working days (调休上班)."""

    model_config = ConfigDict(extra="forbid")
    year: int | None = Field(None, description="optional; must equal the year in the path")
    holidays: list[DayIn] = Field(default_factory=list, max_length=366)
    workdays: list[DayIn] = Field(default_factory=list, max_length=366)


class ExtensionIn(BaseModel):
    """An extension request."""

    model_config = ConfigDict(extra="forbid")
    days: int = Field(description="working days, 1..5 (setting)")
    reason: str = Field(min_length=2, max_length=2000)


class DecisionIn(BaseModel):
    """The work team's ruling."""

    model_config = ConfigDict(extra="forbid")
    approved: bool
    reason: str = Field("", max_length=2000)


class ReasonIn(BaseModel):
    """A reason for a pause or a resume."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=2, max_length=2000)


class ResumeIn(BaseModel):
    """An optional note on resuming."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field("", max_length=2000)


class TimeIn(BaseModel):
    """The simulated time to set."""

    model_config = ConfigDict(extra="forbid")
    now: datetime = Field(description="with an offset, e.g. 2026-10-08T09:00:00+08:00")
    running: bool = Field(False, description="false: frozen at `now`; true: runs on from `now`")


@router.get("/clocks", tags=["clocks"],
            summary="时限列表（可筛选被标记的）/ List clocks (flagged ones for the operators)",
            description="按单位、状态、是否被标记（日历未覆盖年份，时限未计算）筛选，分页。单位密钥只看本单位。\n\n"
            "Clocks filtered by unit, state and `flagged` (a needed calendar year is unknown: no deadline was "
            "guessed), paginated. A unit key sees only its own unit.")
async def list_clocks(
    sla: SlaDep, who: Reader,
    flagged: bool | None = None, unit: str | None = None,
    state: Literal["running", "paused", "resolved", "answered", "transferred", "closed", "returned",
                   "superseded"] | None = None,
    limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0),
) -> dict[str, Any]:
    return await queries.list_clocks(sla, who, flagged=flagged, unit=unit, state=state, limit=limit, offset=offset)


@router.get("/clocks/flagged", tags=["clocks"], summary="被标记的时限 / Flagged clocks",
            description="日历未覆盖所需年份、时限无法计算的在办时限；载入该年日历后自动重算。\n\n"
            "Running clocks whose deadline could not be computed because the calendar lacks a year; they are "
            "computed again when that year is loaded.")
async def list_flagged(
    sla: SlaDep, who: Reader, limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0),
) -> dict[str, Any]:
    return await queries.list_clocks(sla, who, flagged=True, unit=None, state=None, limit=limit, offset=offset)


@router.get("/clocks/{ticket_no}", tags=["clocks"],
            summary="工单时限与预警 / A ticket's clocks, deadlines and alert level",
            description="每一轮的签收时限、办理时限、紧急起始时间、当前预警等级、所用日历版本、延期与暂停记录、"
            "待触发的节点，以及通俗说明（跳过了哪些节假日、计入了哪些调休工作日）。\n\n"
            "Every round's acceptance and resolution deadlines, when `urgent` starts, the alert level, the calendar "
            "version used, extensions, pauses, pending transitions and a plain-words explanation.")
async def get_clock(ticket_no: str, sla: SlaDep, who: Reader) -> dict[str, Any]:
    return await queries.get_clock(sla, ticket_no, who)


@router.post("/clocks/{ticket_no}/extension-requests", status_code=201, tags=["clocks"],
             summary="申请延期 / Ask for an extension",
             description="承办单位在办理时限前申请延期（每轮一次，1 至 5 个工作日），由工作专班审批。\n\n"
             "The unit asks, before the deadline, for 1..5 more working days; once per ticket and round; the work "
             "team rules.")
async def request_extension(ticket_no: str, body: ExtensionIn, bus: Bus, who: UnitCaller,
                            corr: CorrelationId) -> dict[str, Any]:
    row: dict[str, Any] = await bus.handle(RequestExtension(actor=who, ticket_no=ticket_no, days=body.days,
                                                            reason=body.reason, correlation_id=corr))
    return row


@router.post("/clocks/{ticket_no}/extension-requests/{request_id}/decision", tags=["clocks"],
             summary="审批延期 / Rule on an extension request",
             description="工作专班批准或驳回；批准后办理时限与待触发的预警随之顺延。\n\n"
             "The work team approves or rejects; when approved the deadline and the pending alerts move.")
async def decide_extension(ticket_no: str, request_id: str, body: DecisionIn, bus: Bus, who: WorkTeam,
                           corr: CorrelationId) -> dict[str, Any]:
    ruling: dict[str, Any] = await bus.handle(DecideExtension(
        actor=who, ticket_no=ticket_no, request_id=request_id, approved=body.approved, reason=body.reason,
        correlation_id=corr))
    return ruling


@router.post("/clocks/{ticket_no}/pause", tags=["clocks"], summary="暂停计时 / Pause the clock",
             description="因等待当事人补充材料等原因暂停办理时限；暂停期间（暂停日之后至恢复日，按整工作日）不计入。\n\n"
             "Pause the resolution clock for a reason (e.g. waiting for material); the working days in "
             "(pause date, resume date] are not counted.")
async def pause(ticket_no: str, body: ReasonIn, bus: Bus, who: UnitOrWorkTeam, corr: CorrelationId) -> dict[str, Any]:
    await bus.handle(PauseClock(actor=who, ticket_no=ticket_no, reason=body.reason, correlation_id=corr))
    return await queries.get_clock(bus.ctx, ticket_no, who)


@router.post("/clocks/{ticket_no}/resume", tags=["clocks"], summary="恢复计时 / Resume the clock",
             description="恢复已暂停的时限，办理时限顺延暂停的工作日数。\n\n"
             "Resume a paused clock; the deadline moves by the paused working days.")
async def resume(ticket_no: str, bus: Bus, who: UnitOrWorkTeam, corr: CorrelationId,
                 body: ResumeIn | None = None) -> dict[str, Any]:
    await bus.handle(ResumeClock(actor=who, ticket_no=ticket_no, reason=body.reason if body else "",
                                 correlation_id=corr))
    return await queries.get_clock(bus.ctx, ticket_no, who)


@router.get("/alerts", tags=["alerts"], summary="预警列表 / Alerts",
            description="按等级、单位、行政区划前缀、是否未关闭筛选，分页，最新在前。单位密钥只看本单位。\n\n"
            "Alerts filtered by level, unit, region code prefix and open only; newest first; paginated. A unit "
            "key sees only its own unit.")
async def list_alerts(
    sla: SlaDep, who: Reader,
    level: Literal["reported", "warning", "urgent", "alarm"] | None = None, unit: str | None = None,
    region: str | None = Query(None, pattern=r"^[0-9A-Za-z]{1,32}$", description="region code prefix"),
    open_only: bool = False, ticket_no: str | None = None,
    limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0),
) -> dict[str, Any]:
    return await queries.list_alerts(sla, who, level=level, unit=unit, region=region, open_only=open_only,
                                     ticket_no=ticket_no, limit=limit, offset=offset)


@router.get("/calendars", tags=["calendars"], summary="已知年份的日历 / Known calendar years",
            description="每年的现行版本号，以及按连续年份划分的日历版本标识。\n\n"
            "The version in force of each known year and the calendar version ids of the contiguous runs.")
async def list_calendars(sla: SlaDep, _who: AnyCaller) -> dict[str, Any]:
    return await queries.list_calendars(sla)


@router.get("/calendars/{year}", tags=["calendars"], summary="某年日历 / A year's calendar",
            description="法定节假日与调休上班日、现行版本及历史版本。\n\n"
            "Statutory holidays and make-up working days, the version in force and the version history.")
async def get_calendar(year: int, sla: SlaDep, _who: AnyCaller,
                       version: int | None = Query(None, ge=1)) -> dict[str, Any]:
    return await queries.get_calendar(sla, year, version)


@router.put("/calendars/{year}", tags=["calendars"], summary="载入或修订某年日历 / Load or amend a year's calendar",
            description="国务院公布次年放假安排后载入；校验日期格式、年份、重复与冲突；每次修改生成新版本；"
            "因缺该年而被标记的时限随即重算。\n\n"
            "Load a year when the State Council publishes it: dates are checked (format, year, duplicates, overlaps); "
            "each change makes a new version; clocks flagged for lack of the year are computed at once.")
async def put_calendar(year: int, body: CalendarIn, bus: Bus, who: WorkTeam, corr: CorrelationId) -> dict[str, Any]:
    if body.year is not None and body.year != year:
        raise Problem(422, f"year: body says {body.year} but the path says {year}", type_="invalid-calendar",
                      errors=[{"field": "year", "message": f"must be {year}"}])
    loaded: dict[str, Any] = await bus.handle(LoadCalendarYear(
        actor=who, year=year, holidays=[d.model_dump() for d in body.holidays],
        workdays=[d.model_dump() for d in body.workdays], correlation_id=corr))
    return loaded


@router.get("/clock", tags=["time"], summary="服务当前时间 / The service's current time",
            description="返回服务使用的当前时间及是否为模拟时间。\n\n"
            "The time the service uses and whether it is simulated.")
async def get_time(sla: SlaDep, _who: AnyCaller) -> dict[str, Any]:
    return queries.time_view(sla)


@router.put("/clock", tags=["time"], summary="设置模拟时间 / Set the simulated time",
            description="仅当 SLA_SIMULATED_TIME_ALLOWED 开启时可用（否则 403）；设置后立即触发已到期的节点。\n\n"
            "Only when SLA_SIMULATED_TIME_ALLOWED is on (403 otherwise); what fell due fires at once.")
async def put_time(body: TimeIn, bus: Bus, _who: WorkTeam) -> dict[str, Any]:
    return await _set_time(bus, body.now, body.running)


@router.delete("/clock", tags=["time"], summary="恢复真实时间 / Back to real time",
               description="清除模拟时间。\n\nClear the simulated time.")
async def delete_time(bus: Bus, _who: WorkTeam) -> dict[str, Any]:
    return await _set_time(bus, None, False)


async def _set_time(bus: Bus, now: datetime | None, running: bool) -> dict[str, Any]:
    """Set the time, then fire at once what fell due."""
    await bus.handle(SetSimulatedTime(now=now, running=running))
    fired = await run_until_idle(bus)
    return {**queries.time_view(bus.ctx), "fired": fired}
