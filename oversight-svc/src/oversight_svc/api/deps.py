"""Route dependencies as `Annotated` aliases: the bus, the context, the runtime, the caller by role."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from pydantic import BaseModel, ConfigDict

from bancheng_shared.app import CorrelationId, RuntimeDep
from bancheng_shared.auth import Principal, Role, require
from bancheng_shared.messagebus import MessageBus
from oversight_svc.context import Oversight

__all__ = [
    "AccountabilityReader",
    "Body",
    "Bus",
    "CaseReader",
    "CaseWriter",
    "CopyReader",
    "CorrelationId",
    "Ctx",
    "Publisher",
    "ReportReader",
    "RuntimeDep",
    "StatsReader",
    "UnitKey",
    "VisitReader",
    "Visitor",
]

STATS_ROLES = (Role.leader, Role.inspector, Role.supervision_office, Role.business_environment, Role.work_team,
               Role.unit)
CASE_READERS = (Role.inspector, Role.supervision_office, Role.business_environment, Role.unit)
CASE_WRITERS = (Role.inspector, Role.supervision_office)
VISITORS = (Role.work_team, Role.inspector, Role.supervision_office)
REPORT_ROLES = (Role.leader, Role.inspector, Role.supervision_office, Role.business_environment, Role.work_team)
COPY_READERS = (Role.business_environment, Role.supervision_office, Role.inspector, Role.leader)


async def bus_of(request: Request) -> MessageBus[Oversight]:
    """The service's message bus (set up in main)."""
    bus: MessageBus[Oversight] = request.app.state.bus
    return bus


async def context_of(request: Request) -> Oversight:
    """The service's context (settings, calendar, policy)."""
    ox: Oversight = request.app.state.bus.ctx
    return ox


class Body(BaseModel):
    """Request bodies refuse unknown fields."""

    model_config = ConfigDict(extra="forbid")


Bus = Annotated[MessageBus[Oversight], Depends(bus_of)]
Ctx = Annotated[Oversight, Depends(context_of)]
StatsReader = Annotated[Principal, Depends(require(*STATS_ROLES))]
ReportReader = Annotated[Principal, Depends(require(*REPORT_ROLES))]
CopyReader = Annotated[Principal, Depends(require(*COPY_READERS))]
CaseReader = Annotated[Principal, Depends(require(*CASE_READERS))]
CaseWriter = Annotated[Principal, Depends(require(*CASE_WRITERS))]
Publisher = Annotated[Principal, Depends(require(Role.supervision_office, Role.inspector))]
UnitKey = Annotated[Principal, Depends(require(Role.unit))]
Visitor = Annotated[Principal, Depends(require(*VISITORS))]
VisitReader = Annotated[Principal, Depends(require(*VISITORS, Role.unit, Role.leader))]
AccountabilityReader = Annotated[Principal, Depends(require(*CASE_READERS, Role.leader))]
