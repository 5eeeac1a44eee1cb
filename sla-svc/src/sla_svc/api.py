"""sla HTTP routes (thin: validate, check the role, then a command through the bus or a query)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from bancheng_shared.app import CorrelationId
from bancheng_shared.auth import Principal, Role, require
from bancheng_shared.contracts.limits import TicketNo, UnitCode
from bancheng_shared.errors import Problem
from bancheng_shared.messagebus import MessageBus
from sla_svc import queries
from sla_svc.context import Sla
from sla_svc.domain.commands import (
    DecideExtension,
    DecidePause,
    LoadCalendarYear,
    PauseClock,
    RequestExtension,
    RequestPause,
    ResumeClock,
    SetSimulatedTime,
)
from sla_svc.handlers.scheduler import run_until_idle
from sla_svc.models import (
    AlertLevelName,
    Alerts,
    CalendarIn,
    CalendarList,
    CalendarLoaded,
    CalendarYearView,
    Clocks,
    DecisionIn,
    ExtensionIn,
    ExtensionRequest,
    ExtensionRequests,
    ExtensionRuling,
    PauseDecisionIn,
    PauseIn,
    PauseRequest,
    PauseRequestIn,
    PauseRequests,
    RequestId,
    RequestState,
    ResumeIn,
    ServiceTime,
    TicketClocks,
    TicketState,
    TimeIn,
    TimeSet,
)

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
# bounds of every integer a caller sends in a path or a query (no value reaches the database unchecked)
MAX_OFFSET = 10_000_000
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description=f"0..{MAX_OFFSET:_}")]
Limit = Annotated[int, Query(ge=1, le=500)]
Year = Annotated[int, Path(ge=1, le=9999, description="a calendar year, e.g. 2027")]


@router.get("/clocks", tags=["clocks"], response_model=Clocks, response_model_exclude_unset=True,
            summary="时限列表（可筛选被标记的）/ List clocks (flagged ones for the operators)",
            description="按单位、状态、是否被标记（日历未覆盖年份，时限未计算）筛选，分页。单位密钥只看本单位。\n\n"
            "Clocks filtered by unit, state and `flagged` (a needed calendar year is unknown: no deadline was "
            "guessed), paginated. A unit key sees only its own unit.")
async def list_clocks(
    sla: SlaDep, who: Reader,
    flagged: bool | None = None, unit: UnitCode | None = None, state: TicketState | None = None,
    limit: Limit = 50, offset: Offset = 0,
) -> dict[str, Any]:
    return await queries.list_clocks(sla, who, flagged=flagged, unit=unit, state=state, limit=limit, offset=offset)


@router.get("/clocks/flagged", tags=["clocks"], response_model=Clocks, response_model_exclude_unset=True,
            summary="被标记的时限 / Flagged clocks",
            description="日历未覆盖所需年份、时限无法计算的在办时限；载入该年日历后自动重算。\n\n"
            "Running clocks whose deadline could not be computed because the calendar lacks a year; they are "
            "computed again when that year is loaded.")
async def list_flagged(sla: SlaDep, who: Reader, limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
    return await queries.list_clocks(sla, who, flagged=True, unit=None, state=None, limit=limit, offset=offset)


@router.get("/clocks/{ticket_no}", tags=["clocks"], response_model=TicketClocks, response_model_exclude_unset=True,
            summary="工单时限与预警 / A ticket's clocks, deadlines and alert level",
            description="每一轮的签收时限、办理时限、紧急起始时间、当前预警等级、所用日历版本、延期与暂停记录、"
            "待触发的节点，以及通俗说明（跳过了哪些节假日、计入了哪些调休工作日）。\n\n"
            "Every round's acceptance and resolution deadlines, when `urgent` starts, the alert level, the calendar "
            "version used, extensions, pauses and pause requests, pending transitions and a plain-words explanation.")
async def get_clock(ticket_no: TicketNo, sla: SlaDep, who: Reader) -> dict[str, Any]:
    return await queries.get_clock(sla, ticket_no, who)


@router.post("/clocks/{ticket_no}/extension-requests", status_code=201, tags=["clocks"],
             response_model=ExtensionRequest, response_model_exclude_unset=True,
             summary="申请延期 / Ask for an extension",
             description="承办单位在办理时限前申请延期（每轮一次，1 至 5 个工作日），由工作专班审批。\n\n"
             "The unit asks, before the deadline, for 1..5 more working days; once per ticket and round; the work "
             "team rules.")
async def request_extension(ticket_no: TicketNo, body: ExtensionIn, bus: Bus, who: UnitCaller,
                            corr: CorrelationId) -> dict[str, Any]:
    row: dict[str, Any] = await bus.handle(RequestExtension(actor=who, ticket_no=ticket_no, days=body.days,
                                                            reason=body.reason, correlation_id=corr))
    return row


@router.post("/clocks/{ticket_no}/extension-requests/{request_id}/decision", tags=["clocks"],
             response_model=ExtensionRuling,
             summary="审批延期 / Rule on an extension request",
             description="工作专班批准或驳回；批准后办理时限与待触发的预警随之顺延。\n\n"
             "The work team approves or rejects; when approved the deadline and the pending alerts move.")
async def decide_extension(ticket_no: TicketNo, request_id: RequestId, body: DecisionIn, bus: Bus, who: WorkTeam,
                           corr: CorrelationId) -> dict[str, Any]:
    ruling: dict[str, Any] = await bus.handle(DecideExtension(
        actor=who, ticket_no=ticket_no, request_id=request_id, approved=body.approved, reason=body.reason,
        correlation_id=corr))
    return ruling


@router.post("/clocks/{ticket_no}/pause-requests", status_code=201, tags=["clocks"],
             response_model=PauseRequest, response_model_exclude_unset=True,
             summary="申请暂停计时 / Ask for a pause",
             description="承办单位因等待当事人补充材料等原因申请暂停办理时限（说明理由与工作日数），由工作专班审批。"
             "每轮至多暂停 1 次、累计 10 个工作日（可配置）；同一轮同时只能有一个待审批的申请。\n\n"
             "The unit asks to pause its resolution clock (reason, working days), e.g. while waiting for the "
             "person's material; the work team rules. Per round at most 1 pause and 10 paused working days "
             "(settings); one request at a time waits for a ruling.")
async def request_pause(ticket_no: TicketNo, body: PauseRequestIn, bus: Bus, who: UnitCaller,
                        corr: CorrelationId) -> dict[str, Any]:
    row: dict[str, Any] = await bus.handle(RequestPause(actor=who, ticket_no=ticket_no, days=body.days,
                                                        reason=body.reason, correlation_id=corr))
    return row


@router.post("/clocks/{ticket_no}/pause-requests/{request_id}/decision", tags=["clocks"],
             response_model=PauseRequest,
             summary="审批暂停申请 / Rule on a pause request",
             description="工作专班批准（可批准更少的工作日）或驳回；批准即自批准时起暂停，期满自动恢复计时。\n\n"
             "The work team approves (possibly fewer working days) or rejects; approved pauses the clock from now "
             "and it resumes by itself when the days are up.")
async def decide_pause(ticket_no: TicketNo, request_id: RequestId, body: PauseDecisionIn, bus: Bus, who: WorkTeam,
                       corr: CorrelationId) -> dict[str, Any]:
    ruling: dict[str, Any] = await bus.handle(DecidePause(
        actor=who, ticket_no=ticket_no, request_id=request_id, approved=body.approved, reason=body.reason,
        days=body.days, correlation_id=corr))
    return ruling


@router.get("/pause-requests", tags=["clocks"], response_model=PauseRequests, response_model_exclude_unset=True,
            summary="暂停申请列表 / Pause requests",
            description="按状态（待审批 pending 即工作专班的待办）、单位、工单筛选，分页，最早在前。"
            "单位密钥只看本单位。\n\n"
            "Pause requests filtered by state (`pending`: the work team's to rule on), unit and ticket; oldest first; "
            "paginated. A unit key sees only its own unit.")
async def list_pause_requests(
    sla: SlaDep, who: Reader, state: RequestState | None = None, unit: UnitCode | None = None,
    ticket_no: TicketNo | None = None, limit: Limit = 50, offset: Offset = 0,
) -> dict[str, Any]:
    return await queries.list_pause_requests(sla, who, state=state, unit=unit, ticket_no=ticket_no, limit=limit,
                                             offset=offset)


@router.get("/extension-requests", tags=["clocks"], response_model=ExtensionRequests,
            response_model_exclude_unset=True, summary="延期申请列表 / Extension requests",
            description="按状态（待审批 pending 即工作专班的待办）、单位、工单筛选，分页，最早在前。"
            "单位密钥只看本单位。\n\n"
            "Extension requests filtered by state (`pending`: the work team's to rule on), unit and ticket; oldest "
            "first; paginated. A unit key sees only its own unit.")
async def list_extension_requests(
    sla: SlaDep, who: Reader, state: RequestState | None = None, unit: UnitCode | None = None,
    ticket_no: TicketNo | None = None, limit: Limit = 50, offset: Offset = 0,
) -> dict[str, Any]:
    return await queries.list_extension_requests(sla, who, state=state, unit=unit, ticket_no=ticket_no,
                                                 limit=limit, offset=offset)


async def _pauser(who: AnyCaller) -> Principal:
    """The work team pauses a clock itself; a unit asks for a pause instead."""
    if who.role not in (Role.work_team, Role.admin):
        hint = (" a unit asks for a pause: POST /v1/clocks/{ticket_no}/pause-requests"
                if who.role == Role.unit else "")
        raise Problem(403, f"role {who.role.value!r} may not pause a clock; allowed: work_team;{hint}",
                      type_="forbidden")
    return who


@router.post("/clocks/{ticket_no}/pause", tags=["clocks"], response_model=TicketClocks,
             response_model_exclude_unset=True, summary="暂停计时（工作专班）/ Pause the clock (work team)",
             description="工作专班直接暂停办理时限（说明理由与工作日数，受每轮次数与天数上限约束），期满自动恢复；"
             "暂停期间（暂停日之后至恢复日，按整工作日）不计入。承办单位请用暂停申请。\n\n"
             "The work team pauses the resolution clock itself (reason and working days, within the round's limits); "
             "it resumes by itself when the days are up; the working days in (pause date, resume date] are not "
             "counted. A unit asks with a pause request instead.")
async def pause(ticket_no: TicketNo, body: PauseIn, bus: Bus, who: Annotated[Principal, Depends(_pauser)],
                corr: CorrelationId) -> dict[str, Any]:
    await bus.handle(PauseClock(actor=who, ticket_no=ticket_no, days=body.days, reason=body.reason,
                                correlation_id=corr))
    return await queries.get_clock(bus.ctx, ticket_no, who)


@router.post("/clocks/{ticket_no}/resume", tags=["clocks"], response_model=TicketClocks,
             response_model_exclude_unset=True, summary="恢复计时 / Resume the clock",
             description="提前恢复已暂停的时限（承办单位或工作专班），办理时限顺延暂停的工作日数。\n\n"
             "Resume a paused clock before its pause is up (the unit or the work team); the deadline moves by the "
             "paused working days.")
async def resume(ticket_no: TicketNo, bus: Bus, who: UnitOrWorkTeam, corr: CorrelationId,
                 body: ResumeIn | None = None) -> dict[str, Any]:
    await bus.handle(ResumeClock(actor=who, ticket_no=ticket_no, reason=body.reason if body else "",
                                 correlation_id=corr))
    return await queries.get_clock(bus.ctx, ticket_no, who)


@router.get("/alerts", tags=["alerts"], response_model=Alerts, summary="预警列表 / Alerts",
            description="按等级、单位、行政区划前缀、是否未关闭筛选，分页，最新在前。单位密钥只看本单位。\n\n"
            "Alerts filtered by level, unit, region code prefix and open only; newest first; paginated. A unit "
            "key sees only its own unit.")
async def list_alerts(
    sla: SlaDep, who: Reader,
    level: AlertLevelName | None = None, unit: UnitCode | None = None,
    region: str | None = Query(None, pattern=r"^[0-9A-Za-z]{1,32}$", description="region code prefix"),
    open_only: bool = False, ticket_no: TicketNo | None = None, limit: Limit = 50, offset: Offset = 0,
) -> dict[str, Any]:
    return await queries.list_alerts(sla, who, level=level, unit=unit, region=region, open_only=open_only,
                                     ticket_no=ticket_no, limit=limit, offset=offset)


@router.get("/calendars", tags=["calendars"], response_model=CalendarList,
            summary="已知年份的日历 / Known calendar years",
            description="每年的现行版本号，以及按连续年份划分的日历版本标识。\n\n"
            "The version in force of each known year and the calendar version ids of the contiguous runs.")
async def list_calendars(sla: SlaDep, _who: AnyCaller) -> dict[str, Any]:
    return await queries.list_calendars(sla)


@router.get("/calendars/{year}", tags=["calendars"], response_model=CalendarYearView,
            summary="某年日历 / A year's calendar",
            description="法定节假日与调休上班日、现行版本及历史版本。\n\n"
            "Statutory holidays and make-up working days, the version in force and the version history.")
async def get_calendar(year: Year, sla: SlaDep, _who: AnyCaller,
                       version: int | None = Query(None, ge=1, le=1_000_000)) -> dict[str, Any]:
    return await queries.get_calendar(sla, year, version)


@router.put("/calendars/{year}", tags=["calendars"], response_model=CalendarLoaded, response_model_exclude_unset=True,
            summary="载入或修订某年日历 / Load or amend a year's calendar",
            description="国务院公布次年放假安排后载入；校验日期格式、年份、重复与冲突；没有法定节假日的年份须明确"
            "声明 `no_holidays: true`（演练用），否则拒绝；每次修改生成新版本；因缺该年而被标记的时限随即重算。\n\n"
            "Load a year when the State Council publishes it: dates are checked (format, year, duplicates, overlaps); "
            "a year without statutory holidays is refused unless `no_holidays: true` says so on purpose (drills); "
            "each change makes a new version; clocks flagged for lack of the year are computed at once.")
async def put_calendar(year: Year, body: CalendarIn, bus: Bus, who: WorkTeam, corr: CorrelationId) -> dict[str, Any]:
    if body.year is not None and body.year != year:
        raise Problem(422, f"year: body says {body.year} but the path says {year}", type_="invalid-calendar",
                      errors=[{"field": "year", "message": f"must be {year}"}])
    loaded: dict[str, Any] = await bus.handle(LoadCalendarYear(
        actor=who, year=year, holidays=[d.model_dump() for d in body.holidays],
        workdays=[d.model_dump() for d in body.workdays], no_holidays=body.no_holidays, correlation_id=corr))
    return loaded


@router.get("/clock", tags=["time"], response_model=ServiceTime,
            summary="服务当前时间 / The service's current time",
            description="返回服务使用的当前时间及是否为模拟时间。\n\n"
            "The time the service uses and whether it is simulated.")
async def get_time(sla: SlaDep, _who: AnyCaller) -> dict[str, Any]:
    return queries.time_view(sla)


@router.put("/clock", tags=["time"], response_model=TimeSet, summary="设置模拟时间 / Set the simulated time",
            description="仅当 SLA_SIMULATED_TIME_ALLOWED 开启时可用（否则 409）；时间须在 1949 至 2200 年之间；"
            "设置后立即触发已到期的节点。\n\n"
            "Only when SLA_SIMULATED_TIME_ALLOWED is on (409 otherwise); years 1949..2200; what fell due fires at "
            "once.")
async def put_time(body: TimeIn, bus: Bus, _who: WorkTeam) -> dict[str, Any]:
    return await _set_time(bus, body.now, body.running)


@router.delete("/clock", tags=["time"], response_model=TimeSet, summary="恢复真实时间 / Back to real time",
               description="清除模拟时间（未开启模拟时间时即为真实时间，照常应答）。\n\n"
               "Clear the simulated time (without simulated time allowed, real time is in force already).")
async def delete_time(bus: Bus, _who: WorkTeam) -> dict[str, Any]:
    return await _set_time(bus, None, False)


async def _set_time(bus: Bus, now: datetime | None, running: bool) -> dict[str, Any]:
    """Set the time, then fire at once what fell due."""
    await bus.handle(SetSimulatedTime(now=now, running=running))
    fired = await run_until_idle(bus)
    return {**queries.time_view(bus.ctx), "fired": fired}
