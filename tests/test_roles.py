"""Every operation of every service against every role, no key and a wrong key: the expected answer of each cell
comes from the service's own data (`<service>-svc/tests/access*.json`), the operations from its OpenAPI document."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from bancheng_services.stack import SERVICES, Stack
from bancheng_services.testing import KEYS

ROLES = ["admin", "operator", "frontend", "platform", "work_team", "unit", "inspector", "supervision_office",
         "business_environment", "leader"]
# the plumbing every service serves the same way (bancheng_shared.app)
SHARED = {"healthz": {"public": True}, "readyz": {"public": True}, "prometheus_metrics": {"public": True},
          "problem_types_list": {"public": True}, "problem_type": {"public": True},
          "event_schemas": {"public": True}}


def service_dir(name: str) -> Path:
    """A service's directory in the repository."""
    return Path(__file__).resolve().parents[1] / f"{name}-svc"


def expectations(name: str) -> dict[str, dict[str, Any]]:
    """operationId → {"roles": [...]} or {"public": true}, from the service's data files."""
    out: dict[str, dict[str, Any]] = dict(SHARED)
    for path in sorted((service_dir(name) / "tests").glob("access*.json")):
        out.update(json.loads(path.read_text("utf-8"))["operations"])
    return out


def cells(doc: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(method, path with placeholder values, operationId) of every operation.

    A path parameter with an enum (Open311's `.json`/`.xml`) takes its first value, so the probe reaches the
    credential check instead of stopping at the format."""
    out = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                enums = {p["name"]: p["schema"]["enum"][0] for p in op.get("parameters", [])
                         if p.get("in") == "path" and p.get("schema", {}).get("enum")}
                filled = re.sub(r"\{([^}]+)\}", lambda m, enums=enums: str(enums.get(m.group(1), "probe-0")), path)
                out.append((method.upper(), filled, op["operationId"]))
    return out


@pytest.mark.parametrize("name", list(SERVICES))
async def test_every_operation_answers_each_role_as_its_data_says(probed_stack: Stack, name: str) -> None:
    base = probed_stack.procs[name].url
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        doc = (await client.get("/openapi.json")).json()
        expected = expectations(name)
        ops = cells(doc)
        missing = sorted({op for _, _, op in ops} - expected.keys())
        assert missing == [], f"{name}: no access data for {missing}"
        wrong: list[str] = []
        for method, path, op in ops:
            rule = expected[op]
            body = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
            callers: dict[str, dict[str, str]] = {"no key": {}, "wrong key": {"Authorization": "Bearer not-a-key"}}
            callers.update({role: {"Authorization": f"Bearer {KEYS[role]}"} for role in ROLES})
            for who, headers in callers.items():
                status = (await client.request(method, path, headers=headers, **body)).status_code
                if rule.get("public"):
                    ok = status not in (401, 403)
                    want = "not 401/403 (public)"
                elif who in ("no key", "wrong key"):
                    ok, want = status == 401, "401"
                elif who == "admin" or who in rule["roles"]:
                    ok, want = status not in (401, 403), "allowed"
                else:
                    ok, want = status == 403, "403"
                if not ok:
                    wrong.append(f"{method} {path} ({op}) as {who}: {status}, expected {want}")
        assert wrong == []
