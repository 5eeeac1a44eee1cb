"""intake consumes every topic to keep each ticket's timeline."""

from bancheng_shared.runtime import Runtime
from bancheng_shared.topics import OVERSIGHT_CASES, SLA_CLOCKS, TRIAGE_WORK_ORDERS
from intake_svc.service import project_event

TIMELINE_EVENTS = [
    "TicketTriaged", "TicketDispatched", "TicketTransferred", "TicketAnswered", "TicketSigned",
    "ReturnRequested", "ReturnDecided", "ResolutionSubmitted", "TicketReopened", "TicketClosed",
    "ClockStarted", "AlertRaised", "DeemedSigned", "UrgeIssued", "EscalatedToSupervision",
    "CaseOpened", "ReturnVisitRecorded",
]


def register(rt: Runtime) -> None:
    """Subscribe the timeline projection to the other services' topics."""
    rt.add_consumer(
        "timeline",
        [TRIAGE_WORK_ORDERS, SLA_CLOCKS, OVERSIGHT_CASES],
        {t: project_event for t in TIMELINE_EVENTS},
    )
