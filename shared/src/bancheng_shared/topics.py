"""Topic names in one place. Every topic is keyed by ticket id."""

INTAKE_TICKETS = "intake.tickets"
TRIAGE_WORK_ORDERS = "triage.work-orders"
SLA_CLOCKS = "sla.clocks"
OVERSIGHT_CASES = "oversight.cases"

ALL_TOPICS: tuple[str, ...] = (INTAKE_TICKETS, TRIAGE_WORK_ORDERS, SLA_CLOCKS, OVERSIGHT_CASES)
# each service publishes on its own topic
SERVICE_TOPIC = {"intake-svc": INTAKE_TICKETS, "triage-svc": TRIAGE_WORK_ORDERS, "sla-svc": SLA_CLOCKS,
                 "oversight-svc": OVERSIGHT_CASES}
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
