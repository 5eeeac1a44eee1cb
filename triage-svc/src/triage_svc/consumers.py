"""triage consumes intake's tickets and sla's deemed signing."""

from bancheng_shared.runtime import Runtime
from bancheng_shared.topics import INTAKE_TICKETS, SLA_CLOCKS
from triage_svc.service import on_deemed_signed, on_ticket_received


def register(rt: Runtime) -> None:
    """Subscribe triage's handlers."""
    rt.add_consumer("tickets", [INTAKE_TICKETS, SLA_CLOCKS],
                    {"TicketReceived": on_ticket_received, "DeemedSigned": on_deemed_signed})
