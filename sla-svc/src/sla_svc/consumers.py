"""sla consumes triage's work-order events."""

from bancheng_shared.runtime import Runtime
from bancheng_shared.topics import TRIAGE_WORK_ORDERS
from sla_svc.service import ClockService


def register(rt: Runtime, clock_service: ClockService) -> None:
    """Subscribe sla's handlers."""
    rt.add_consumer("work-orders", [TRIAGE_WORK_ORDERS], {"TicketDispatched": clock_service.on_dispatched})
