"""The event envelope every topic carries, and the registry of versioned payload contracts."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field


class EventEnvelope(BaseModel):
    """One event: who produced it, about which ticket, caused by what, and its payload.

    `ticket_id` is the envelope's published field name (DESIGN.md); it carries the ticket number, which code
    calls `ticket_no` everywhere else (`env.ticket_no`).
    """

    model_config = ConfigDict(frozen=True)

    event_id: uuid.UUID
    type: str
    version: int = 1
    occurred_at: datetime
    ticket_id: str
    correlation_id: str
    causation_id: str | None = None
    producer: str
    payload: dict[str, Any] = Field(default_factory=dict)

    @property
    def ticket_no(self) -> str:
        """The ticket number the event is about (the envelope's `ticket_id`)."""
        return self.ticket_id

    def to_bytes(self) -> bytes:
        """The JSON bytes put on the topic."""
        return self.__pydantic_serializer__.to_json(self)

    @classmethod
    def from_bytes(cls, raw: bytes) -> EventEnvelope:
        """Parse an envelope from topic bytes (raises on anything malformed)."""
        return cls.model_validate_json(raw)


class EventPayload(BaseModel):
    """Base of every payload contract: unknown fields are kept out, so versions stay honest."""

    model_config = ConfigDict(extra="forbid")


P = TypeVar("P", bound=EventPayload)

# (type, version) -> payload model
REGISTRY: dict[tuple[str, int], type[EventPayload]] = {}
# type -> topic base name that carries it
EVENT_TOPIC: dict[str, str] = {}


def event(type_: str, topic: str, version: int = 1) -> Callable[[type[P]], type[P]]:
    """Register a payload model as the contract of an event type and version."""

    def wrap(model: type[P]) -> type[P]:
        key = (type_, version)
        if key in REGISTRY:
            raise ValueError(f"event contract {type_} v{version} registered twice")
        REGISTRY[key] = model
        EVENT_TOPIC[type_] = topic
        model.__event_type__ = type_  # type: ignore[attr-defined]
        model.__event_version__ = version  # type: ignore[attr-defined]
        return model

    return wrap


def make_event(
    payload: EventPayload,
    *,
    ticket_id: str,
    producer: str,
    correlation_id: str | None = None,
    causation: EventEnvelope | None = None,
    occurred_at: datetime | None = None,
) -> EventEnvelope:
    """Wrap a payload in an envelope; correlation follows the cause when there is one."""
    corr = correlation_id or (causation.correlation_id if causation else None) or str(uuid.uuid4())
    return EventEnvelope(
        event_id=uuid.uuid4(),
        type=payload.__event_type__,  # type: ignore[attr-defined]
        version=payload.__event_version__,  # type: ignore[attr-defined]
        occurred_at=occurred_at or datetime.now(UTC),
        ticket_id=ticket_id,
        correlation_id=corr,
        causation_id=str(causation.event_id) if causation else None,
        producer=producer,
        payload=payload.model_dump(mode="json"),
    )


_KNOWN_FIELDS: dict[type[EventPayload], frozenset[str]] = {}


def parse_payload(env: EventEnvelope, model: type[P]) -> P:
    """A consumed envelope's payload as its contract; fields this contract does not know are ignored.

    A newer producer may add optional fields before its consumers are upgraded: they must not dead-letter its
    events (the HTTP edge still refuses unknown fields).
    """
    expected = (model.__event_type__, model.__event_version__)  # type: ignore[attr-defined]
    if (env.type, env.version) != expected:
        raise ValueError(f"expected {expected[0]} v{expected[1]}, got {env.type} v{env.version}")
    known = _KNOWN_FIELDS.get(model)
    if known is None:
        known = _KNOWN_FIELDS[model] = frozenset(model.model_fields)
    data = env.payload
    if not known.issuperset(data):
        data = {k: v for k, v in data.items() if k in known}
    return model.model_validate(data)


def json_schemas() -> dict[str, Any]:
    """Machine-readable JSON Schemas of the envelope and of every registered payload."""
    events = {}
    for (type_, version), model in sorted(REGISTRY.items()):
        events[f"{type_}.v{version}"] = {
            "type": type_,
            "version": version,
            "topic": EVENT_TOPIC[type_],
            "payload_schema": model.model_json_schema(),
        }
    return {"envelope": EventEnvelope.model_json_schema(), "events": events}
