"""No 500 from any input, no year without holidays by mistake, the metric's prefix, every operation's roles as data
(tests/access.json, probed in-process like the system's role matrix) and typed, documented answers."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from sla_helpers import dispatched, feed, local, sla_service

from bancheng_services.testing import KEYS, Databases, auth
from bancheng_shared.problem_types import COMMON

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src" / "sla_svc"
ROLES = ["admin", "operator", "frontend", "platform", "work_team", "unit", "inspector", "supervision_office",
         "business_environment", "leader"]
SHARED_OPS = {"healthz", "readyz", "prometheus_metrics", "problem_types_list", "problem_type", "event_schemas"}


async def test_absurd_input_is_a_4xx_never_a_500(databases: Databases) -> None:
    url = await databases.new("sla")
    async with sla_service(url) as svc:
        await svc.client.put("/v1/clock", headers=auth("work_team"), json={"now": "2026-11-02T10:00:00+08:00"})
        await feed(svc, dispatched("H1", local("2026-11-02 10:00")))
        big = 2 ** 63
        cases: list[tuple[str, str, dict[str, Any]]] = [
            ("GET", "/v1/calendars/1e20", {}),
            ("GET", f"/v1/calendars/{big}", {}),
            ("GET", "/v1/calendars/99999999999999999999", {}),
            ("GET", "/v1/calendars/2026", {"params": {"version": big}}),
            ("PUT", f"/v1/calendars/{big}", {"json": {"holidays": [{"date": "2027-01-01"}]}}),
            ("GET", "/v1/clocks", {"params": {"offset": big}}),
            ("GET", "/v1/clocks", {"params": {"offset": 10_000_001}}),
            ("GET", "/v1/clocks/flagged", {"params": {"offset": big}}),
            ("GET", "/v1/alerts", {"params": {"offset": big}}),
            ("GET", "/v1/pause-requests", {"params": {"offset": big}}),
            ("GET", "/v1/clocks/H1%00", {}),
            ("GET", "/v1/clocks/" + "X" * 41, {}),
            ("GET", "/v1/alerts", {"params": {"ticket_no": "H1\x00"}}),
            ("GET", "/v1/clocks", {"params": {"unit": "u\x00"}}),
            ("POST", "/v1/clocks/H1/extension-requests", {"json": {"days": 3, "reason": "需要\x00核查"}}),
            ("POST", "/v1/clocks/H1/extension-requests", {"content": b'{"days": 1e400, "reason": "xx"}'}),
            ("POST", "/v1/clocks/H1/extension-requests", {"json": {"days": big, "reason": "需现场核查"}}),
            ("POST", "/v1/clocks/H1/pause-requests", {"json": {"days": -big, "reason": "需现场核查"}}),
            ("POST", "/v1/clocks/H1/extension-requests/a%00b/decision", {"json": {"approved": True}}),
            ("PUT", "/v1/calendars/2027", {"json": {"holidays": [{"date": "2027-01-01", "name": "元\x00旦"}]}}),
            ("PUT", "/v1/clock", {"json": {"now": "0001-01-01T00:00:00+08:00"}}),
            ("PUT", "/v1/clock", {"json": {"now": "9999-12-31T23:59:59-08:00"}}),
            ("PUT", "/v1/clock", {"json": {"now": "9999-12-31T23:00:00+00:00"}}),
            ("PUT", "/v1/clock", {"json": {"now": "1900-01-01T00:00:00+08:00"}}),
            ("PUT", "/v1/clock", {"json": {"now": "2026-11-02T10:00:00"}}),
        ]
        for method, path, kw in cases:
            r = await svc.client.request(method, path, headers=auth("admin"), **kw)
            assert 400 <= r.status_code < 500, f"{method} {path} {kw}: {r.status_code} {r.text}"
            assert r.headers["content-type"].startswith("application/problem+json")
        # the overflowing simulated times name the field
        r = await svc.client.put("/v1/clock", headers=auth("work_team"), json={"now": "0001-01-01T00:00:00+08:00"})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "now"
        # and the service still answers on its own time
        assert (await svc.client.get("/v1/clock", headers=auth("work_team"))).json()["local"].startswith("2026-11-02")


async def test_a_year_without_holidays_needs_saying_so(sqlite_databases: Databases) -> None:
    url = await sqlite_databases.new("sla")
    async with sla_service(url) as svc:
        for body in ({}, {"holidays": [], "workdays": []}):
            r = await svc.client.put("/v1/calendars/2027", headers=auth("work_team"), json=body)
            assert r.status_code == 422, r.text
            assert [e["field"] for e in r.json()["errors"]] == ["holidays"]
            assert "no_holidays" in r.json()["detail"]
        r = await svc.client.put("/v1/calendars/2027", headers=auth("work_team"),
                                 json={"holidays": [{"date": "2027-01-01", "name": "元旦"}], "no_holidays": True})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "no_holidays"
        assert (await svc.client.get("/v1/calendars/2027", headers=auth("work_team"))).status_code == 404
        # a drill loads such a year on purpose
        r = await svc.client.put("/v1/calendars/2027", headers=auth("work_team"),
                                 json={"holidays": [], "workdays": [], "no_holidays": True})
        assert r.status_code == 200 and r.json()["holidays"] == [] and r.json()["version"] == 1, r.text


async def test_the_transitions_metric_carries_the_bancheng_prefix(sqlite_databases: Databases) -> None:
    url = await sqlite_databases.new("sla")
    async with sla_service(url) as svc:
        await svc.client.put("/v1/clock", headers=auth("work_team"), json={"now": "2026-11-02T10:00:00+08:00"})
        await feed(svc, dispatched("M1", local("2026-11-02 10:00")))
        await svc.client.put("/v1/clock", headers=auth("work_team"), json={"now": "2026-11-10T10:00:00+08:00"})
        text = (await svc.client.get("/metrics")).text
        assert re.search(r"^bancheng_sla_transitions_fired_total \d", text, re.M), text
        assert not re.search(r"^sla_transitions_fired", text, re.M)


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(m.upper(), re.sub(r"\{[^}]+\}", "probe-0", path), op["operationId"])
            for path, item in doc["paths"].items() for m, op in item.items()
            if m in ("get", "post", "put", "patch", "delete")]


async def test_every_operation_answers_each_role_as_access_json_says(databases: Databases) -> None:
    """The system's role matrix (tests/test_roles.py) against sla alone: every role, no key and a wrong key."""
    access = json.loads((HERE / "access.json").read_text("utf-8"))["operations"]
    url = await databases.new("sla")
    async with sla_service(url, simulated_time_allowed=False) as svc:
        doc = (await svc.client.get("/openapi.json")).json()
        ops = _operations(doc)
        assert sorted({op for _, _, op in ops} - SHARED_OPS - access.keys()) == []
        assert sorted(access.keys() - {op for _, _, op in ops}) == []
        wrong = []
        for method, path, op in ops:
            if op in SHARED_OPS:
                continue
            rule = access[op]
            body = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
            callers = {"no key": {}, "wrong key": {"Authorization": "Bearer not-a-key"}}
            callers.update({role: {"Authorization": f"Bearer {KEYS[role]}"} for role in ROLES})
            for who, headers in callers.items():
                status = (await svc.client.request(method, path, headers=headers, **body)).status_code
                if who in ("no key", "wrong key"):
                    ok = status == 401
                elif who == "admin" or who in rule["roles"]:
                    ok = status not in (401, 403) and status < 500
                else:
                    ok = status == 403
                if not ok:
                    wrong.append(f"{method} {path} ({op}) as {who}: {status}")
        assert wrong == []


