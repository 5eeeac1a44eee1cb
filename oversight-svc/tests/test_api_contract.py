"""What integrators read: every success of every operation has a typed, described schema; every operation has its
roles as data (tests/access.json); every problem type oversight raises is registered with its titles."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from bancheng_shared.problem_types import COMMON
from oversight_svc.main import create_app
from oversight_svc.settings import OversightSettings

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src" / "oversight_svc"
SHARED_OPS = {"healthz", "readyz", "prometheus_metrics", "problem_types_list", "problem_type", "event_schemas"}
ROLES = {"admin", "operator", "frontend", "platform", "work_team", "unit", "inspector", "supervision_office",
         "business_environment", "leader"}


@pytest.fixture(scope="module")
def doc(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    db = tmp_path_factory.mktemp("doc") / "o.db"
    return dict(create_app(OversightSettings(database_url=f"sqlite+aiosqlite:///{db}")).openapi())


def operations(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {op["operationId"]: op for item in doc["paths"].values() for m, op in item.items()
            if m in ("get", "post", "put", "patch", "delete")}


def resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return dict(doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]])
    return schema


def test_every_success_has_a_typed_described_model(doc: dict[str, Any]) -> None:
    untyped = []
    for op_id, op in operations(doc).items():
        if op_id in SHARED_OPS:
            continue
        for status, answer in op["responses"].items():
            if not status.startswith("2"):
                continue
            content = answer.get("content", {})
            if content and "application/json" not in content and all(
                    c.get("schema", {}).get("type") == "string" for c in content.values()):
                continue  # a file download (the ledgers): each media type documented as a file
            schema = content.get("application/json", {}).get("schema", {})
            if schema.get("type") == "array":
                schema = schema.get("items", {})
            model = resolve(doc, schema)
            if "$ref" not in schema or not model.get("properties") or not model.get("description"):
                untyped.append(f"{op_id} {status}: {schema}")
    assert untyped == []


def test_the_report_documents_each_format(doc: dict[str, Any]) -> None:
    content = operations(doc)["report"]["responses"]["200"]["content"]
    assert {"text/html", "text/csv", "application/json",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"} <= set(content)


def test_the_ledgers_document_their_files(doc: dict[str, Any]) -> None:
    op = operations(doc)["ledger"]
    assert set(op["responses"]["200"]["content"]) == {
        "text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
    params = {p["name"]: p for p in op["parameters"]}
    assert {"ledger", "fmt", "from", "to", "unit", "region", "encoding"} <= set(params)
    assert "工单台账" in op["description"] and "Work orders" in op["description"]


def test_every_operation_has_its_roles_as_data(doc: dict[str, Any]) -> None:
    access = json.loads((HERE / "access.json").read_text("utf-8"))["operations"]
    ops = set(operations(doc)) - SHARED_OPS
    assert sorted(ops - set(access)) == [] and sorted(set(access) - ops) == []
    for op_id, rule in access.items():
        assert rule == {"public": True} or (set(rule) == {"roles"} and set(rule["roles"]) <= ROLES), op_id
    assert access["disclosures"] == {"public": True}
    assert "leader" in access["overview"]["roles"] and "leader" not in access["open_case"]["roles"]
    assert {"inspector", "supervision_office", "business_environment"} <= set(access["register"]["roles"])
    assert access["reply_letter"]["roles"] == ["unit"]


def test_every_problem_type_raised_is_registered() -> None:
    from oversight_svc.problem_types import PROBLEM_TYPES

    raised = set()
    for path in SRC.rglob("*.py"):
        raised |= set(re.findall(r'type_="([a-z0-9-]+)"', path.read_text("utf-8")))
    assert raised, "no problem types found"
    assert sorted(raised - set(COMMON) - set(PROBLEM_TYPES)) == []
    assert not set(PROBLEM_TYPES) & set(COMMON)
    for slug, t in PROBLEM_TYPES.items():
        assert t.title and t.title_zh and t.description.endswith("."), slug
