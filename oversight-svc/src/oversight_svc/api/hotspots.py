"""Hotspots (frequent common problems) and the public disclosure feed."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import Field

from bancheng_shared.contracts.limits import Content, Name, Title, UnitCode
from oversight_svc import queries
from oversight_svc.api.deps import Body, Bus, CaseWriter, CorrelationId, Id, Offset, ReportReader, RuntimeDep
from oversight_svc.api.models import Case, Disclosure, Hotspot
from oversight_svc.domain.commands import DetectHotspots, OpenHotspotCase

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


@public.get("/disclosures", response_model=list[Disclosure], summary="督查回声（公开）/ Published outcomes (public)",
            description="无需凭证。已办结并选定公开的督办结果，已去除个人信息。\n\n"
            "No credential. Concluded cases chosen "
            "for publication, stripped of personal data.")
async def disclosures(rt: RuntimeDep, limit: int = Query(50, ge=1, le=500),
                      offset: Offset = 0) -> list[dict[str, Any]]:
    return await queries.list_disclosures(rt, limit, offset)