async def test_a_unit_key_reads_only_its_own_unit(sqlite_databases: Databases) -> None:
    url = await sqlite_databases.new("sla")
    async with sla_service(url) as svc:
        await svc.client.put("/v1/clock", headers=auth("work_team"), json={"now": "2026-11-02T10:00:00+08:00"})
        await feed(svc, dispatched("U1", local("2026-11-02 10:00")),
                   dispatched("O1", local("2026-11-02 10:00"), unit="339902-market_regulation"))
        mine = (await svc.client.get("/v1/clocks", headers=auth("unit"))).json()
        assert [c["ticket_no"] for c in mine["items"]] == ["U1"]
        r = await svc.client.get("/v1/clocks", params={"unit": "339902-market_regulation"}, headers=auth("unit"))
        assert r.status_code == 403
        assert (await svc.client.get("/v1/clocks/O1", headers=auth("unit"))).status_code == 404
        assert (await svc.client.get("/v1/clocks/O1", headers=auth("other_unit"))).status_code == 200
        for path in ("/v1/clocks/O1/extension-requests", "/v1/clocks/O1/pause-requests"):
            r = await svc.client.post(path, headers=auth("unit"), json={"days": 1, "reason": "需现场核查"})
            assert r.status_code == 404, path
        r = await svc.client.post("/v1/clocks/O1/resume", headers=auth("unit"), json={})
        assert r.status_code == 404
        alerts = (await svc.client.get("/v1/alerts", headers=auth("unit"))).json()
        assert {a["ticket_no"] for a in alerts["items"]} == {"U1"}


@pytest.fixture(scope="module")
def doc(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from sla_svc.main import create_app
    from sla_svc.settings import SlaSettings

    db = tmp_path_factory.mktemp("doc") / "s.db"
    return dict(create_app(SlaSettings(database_url=f"sqlite+aiosqlite:///{db}")).openapi())


def test_every_success_has_a_typed_described_model(doc: dict[str, Any]) -> None:
    untyped = []
    for _, _, op_id in _operations(doc):
        if op_id in SHARED_OPS:
            continue
        op = next(o for item in doc["paths"].values() for o in item.values()
                  if isinstance(o, dict) and o.get("operationId") == op_id)
        for status, answer in op["responses"].items():
            if not status.startswith("2"):
                continue
            schema = answer.get("content", {}).get("application/json", {}).get("schema", {})
            name = schema.get("$ref", "").rsplit("/", 1)[-1]
            model = doc["components"]["schemas"].get(name, {})
            if not model.get("properties") or not model.get("description"):
                untyped.append(f"{op_id} {status}: {schema}")
    assert untyped == []


def test_every_problem_type_raised_is_registered() -> None:
    from sla_svc.problem_types import PROBLEM_TYPES

    raised: set[str] = set()
    for path in SRC.rglob("*.py"):
        raised |= set(re.findall(r'type_="([a-z0-9-]+)"', path.read_text("utf-8")))
    assert {"pause-limit", "simulated-time-disabled", "invalid-calendar"} <= raised
    assert sorted(raised - set(COMMON) - set(PROBLEM_TYPES)) == []
    assert not set(PROBLEM_TYPES) & set(COMMON)
    for slug, t in PROBLEM_TYPES.items():
        assert t.title and t.title_zh and t.description.endswith("."), slug


async def test_problem_types_resolve_on_the_service(sqlite_databases: Databases) -> None:
    url = await sqlite_databases.new("sla")
    async with sla_service(url) as svc:
        r = await svc.client.get("/problems/pause-limit")
        assert r.status_code == 200 and r.json()["title_zh"] == "暂停次数或天数已达上限"
