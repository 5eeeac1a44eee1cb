"""sla consumes triage's work-order events."""

from bancheng_shared.runtime import Runtime
from bancheng_shared.topics import TRIAGE_WORK_ORDERS
from sla_svc.service import SlaService


def register(rt: Runtime, sla: SlaService) -> None:
    """Subscribe sla's handlers."""
    rt.add_consumer("work-orders", [TRIAGE_WORK_ORDERS], sla.handlers())
