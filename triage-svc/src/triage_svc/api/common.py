"""What triage's routes share: the bus and the context, who may call (role aliases), bounded path and query
parameters (an absurd number or a control character is a 422 naming the parameter, never a 500)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request

from bancheng_shared.auth import Principal, Role, require
from bancheng_shared.contracts.limits import RegionCode, TicketNo, UnitCode
from bancheng_shared.messagebus import MessageBus
from triage_svc.context import Triage
from triage_svc.domain.bounds import KIND_MAX
from triage_svc.domain.lifecycle import State

# Roles (DESIGN.md, who uses it): the work team acts on every work order; a unit on its own (lead, co-unit);
# operators answer level-3 matters and look work orders up; discipline inspection, the supervision office and the
# business-environment office read them (red-ticket supervision, overdue tickets, tier copies). Leaders read
# oversight's statistics and reports, frontends and platforms talk to intake: of triage they read only the
# directory, without contact numbers (`domain.directory.sees_contacts`).
READERS = (Role.work_team, Role.unit, Role.inspector, Role.supervision_office, Role.operator,
           Role.business_environment)
DIRECTORY_READERS = (*READERS, Role.frontend, Role.platform, Role.leader)

OFFSET_MAX = 10_000_000  # past any list triage holds; bigger is a 422, not a database overflow
VERSION_MAX = 2_147_483_647  # a catalogue version is a 32-bit integer column


async def bus_of(request: Request) -> MessageBus[Triage]:
    """The service's message bus (built in main.py)."""
    bus: MessageBus[Triage] = request.app.state.bus
    return bus


async def context_of(request: Request) -> Triage:
    """The service's context (settings, caches)."""
    bus: MessageBus[Triage] = request.app.state.bus
    return bus.ctx


Bus = Annotated[MessageBus[Triage], Depends(bus_of)]
Context = Annotated[Triage, Depends(context_of)]
Reader = Annotated[Principal, Depends(require(*READERS))]
DirectoryReader = Annotated[Principal, Depends(require(*DIRECTORY_READERS))]
WorkTeam = Annotated[Principal, Depends(require(Role.work_team))]
LeadUnit = Annotated[Principal, Depends(require(Role.unit))]
UnitOrWorkTeam = Annotated[Principal, Depends(require(Role.unit, Role.work_team))]
OperatorOrWorkTeam = Annotated[Principal, Depends(require(Role.operator, Role.work_team))]

TicketNoPath = Annotated[TicketNo, Path(description="工单编号（即诉求件编号）/ the ticket number")]
UnitCodePath = Annotated[UnitCode, Path(description="单位编码 / the unit's code")]
VersionPath = Annotated[int, Path(ge=0, le=VERSION_MAX, description="派单目录版本（0 为默认）/ catalogue version")]
Offset = Annotated[int, Query(ge=0, le=OFFSET_MAX, description="跳过条数 / rows to skip")]
StateFilter = Annotated[State | None, Query(description="工单状态 / state")]
UnitFilter = Annotated[UnitCode | None, Query(description="主办单位 / lead unit (ignored for a unit key)")]
KindFilter = Annotated[str | None, Query(max_length=KIND_MAX, pattern=r"^[A-Za-z0-9_.\-]+$",
                                         description="部门类别 / department kind")]
ParentFilter = Annotated[UnitCode | None, Query(description="上级单位 / parent unit")]
RegionFilter = Annotated[RegionCode | None, Query(description="区划代码（前缀）/ region code (prefix)")]


def work_orders_tag(summary: str, description: str) -> dict[str, Any]:
    """The OpenAPI tag, summary and description of a work-order route."""
    return {"tags": ["work-orders"], "summary": summary, "description": description}
