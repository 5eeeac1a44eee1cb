"""Versioned event contracts: the envelope and every payload, one module per producing service."""

from bancheng_shared.contracts import intake, oversight, sla, triage
from bancheng_shared.contracts.envelope import (
    REGISTRY,
    EventEnvelope,
    EventPayload,
    event,
    json_schemas,
    make_event,
    parse_payload,
)

__all__ = [
    "REGISTRY",
    "EventEnvelope",
    "EventPayload",
    "event",
    "intake",
    "json_schemas",
    "make_event",
    "oversight",
    "parse_payload",
    "sla",
    "triage",
]
