"""Topic names in one place. Every topic is keyed by ticket id."""

INTAKE_TICKETS = "intake.tickets"
TRIAGE_WORK_ORDERS = "triage.work-orders"
SLA_CLOCKS = "sla.clocks"
OVERSIGHT_CASES = "oversight.cases"

ALL_TOPICS: tuple[str, ...] = (INTAKE_TICKETS, TRIAGE_WORK_ORDERS, SLA_CLOCKS, OVERSIGHT_CASES)
# each service publishes on its own topic
SERVICE_TOPIC = {"intake-svc": INTAKE_TICKETS, "triage-svc": TRIAGE_WORK_ORDERS, "sla-svc": SLA_CLOCKS,
                 "oversight-svc": OVERSIGHT_CASES}
# The consumer groups (`<service>.<consumer>`, as each service's main.py declares them with bus.consume) that
# read each topic. A relay counts an event as seen once every one of them committed past it: after the broker
# comes back empty it republishes only the rest (tests/test_broker_recovery.py checks this map against the apps).
READERS: dict[str, tuple[str, ...]] = {
    INTAKE_TICKETS: ("intake-svc.timeline", "triage-svc.tickets", "oversight-svc.facts"),
    TRIAGE_WORK_ORDERS: ("intake-svc.timeline", "sla-svc.work-orders", "oversight-svc.facts"),
    SLA_CLOCKS: ("intake-svc.timeline", "triage-svc.tickets", "oversight-svc.facts"),
    OVERSIGHT_CASES: ("intake-svc.timeline", "triage-svc.tickets"),
}
EPOCH_TOPIC = "bancheng.broker-epoch"
DEFAULT_PARTITIONS = 12


def topic_name(base: str, prefix: str = "") -> str:
    """The topic as named on the broker (tests use a per-run prefix)."""
    return f"{prefix}{base}"


def dlq_name(topic: str) -> str:
    """The dead-letter topic of a topic."""
    return f"{topic}.dlq"


def all_broker_topics(prefix: str = "") -> list[str]:
    """Every topic the system needs on the broker, dead-letter topics and the epoch marker included."""
    names = [topic_name(t, prefix) for t in ALL_TOPICS]
    return [*names, *(dlq_name(n) for n in names), topic_name(EPOCH_TOPIC, prefix)]
