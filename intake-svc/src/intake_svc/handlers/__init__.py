"""Every command intake handles and every event it consumes: load (adapters) → decide (domain) → save and emit.

The one map of the service is at the bottom: COMMANDS (API actions) and EVENTS (every event about a ticket, from
the four topics: each feeds the timeline, callbacks to subscribers and the SMS of the alert ladder).
"""

from __future__ import annotations

from bancheng_shared.contracts.envelope import EventEnvelope, EventPayload
from bancheng_shared.contracts.oversight import HotspotHandedDown
from bancheng_shared.messagebus import Command, CommandHandler, EventHandler
from bancheng_shared.unit_of_work import UnitOfWork
from intake_svc.context import Intake
from intake_svc.domain.commands import (
    AddFollowUp,
    CreateSubscription,
    DeleteSubscription,
    LookUpTicket,
    MergeTicket,
    ReceivePlatformItem,
    RegisterBatch,
    RegisterPlatform,
    RegisterTicket,
    RejectPossibleRepeat,
    ReplayDelivery,
    UnmergeRequest,
    UpdateSubscription,
    ViewTicket,
)
from intake_svc.domain.timeline import FOLLOWED
from intake_svc.handlers.hand_down import hand_downs_first, on_hotspot_handed_down
from intake_svc.handlers.lookup import look_up_ticket
from intake_svc.handlers.platforms import (
    create_subscription,
    delete_subscription,
    register_platform,
    replay_delivery,
    update_subscription,
)
from intake_svc.handlers.remerge import merge_ticket, reject_possible_repeat, unmerge_request
from intake_svc.handlers.tickets import (
    add_follow_up,
    receive_platform_item,
    register_batch,
    register_ticket,
    view_ticket,
)
from intake_svc.handlers.timeline import on_ticket_event, project_batch

__all__ = ["COMMANDS", "EVENTS", "consume_batch", "project_batch"]

COMMANDS: dict[type[Command], CommandHandler] = {
    RegisterTicket: register_ticket,
    RegisterBatch: register_batch,
    ReceivePlatformItem: receive_platform_item,
    ViewTicket: view_ticket,
    AddFollowUp: add_follow_up,
    LookUpTicket: look_up_ticket,
    RegisterPlatform: register_platform,
    CreateSubscription: create_subscription,
    UpdateSubscription: update_subscription,
    DeleteSubscription: delete_subscription,
    ReplayDelivery: replay_delivery,
    MergeTicket: merge_ticket,
    UnmergeRequest: unmerge_request,
    RejectPossibleRepeat: reject_possible_repeat,
}
# Every contract of the four topics except sla's CalendarYearLoaded (about the calendar, not a ticket): see
# domain.timeline.FOLLOWED. One handler: what each event does is decided by the domain (timeline, sms, callbacks).
EVENTS: dict[type[EventPayload], EventHandler] = dict.fromkeys(FOLLOWED, on_ticket_event)
EVENTS[HotspotHandedDown] = on_hotspot_handed_down  # oversight hands a hotspot down: a new ticket


async def consume_batch(envs: list[EventEnvelope], uow: UnitOfWork, ctx: Intake) -> None:
    """A consumer batch: hotspots handed down registered one by one, the rest projected at once."""
    rest = await hand_downs_first(envs, uow, ctx)
    if rest:
        await project_batch(rest, uow, ctx)
