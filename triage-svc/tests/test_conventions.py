"""The conventions integrators expect of triage's API: a typed 2xx body for every operation, every role answered
as `access.json` says, every problem type triage raises described."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from bancheng_services.testing import KEYS, Databases, run_service
from bancheng_shared.problem_types import COMMON
from triage_svc.main import create_app
from triage_svc.problem_types import PROBLEM_TYPES
from triage_svc.settings import TriageSettings

HERE = Path(__file__).parent
SRC = HERE.parent / "src" / "triage_svc"
ROLES = ["admin", "operator", "frontend", "platform", "work_team", "unit", "inspector", "supervision_office",
         "business_environment", "leader"]


@pytest.fixture(scope="module")
def openapi(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('openapi') / 'triage.db'}"
    doc: dict[str, Any] = create_app(TriageSettings(database_url=url)).openapi()
    return doc


def operations(doc: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """triage's own operations (under /v1, the shared plumbing aside): operationId → (method, path, operation)."""
    return {op["operationId"]: (method.upper(), path, op) for path, item in doc["paths"].items()
            for method, op in item.items() if path.startswith("/v1/") and path != "/v1/schemas/events"}


def test_every_operation_answers_a_typed_body(openapi: dict[str, Any]) -> None:
    untyped = []
    for op_id, (_method, _path, op) in operations(openapi).items():
        ok = [r for code, r in op["responses"].items() if code.startswith("2")]
        schema = ok[0].get("content", {}).get("application/json", {}).get("schema", {}) if ok else {}
        item = schema.get("items", {}) if schema.get("type") == "array" else schema
        if "$ref" not in item:
            untyped.append(f"{op_id}: {schema}")
    assert untyped == []
    schemas = openapi["components"]["schemas"]
    for name in ("WorkOrderOut", "UnitOut", "CatalogueOut", "ReturnRuledOut", "ImportedOut"):
        assert schemas[name].get("description"), name  # the model's docstring describes it
    # the export's CSV form is documented next to its JSON
    assert "text/csv" in operations(openapi)["export_units"][2]["responses"]["200"]["content"]


def test_access_data_names_every_operation(openapi: dict[str, Any]) -> None:
    data = json.loads((HERE / "access.json").read_text("utf-8"))["operations"]
    assert sorted(data) == sorted(operations(openapi))
    for op_id, rule in data.items():
        assert rule.get("public") or set(rule["roles"]) <= set(ROLES), op_id


async def test_every_role_is_answered_as_the_access_data_says(tmp_path: Path, kafka_bootstrap: str,
                                                              topic_prefix: str) -> None:
    data = json.loads((HERE / "access.json").read_text("utf-8"))["operations"]
    url = await Databases("sqlite", tmp_path, []).new("triage")
    async with run_service("triage", database_url=url, kafka_bootstrap=kafka_bootstrap,
                           topic_prefix=topic_prefix) as svc:
        doc = (await svc.client.get("/openapi.json")).json()
        wrong = []
        for op_id, (method, path, _op) in operations(doc).items():
            probe = re.sub(r"\{[^}]+\}", "0", path)
            callers = {"no key": {}, **{role: {"Authorization": f"Bearer {KEYS[role]}"} for role in ROLES}}
            for who, headers in callers.items():
                body: dict[str, Any] = {"json": {}} if method in ("POST", "PUT") else {}
                status = (await svc.client.request(method, probe, headers=headers, **body)).status_code
                if who == "no key":
                    ok = status == 401
                elif who == "admin" or who in data[op_id]["roles"]:
                    ok = status not in (401, 403) and status < 500
                else:
                    ok = status == 403
                if not ok:
                    wrong.append(f"{method} {probe} ({op_id}) as {who}: {status}")
        assert wrong == []


def test_every_problem_type_triage_raises_is_described() -> None:
    raised = {m for path in SRC.rglob("*.py") for m in re.findall(r'type_="([a-z-]+)"', path.read_text("utf-8"))}
    assert raised - COMMON.keys() - PROBLEM_TYPES.keys() == set()
    assert not PROBLEM_TYPES.keys() & COMMON.keys()
    for slug, t in PROBLEM_TYPES.items():
        assert t.title and t.title_zh and t.description.endswith("."), slug
