"""triage consumes intake's tickets, sla's clocks and oversight's cases."""

from bancheng_shared.runtime import Runtime
from bancheng_shared.topics import INTAKE_TICKETS, OVERSIGHT_CASES, SLA_CLOCKS
from triage_svc import service


def register(rt: Runtime) -> None:
    """Subscribe triage's handlers."""
    rt.add_consumer("tickets", [INTAKE_TICKETS, SLA_CLOCKS, OVERSIGHT_CASES], {
        "TicketReceived": service.on_ticket_received,
        "RepeatReceived": service.on_repeat_received,
        "DeemedSigned": service.on_deemed_signed,
        "AlertRaised": service.on_alert_raised,
        "RedoOrdered": service.on_redo_ordered,
        "ReturnVisitRecorded": service.on_return_visit,
    })
