"""sla's handlers, one map: every command callers give it and every event it consumes."""

from bancheng_shared.contracts.triage import (
    ResolutionSubmitted,
    ReturnDecided,
    ReturnRequested,
    TicketAnswered,
    TicketClosed,
    TicketDispatched,
    TicketReopened,
    TicketSigned,
    TicketTransferred,
    TicketTriaged,
)
from bancheng_shared.messagebus import BatchEventHandler, CommandHandler, EventHandler
from sla_svc.domain.commands import (
    DecideExtension,
    DecidePause,
    FireDueTransitions,
    LoadCalendarYear,
    PauseClock,
    RequestExtension,
    RequestPause,
    ResumeClock,
    SeedCalendars,
    SetSimulatedTime,
)
from sla_svc.handlers import calendars, clocks, pauses, requests, scheduler

COMMANDS: dict[type, CommandHandler] = {
    RequestExtension: requests.request_extension,
    DecideExtension: requests.decide_extension,
    RequestPause: pauses.request_pause,
    DecidePause: pauses.decide_pause,
    PauseClock: pauses.pause,
    ResumeClock: pauses.resume,
    LoadCalendarYear: calendars.load_year,
    SeedCalendars: calendars.seed,
    FireDueTransitions: scheduler.fire_due,
    SetSimulatedTime: scheduler.set_time,
}

EVENTS: dict[type, EventHandler] = {
    TicketTriaged: clocks.on_triaged,
    TicketDispatched: clocks.on_dispatched,
    TicketReopened: clocks.on_reopened,
    TicketSigned: clocks.on_signed,
    ReturnRequested: clocks.on_return_requested,
    ReturnDecided: clocks.on_return_decided,
    ResolutionSubmitted: clocks.on_resolution,
    TicketAnswered: clocks.on_answered,
    TicketTransferred: clocks.on_transferred,
    TicketClosed: clocks.on_closed,
}
# a work order's first events (triaged, dispatched) come ticket after ticket: a consumer batch's run of them starts
# the new clocks together (one statement per table, not per ticket)
RUNS: dict[type, BatchEventHandler] = {TicketTriaged: clocks.on_starts, TicketDispatched: clocks.on_starts}
