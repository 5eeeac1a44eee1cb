"""Route dependencies shared by intake's API modules: the message bus and the service's context."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from bancheng_shared.messagebus import MessageBus
from intake_svc.context import Intake


async def bus_of(request: Request) -> MessageBus[Intake]:
    """The service's message bus (async so FastAPI does not hop to a thread for it)."""
    bus: MessageBus[Intake] = request.app.state.bus
    return bus


async def intake_of(request: Request) -> Intake:
    """The service's context (async so FastAPI does not hop to a thread for it)."""
    ctx: Intake = request.app.state.intake
    return ctx


Bus = Annotated[MessageBus[Intake], Depends(bus_of)]
Ctx = Annotated[Intake, Depends(intake_of)]
