"""The documented answers of intake's ticket and lookup routes are the real ones: every 2xx has a typed schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from intake_svc.main import create_app
from intake_svc.settings import IntakeSettings

MINE = {"create_ticket", "create_ticket_batch", "list_tickets", "get_ticket", "add_follow_up", "pii_access",
        "list_sms", "public_lookup", "track"}


def _schema_of(op: dict[str, Any], status: str) -> dict[str, Any]:
    return op["responses"][status]["content"]["application/json"]["schema"]


def test_every_2xx_of_these_routes_is_typed(tmp_path: Path) -> None:
    settings = IntakeSettings(database_url=f"sqlite+aiosqlite:///{tmp_path}/i.db", pii_ephemeral_key_allowed=True)
    app = create_app(settings)
    doc = app.openapi()
    ops = {op["operationId"]: op for item in doc["paths"].values() for op in item.values() if "operationId" in op}
    assert MINE <= ops.keys()
    for name in MINE:
        ok = [s for s in ops[name]["responses"] if s.startswith("2")]
        assert ok, name
        for status in ok:
            schema = _schema_of(ops[name], status)
            typed = "$ref" in schema or "$ref" in schema.get("items", {})
            assert typed, (name, status, schema)
    assert {"200", "201"} <= set(ops["create_ticket"]["responses"])
    components = doc["components"]["schemas"]
    for model in ("TicketView", "TicketList", "PublicTicket", "SmsShown", "PiiAccessEntry", "FollowUpReceipt"):
        assert components[model].get("description"), model  # the docstring describes it


def test_access_data_covers_these_routes() -> None:
    data = json.loads((Path(__file__).parent / "access.json").read_text("utf-8"))["operations"]
    assert MINE <= data.keys()
    assert data["public_lookup"] == {"public": True} and "platform" not in data["create_ticket"]["roles"]
