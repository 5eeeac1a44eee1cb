"""oversight consumes triage's and sla's events for its rollups."""

from bancheng_shared.runtime import Runtime
from bancheng_shared.topics import SLA_CLOCKS, TRIAGE_WORK_ORDERS
from oversight_svc import domain
from oversight_svc.service import count_event


def register(rt: Runtime) -> None:
    """Subscribe oversight's handlers."""
    rt.add_consumer("counts", [TRIAGE_WORK_ORDERS, SLA_CLOCKS], dict.fromkeys(domain.COUNTED, count_event))
