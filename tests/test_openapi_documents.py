"""Every service's OpenAPI document works in the pages it serves: the bearer scheme is declared and every operation
that needs a key says so (Swagger's Authorize), every `$ref` resolves (ReDoc refuses a dangling one), and /docs and
/redoc load nothing from outside (the platform runs on intranets without the internet)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

ROOT = Path(__file__).resolve().parents[1]
# operations anyone may call (besides those each service's access.json marks public)
OPEN = {"healthz", "readyz", "prometheus_metrics", "problem_types_list", "problem_type", "event_schemas",
        "open311_discovery"}
SERVICES = ("intake", "triage", "sla", "oversight")


def _app(name: str, tmp_path: Path) -> FastAPI:
    url = f"sqlite+aiosqlite:///{tmp_path}/{name}.db"
    if name == "intake":
        from intake_svc.main import create_app as intake
        from intake_svc.settings import IntakeSettings
        return intake(IntakeSettings(database_url=url, pii_ephemeral_key_allowed=True))
    if name == "triage":
        from triage_svc.main import create_app as triage
        from triage_svc.settings import TriageSettings
        return triage(TriageSettings(database_url=url))
    if name == "sla":
        from sla_svc.main import create_app as sla
        from sla_svc.settings import SlaSettings
        return sla(SlaSettings(database_url=url))
    from oversight_svc.main import create_app as oversight
    from oversight_svc.settings import OversightSettings
    return oversight(OversightSettings(database_url=url))


def _refs(node: Any, where: str = "#") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref":
                yield where, v
            else:
                yield from _refs(v, f"{where}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _refs(v, f"{where}/{i}")


def _resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), f"an external $ref {ref!r} (the pages must load nothing from outside)"
    node: Any = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _public(name: str) -> set[str]:
    data = json.loads((ROOT / f"{name}-svc" / "tests" / "access.json").read_text("utf-8"))["operations"]
    return {op for op, rule in data.items() if rule.get("public")}


@pytest.mark.parametrize("name", SERVICES)
def test_every_ref_resolves_and_every_keyed_operation_declares_the_bearer_scheme(name: str, tmp_path: Path) -> None:
    doc = _app(name, tmp_path).openapi()
    dangling = []
    for where, ref in _refs(doc):
        try:
            _resolve(doc, ref)
        except KeyError:
            dangling.append(f"{where} → {ref}")
    assert not dangling, dangling
    schemes = doc["components"]["securitySchemes"]
    assert schemes["bearer"] == {"type": "http", "scheme": "bearer", "description": schemes["bearer"]["description"]}
    public = OPEN | _public(name)
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if op["operationId"] in public:
                continue
            assert {"bearer": []} in op.get("security", []), f"{name}: {method.upper()} {path} declares no key"
            assert "401" in op["responses"], f"{name}: {method.upper()} {path}"


def test_the_platform_item_body_is_documented(tmp_path: Path) -> None:
    doc = _app("intake", tmp_path).openapi()
    op = doc["paths"]["/v1/platforms/{platform}/items"]["post"]
    ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert set(_resolve(doc, ref)["properties"]) >= {"content", "external_id"}


_ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")


@pytest.mark.parametrize("name", SERVICES)
async def test_docs_pages_load_nothing_from_outside(name: str, tmp_path: Path) -> None:
    app = _app(name, tmp_path)
    base = "http://svc.test"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base) as client:
        for page in ("/docs", "/redoc"):
            r = await client.get(page)
            assert r.status_code == 200, page
            assets = _ASSET.findall(r.text)
            assert assets, page
            outside = [a for a in assets if re.match(r"(?i)(https?:)?//", a) and not a.startswith(base)]
            assert not outside, (page, outside)
            for asset in assets:  # each is served by the service itself
                got = await client.get(asset)
                assert got.status_code == 200, asset
                assert "cdn.redoc.ly" not in got.text and "fonts.googleapis" not in got.text, asset
        assert '"validatorUrl": null' in (await client.get("/docs")).text  # no badge from validator.swagger.io
