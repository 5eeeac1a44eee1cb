"""Event contracts: the published schemas match the code, and every envelope round-trips."""

from __future__ import annotations

import json
from pathlib import Path

from bancheng_shared.contracts import REGISTRY, EventEnvelope, json_schemas
from bancheng_shared.contracts.envelope import EVENT_TOPIC
from bancheng_shared.topics import ALL_TOPICS

ROOT = Path(__file__).resolve().parents[2]


def test_the_exported_schema_file_is_current() -> None:
    exported = json.loads((ROOT / "docs" / "event-schemas.json").read_text(encoding="utf-8"))
    assert exported == json.loads(json.dumps(json_schemas(), ensure_ascii=False, sort_keys=True)), (
        "docs/event-schemas.json is stale: run ./dev schemas"
    )


def test_every_event_is_published_on_a_known_topic_and_has_an_object_schema() -> None:
    assert REGISTRY, "no contracts registered"
    for (type_, version), model in REGISTRY.items():
        assert EVENT_TOPIC[type_] in ALL_TOPICS
        schema = model.model_json_schema()
        assert schema["type"] == "object", type_
        assert version >= 1


def test_the_envelope_round_trips_through_bytes() -> None:
    from datetime import UTC, datetime

    from bancheng_shared.contracts import make_event
    from bancheng_shared.contracts.intake import FollowUpAdded

    env = make_event(FollowUpAdded(content="补充材料", added_at=datetime.now(UTC)), ticket_id="BC1", producer="t")
    again = EventEnvelope.from_bytes(env.to_bytes())
    assert again == env
    assert again.correlation_id and again.causation_id is None
