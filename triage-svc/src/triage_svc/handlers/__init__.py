"""triage's handlers: every command (the API's actions) and every consumed event, and the one map of each.

Each handler loads (adapters), decides (domain, pure), saves and emits through its unit of work.
"""

from bancheng_shared.contracts.envelope import EventPayload
from bancheng_shared.contracts.intake import RepeatReceived, RepeatUnmerged, TicketMerged, TicketReceived
from bancheng_shared.contracts.oversight import RedoOrdered, ReturnVisitRecorded
from bancheng_shared.contracts.sla import AlertRaised, DeemedSigned
from bancheng_shared.messagebus import BatchEventHandler, Command, CommandHandler, EventHandler
from triage_svc.domain.commands import (
    ActivateCatalogue,
    Answer,
    ChangeTier,
    Close,
    DecideReturn,
    Dispatch,
    ImportDirectory,
    PublishCatalogue,
    Reclassify,
    ReportProgress,
    RequestReturn,
    Sign,
    SubmitResolution,
)
from triage_svc.handlers.directory import activate_catalogue, import_directory, publish_catalogue
from triage_svc.handlers.events import (
    on_alert_raised,
    on_deemed_signed,
    on_redo_ordered,
    on_repeat_received,
    on_repeat_unmerged,
    on_return_visit,
    on_ticket_merged,
)
from triage_svc.handlers.received import on_ticket_received, on_tickets_received
from triage_svc.handlers.work_orders import (
    answer,
    change_tier,
    close,
    decide_return,
    dispatch,
    reclassify,
    report_progress,
    request_return,
    sign,
    submit_resolution,
)

COMMANDS: dict[type[Command], CommandHandler] = {
    Dispatch: dispatch,
    Sign: sign,
    RequestReturn: request_return,
    DecideReturn: decide_return,
    ReportProgress: report_progress,
    SubmitResolution: submit_resolution,
    Answer: answer,
    Close: close,
    ChangeTier: change_tier,
    Reclassify: reclassify,
    ImportDirectory: import_directory,
    PublishCatalogue: publish_catalogue,
    ActivateCatalogue: activate_catalogue,
}
EVENTS: dict[type[EventPayload], EventHandler] = {
    TicketReceived: on_ticket_received,
    RepeatReceived: on_repeat_received,
    TicketMerged: on_ticket_merged,
    RepeatUnmerged: on_repeat_unmerged,
    DeemedSigned: on_deemed_signed,
    AlertRaised: on_alert_raised,
    RedoOrdered: on_redo_ordered,
    ReturnVisitRecorded: on_return_visit,
}
# consecutive TicketReceived of a consumer batch are triaged together (one statement per table, not per ticket)
RUNS: dict[type[EventPayload], BatchEventHandler] = {TicketReceived: on_tickets_received}
