"""What every service gets from bancheng_shared.app: problems, auth, health, metrics, offline docs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy import MetaData

from bancheng_services.testing import eventually
from bancheng_shared.app import create_service_app
from bancheng_shared.auth import Principal, Role, issue_api_key, require
from bancheng_shared.db import transaction
from bancheng_shared.plumbing import plumbing_tables
from bancheng_shared.problems import Problem
from bancheng_shared.runtime import Runtime
from bancheng_shared.settings import ServiceSettings

metadata = MetaData()
plumbing = plumbing_tables(metadata)


class Thing(BaseModel):
    name: str = Field(min_length=1, max_length=10)
    count: int = Field(ge=0)


router = APIRouter(prefix="/v1")


@router.post("/things")
async def create_thing(body: Thing, who: Principal = Depends(require(Role.operator))) -> dict:
    return {"name": body.name, "by": who.role.value}


@router.get("/units/{unit_code}/things")
async def unit_things(unit_code: str, who: Principal = Depends(require(Role.unit, Role.work_team))) -> dict:
    if not who.can_see_unit(unit_code):
        raise Problem(404, f"no unit {unit_code!r}", type_="unknown-unit")
    return {"unit": unit_code}


async def make_client(tmp: Path, bootstrap: str, relay: bool) -> AsyncIterator[httpx.AsyncClient]:
    settings = ServiceSettings(database_url=f"sqlite+aiosqlite:///{tmp / 'p.db'}", kafka_bootstrap=bootstrap,
                               consumers_enabled=False, relay_enabled=relay, max_body_bytes=2000,
                               topic_prefix="plumbing.", broker_epoch_check_s=3600)
    rt = Runtime.build("test-svc", settings, plumbing)
    async with rt.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    async with transaction(rt.sm) as s:
        await issue_api_key(s, plumbing, name="op", role=Role.operator, plaintext="k-op")
        await issue_api_key(s, plumbing, name="lead", role=Role.leader, plaintext="k-leader")
        await issue_api_key(s, plumbing, name="unit", role=Role.unit, unit_code="U1", plaintext="k-unit")
    app = create_service_app(runtime=rt, title="t", description="t", routers=[router])
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            yield c


@pytest.fixture
async def client(tmp_path: Path, kafka_bootstrap: str) -> AsyncIterator[httpx.AsyncClient]:
    async for c in make_client(tmp_path, kafka_bootstrap, relay=False):
        yield c


def is_problem(r: httpx.Response, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


async def test_credentials_roles_and_unit_scope_are_checked_on_the_server(client: httpx.AsyncClient) -> None:
    ok = {"name": "a", "count": 1}
    assert "credential" in is_problem(await client.post("/v1/things", json=ok), 401)["detail"]
    is_problem(await client.post("/v1/things", json=ok, headers={"Authorization": "Bearer nope"}), 401)
    body = is_problem(await client.post("/v1/things", json=ok, headers={"X-API-Key": "k-leader"}), 403)
    assert "operator" in body["detail"]
    r = await client.post("/v1/things", json=ok, headers={"Authorization": "Bearer k-op"})
    assert r.status_code == 200 and r.json()["by"] == "operator"
    unit = {"Authorization": "Bearer k-unit"}
    assert (await client.get("/v1/units/U1/things", headers=unit)).status_code == 200
    is_problem(await client.get("/v1/units/U2/things", headers=unit), 404)


async def test_bad_input_gets_a_problem_that_names_the_field(client: httpx.AsyncClient) -> None:
    h = {"Authorization": "Bearer k-op"}
    body = is_problem(await client.post("/v1/things", json={"name": "", "count": -1}, headers=h), 422)
    fields = {e["field"] for e in body["errors"]}
    assert fields == {"name", "count"}
    assert "name" in body["detail"] and "count" in body["detail"]
    assert "malformed JSON" in is_problem(
        await client.post("/v1/things", content=b'{"name": ', headers={**h, "Content-Type": "application/json"}),
        400)["detail"]
    is_problem(await client.post("/v1/things", content=b"name=a", headers={**h, "Content-Type": "image/png"}), 415)
    is_problem(await client.post("/v1/things", json={"name": "x" * 5000, "count": 1}, headers=h), 413)
    is_problem(await client.get("/v1/nowhere", headers=h), 404)
    is_problem(await client.delete("/v1/things", headers=h), 405)


async def test_health_metrics_schemas_and_docs_without_internet(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json()["status"] == "ok"
    body = is_problem(await client.get("/readyz"), 503)  # the relay is off: the broker was never reached
    assert body["checks"]["database"] == "ok" and body["checks"]["broker"] == "unreachable"
    metrics = await client.get("/metrics")
    assert metrics.status_code == 200 and "bancheng_http_requests_total" in metrics.text
    schemas = (await client.get("/v1/schemas/events")).json()
    assert "TicketReceived.v1" in schemas["events"] and "event_id" in schemas["envelope"]["properties"]
    for page in ("/docs", "/redoc"):
        html = (await client.get(page)).text
        assert "http://" not in html and "https://" not in html, f"{page} loads something from outside"
    assert (await client.get("/static-offline-docs/swagger-ui-bundle.js")).status_code == 200
    assert (await client.get("/static-offline-docs/redoc.standalone.js")).status_code == 200
    assert r"X-Correlation-ID".lower() in (await client.get("/healthz")).headers


async def test_ready_once_the_broker_has_been_reached(tmp_path: Path, kafka_bootstrap: str) -> None:
    async for c in make_client(tmp_path, kafka_bootstrap, relay=True):
        async def ready(c: httpx.AsyncClient = c) -> bool:
            return (await c.get("/readyz")).status_code == 200

        await eventually(ready)


async def test_problem_types_resolve_with_their_titles_and_errors_carry_the_headers_clients_need(
        client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/things", json={"name": "a", "count": 1})
    body = is_problem(r, 401)
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert body["type"] == "/problems/unauthenticated" and body["title"] == "Credential required"
    kind = await client.get(body["type"])  # the type resolves on the service that answered
    assert kind.status_code == 200 and kind.json()["title_zh"] == "需要凭据"
    assert 'error="invalid_token"' in (await client.post("/v1/things", json={}, headers={
        "Authorization": "Bearer revoked-or-unknown"})).headers["www-authenticate"]
    body = is_problem(await client.get("/v1/nowhere", headers={"Authorization": "Bearer k-op"}), 404)
    assert body["type"] == "/problems/not-found" and body["title"] == "Not found"  # not the bare reason phrase
    assert (await client.get("/problems")).json()["validation"]["title"] == "Invalid request"
    is_problem(await client.get("/problems/no-such-type"), 404)


async def test_a_throttled_answer_says_when_to_come_back(tmp_path: Path) -> None:
    from bancheng_shared.problems import problem_response

    r = problem_response(429, "too many wrong guesses", type_="throttled", retry_after=42.5)
    assert r.headers["retry-after"] == "42"


async def test_any_correlation_id_or_trace_header_is_safe_and_a_trace_is_continued(
        client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz", headers=[(b"x-correlation-id", b"\xff\xfe")])
    assert r.status_code == 200 and r.headers["x-correlation-id"].isascii()
    parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    r = await client.get("/healthz", headers={"traceparent": parent})
    assert r.headers["x-correlation-id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    trace = r.headers["traceparent"].split("-")
    assert trace[1] == "4bf92f3577b34da6a3ce929d0e0e4736" and trace[2] != "00f067aa0ba902b7"
    r = await client.get("/healthz", headers={"x-correlation-id": "call-2026-12-04.0001"})
    assert r.headers["x-correlation-id"] == "call-2026-12-04.0001"


async def test_a_chunked_body_over_the_limit_is_413(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"name": "a", "count": 1, "pad": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}'

    r = await client.post("/v1/things", content=chunks(), headers={"Authorization": "Bearer k-op",
                                                                  "Content-Type": "application/json"})
    is_problem(r, 413)


async def test_the_openapi_document_names_the_security_scheme_and_problems_on_every_operation(
        client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    op = doc["paths"]["/v1/things"]["post"]
    assert op["operationId"] == "create_thing" and {"bearer": []} in op["security"]
    for status in ("401", "403", "422", "429", "500"):
        assert "application/problem+json" in op["responses"][status]["content"]
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    assert "401" not in doc["paths"]["/healthz"]["get"]["responses"]  # public: no credential to get wrong


async def test_a_revoked_key_stops_working_within_a_second(tmp_path: Path, kafka_bootstrap: str) -> None:
    import asyncio

    from sqlalchemy import update

    settings = ServiceSettings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'r.db'}", kafka_bootstrap=kafka_bootstrap,
                               consumers_enabled=False, relay_enabled=False, api_key_cache_s=30)
    rt = Runtime.build("test-svc", settings, plumbing)
    async with rt.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    async with transaction(rt.sm) as s:
        await issue_api_key(s, plumbing, name="op", role=Role.operator, plaintext="k-op")
    app = create_service_app(runtime=rt, title="t", description="t", routers=[router])
    h = {"Authorization": "Bearer k-op"}
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        assert (await c.post("/v1/things", json={"name": "a", "count": 1}, headers=h)).status_code == 200
        async with transaction(rt.sm) as s:  # revoked by another process (`bancheng keys revoke`)
            await s.execute(update(plumbing.api_keys).values(active=False))
        await asyncio.sleep(1.05)  # the documented bound, not a wait for a side effect
        assert (await c.post("/v1/things", json={"name": "a", "count": 1}, headers=h)).status_code == 401
