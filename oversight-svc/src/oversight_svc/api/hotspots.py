"""Hotspots (frequent common problems) and the public disclosure feed."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import Field

from bancheng_shared.contracts.limits import Content, Name, Title, UnitCode
from oversight_svc import queries
from oversight_svc.api.deps import Body, Bus, CaseWriter, CorrelationId, Id, Offset, ReportReader, RuntimeDep
from oversight_svc.api.models import Case, Disclosure, Hotspot, HotspotOrder
from oversight_svc.domain.commands import DetectHotspots, HandDownHotspot, OpenHotspotCase

router = APIRouter()
public = APIRouter(prefix="/v1", tags=["public"])
HotspotId = Annotated[Id, Path(description="热点编号 / hotspot id (HS-…)")]


class HotspotCaseIn(Body):
    """A case for a hotspot: its title and summary (default: the hotspot's), the units responsible."""

    title: Title | None = Field(None, min_length=2)
    summary: Content | None = None
    units: list[UnitCode] = Field(default_factory=list, max_length=50,
                                  description="e.g. the city department responsible")


@router.get("/hotspots", tags=["hotspots"], response_model=list[Hotspot], summary="高频共性问题 / Hotspots",
            description="同类事项（部门类别+诉求类别+文本相似）在多个街道/区县于时间窗内出现，列出其工单。\n\n"
            "Same kind of matter (department kind + category + similar text) in several places within a window, "
            "with its tickets.")
async def list_hotspots(bus: Bus, corr: CorrelationId, who: ReportReader,
                        start: date | None = Query(None, alias="from"), end: date | None = Query(None, alias="to"),
                        min_places: int | None = Query(None, ge=2, le=1000),
                        kind: Name | None = None) -> list[dict[str, Any]]:
    # mining keeps what it found, so that a case can be opened for a hotspot: a command, not a query
    return await bus.handle(DetectHotspots(start=start, end=end, min_places=min_places, kind=kind,
                                           correlation_id=corr))


@router.post("/hotspots/{hotspot_id}/case", tags=["hotspots"], status_code=201, response_model=Case,
             response_model_exclude_unset=True,
             summary="热点立案督办 / Open a case for a hotspot",
             description="把面上问题交给负责的市级部门督办，单件仍由属地办理。\n\nHand the systemic problem to the "
             "responsible department as a supervision case; each ticket still goes to its local unit.")
async def hotspot_case(hotspot_id: HotspotId, body: HotspotCaseIn, bus: Bus, corr: CorrelationId,
                       who: CaseWriter) -> dict[str, Any]:
    return await bus.handle(OpenHotspotCase(actor=who, hotspot_id=hotspot_id, title=body.title,
                                            summary=body.summary, units=body.units, correlation_id=corr))


class HandDownIn(Body):
    """The level of the department to hand the hotspot down to (default: OVERSIGHT_HOTSPOT_UNIT_LEVEL)."""

    unit_level: int | None = Field(None, ge=1, le=4, description="1 city (default), 2 district … / 承办单位层级")


@router.post("/hotspots/{hotspot_id}/hand-down", tags=["hotspots"], status_code=201, response_model=HotspotOrder,
             summary="热点交办 / Hand a hotspot down as a work order",
             description="把高频共性问题作为一张工单（渠道 hotspot，诉求人为12345热线中心，"
             "不含任何群众个人信息）交办给该类事项的市级主管部门（或指定层级）：分拨按派单目录选定部门并计时，"
             "与其他工单一样办理；同一热点只能交办一次（409 给出已有工单号）。\n\n"
             "Hand the hotspot down as a work order (channel `hotspot`, the hotline centre asks, no "
             "complainant data) to the department of its kind at the city level (or the level asked): triage names "
             "the department from the catalogue and directory, sla starts its clock, and it runs like any other "
             "ticket. A hotspot is handed down once (409 naming the existing ticket). Publishes HotspotHandedDown.")
async def hand_down(hotspot_id: HotspotId, body: HandDownIn, bus: Bus, corr: CorrelationId,
                    who: CaseWriter) -> dict[str, Any]:
    return await bus.handle(HandDownHotspot(actor=who, hotspot_id=hotspot_id, level=body.unit_level,
                                            correlation_id=corr))


@public.get("/disclosures", response_model=list[Disclosure], summary="督查回声（公开）/ Published outcomes (public)",
            description="无需凭证。已办结并选定公开的督办结果，已去除个人信息。\n\n"
            "No credential. Concluded cases chosen "
            "for publication, stripped of personal data.")
async def disclosures(rt: RuntimeDep, limit: int = Query(50, ge=1, le=500),
                      offset: Offset = 0) -> list[dict[str, Any]]:
    return await queries.list_disclosures(rt, limit, offset)
