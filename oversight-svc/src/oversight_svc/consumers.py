"""oversight consumes intake's, triage's and sla's events for its rollups, ticket facts and cases."""

from bancheng_shared.runtime import Runtime
from bancheng_shared.topics import INTAKE_TICKETS, SLA_CLOCKS, TRIAGE_WORK_ORDERS
from oversight_svc.events import Handlers


def register(rt: Runtime) -> None:
    """Subscribe oversight's handlers (one group over the three topics)."""
    rt.add_consumer("facts", [INTAKE_TICKETS, TRIAGE_WORK_ORDERS, SLA_CLOCKS], Handlers(rt).table())
