"""oversight hands a hotspot down: intake registers the work order (channel `hotspot`), once per hotspot."""

from __future__ import annotations

from collections.abc import Callable

from bancheng_shared.contracts.envelope import EventEnvelope, parse_payload
from bancheng_shared.contracts.oversight import HotspotHandedDown
from bancheng_shared.unit_of_work import UnitOfWork
from intake_svc.adapters import hand_down as registered
from intake_svc.context import Intake
from intake_svc.domain import hand_down
from intake_svc.models import TicketCreate

HANDED_DOWN: str = HotspotHandedDown.__event_type__  # type: ignore[attr-defined]


async def on_hotspot_handed_down(event: HotspotHandedDown, uow: UnitOfWork, ctx: Intake) -> None:
    """Register the hotspot's work order as any ticket (TicketReceived → triage); a hotspot registered before (a
    copy under a new event id) is not registered again."""
    body = TicketCreate.model_validate(hand_down.request_of(event))
    done = await registered.register(ctx.registrar, uow, body, caller=hand_down.CENTRE, source=hand_down.SOURCE,
                                     routing=hand_down.routing_of(event), now=uow.now())
    if done is not None:
        uow.after_commit(done[1])  # the merge index learns the ticket once it is stored


async def hand_downs_first(envs: list[EventEnvelope], uow: UnitOfWork, ctx: Intake) -> list[EventEnvelope]:
    """Register a consumer batch's hand-downs one by one, each as the cause of its ticket's events; the others
    are returned for the timeline's projection."""
    rest: list[EventEnvelope] = []
    for env in envs:
        if env.type != HANDED_DOWN:
            rest.append(env)
            continue
        after: list[Callable[[], None]] = []
        async with UnitOfWork.bound(uow.rt, uow.session, cause=env, after=after) as one:
            await on_hotspot_handed_down(parse_payload(env, HotspotHandedDown), one, ctx)
        for fn in after:
            uow.after_commit(fn)
    return rest
