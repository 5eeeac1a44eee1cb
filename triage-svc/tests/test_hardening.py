"""Issue 11 through the API and the consumer, on SQLite and PostgreSQL: contact numbers only for the roles that need
them, spreadsheet-safe exports, every value intake may send stored and every value triage publishes within the
shared limits, and no 500 from any input."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import select

from bancheng_services.demo import seed_directory
from bancheng_services.stack import seed_keys
from bancheng_services.testing import Databases, RunningService, auth, eventually, run_service
from bancheng_shared.contracts import EventPayload, make_event
from bancheng_shared.contracts.intake import TicketReceived
from bancheng_shared.contracts.limits import (
    ADDRESS_MAX,
    CONTENT_MAX,
    EXPLANATION_LINE_MAX,
    NAME_MAX,
    REASON_MAX,
    REGION_CODE_MAX,
    TITLE_MAX,
    UNIT_CODE_MAX,
)
from bancheng_shared.contracts.vocab import Channel
from bancheng_shared.outbox import add_events
from bancheng_shared.topics import INTAKE_TICKETS, TRIAGE_WORK_ORDERS
from triage_svc.adapters.tables import plumbing

UNIT = "339901-market_regulation"
OTHER = "339902-market_regulation"
NOW = datetime.now(UTC)
LONG_KEY = "test-long-name-workteam-key"
FORMULAS = ["=HYPERLINK(\"http://x.example/?\"&A1,\"点我\")", "+1+1", "-2+3", "@SUM(A1:A2)", "＝1+1", "＋1", "－1",
            "＠x"]


async def inject(svc: RunningService, ticket_no: str, payload: EventPayload, topic: str) -> None:
    """Another service's event on its topic (through this service's outbox relay: a real broker trip)."""
    async with svc.runtime.sm() as s, s.begin():
        await add_events(s, plumbing, [make_event(payload, ticket_id=ticket_no, producer="test")], topic)
    svc.runtime.relay.wake()


async def receive(svc: RunningService, content: str, **fields: Any) -> str:
    ticket_no = f"T{uuid.uuid4().hex[:10]}"
    await inject(svc, ticket_no, TicketReceived(channel=fields.pop("channel", Channel.hotline), content=content,
                                                received_at=NOW, **{"region_code": "339901001", **fields}),
                 INTAKE_TICKETS)
    return ticket_no


async def triaged(svc: RunningService, ticket_no: str) -> dict[str, Any]:
    """The work order once triage made it; fails at once when the ticket was dead-lettered instead."""
    async def check() -> dict[str, Any] | None:
        r = await svc.client.get(f"/v1/work-orders/{ticket_no}", headers=auth("work_team"))
        if r.status_code == 200:
            return dict(r.json())
        async with svc.runtime.sm() as s:
            dead = (await s.execute(select(plumbing.outbox.c.value).where(
                plumbing.outbox.c.topic.like("%.dlq"), plumbing.outbox.c.key == ticket_no))).scalars().all()
        assert not dead, f"dead-lettered: {dead}"
        return None
    return dict(await eventually(check))


async def published(svc: RunningService) -> list[dict[str, Any]]:
    async with svc.runtime.sm() as s:
        rows = (await s.execute(select(plumbing.outbox.c.value).where(
            plumbing.outbox.c.topic.like(f"%{TRIAGE_WORK_ORDERS}")).order_by(plumbing.outbox.c.id))).scalars().all()
    return [orjson.loads(v) for v in rows]


# what a consumer stores of each text field triage publishes, by the shared limits
FIELD_LIMITS = {"reason": REASON_MAX, "basis": REASON_MAX, "note": REASON_MAX, "reply": CONTENT_MAX,
                "answer": CONTENT_MAX, "by": NAME_MAX, "lead_unit_name": NAME_MAX, "lead_unit": UNIT_CODE_MAX,
                "unit": UNIT_CODE_MAX, "new_unit": UNIT_CODE_MAX, "to_unit": UNIT_CODE_MAX,
                "region_code": REGION_CODE_MAX, "purpose": 40, "lead_kind": 40}


def over_limits(events: list[dict[str, Any]]) -> list[str]:
    """Every text of the events that a consumer sized by the shared limits could not store."""
    over = []
    for e in events:
        for k, v in e["payload"].items():
            if isinstance(v, str) and k in FIELD_LIMITS and len(v) > FIELD_LIMITS[k]:
                over.append(f"{e['type']}.{k}: {len(v)} > {FIELD_LIMITS[k]}")
            if k == "explanation":
                over += [f"{e['type']}.explanation: {len(x)} > {EXPLANATION_LINE_MAX}" for x in v
                         if len(x) > EXPLANATION_LINE_MAX]
    return over


# ------------------------------------------------------------------------------------------ finding 1: roles


async def test_contact_numbers_only_for_the_roles_that_need_them(tmp_path, kafka_bootstrap: str,  # type: ignore[no-untyped-def]
                                                                topic_prefix: str) -> None:
    url = await Databases("sqlite", tmp_path, []).new("triage")
    await seed_directory(url)
    async with run_service("triage", database_url=url, kafka_bootstrap=kafka_bootstrap,
                           topic_prefix=topic_prefix) as svc:
        c = svc.client
        for who in ("admin", "work_team", "operator"):
            units = (await c.get("/v1/units", params={"limit": 50}, headers=auth(who))).json()
            assert units and all(u["contacts"] and u["contacts"]["sms"] for u in units), who
            assert (await c.get(f"/v1/units/{OTHER}", headers=auth(who))).json()["contacts"]["sms"]
        for who in ("frontend", "platform", "leader", "inspector", "supervision_office", "business_environment"):
            r = await c.get("/v1/units", params={"limit": 5000}, headers=auth(who))
            assert r.status_code == 200 and len(r.json()) > 100, who  # the directory, without the numbers
            assert all(u["contacts"] is None for u in r.json()), who
            assert "sms" not in r.text and "1390000" not in r.text, who
            one = await c.get(f"/v1/units/{UNIT}", headers=auth(who))
            assert one.status_code == 200 and one.json()["contacts"] is None, who
            assert (await c.get("/v1/units:export", headers=auth(who))).status_code == 403, who
            assert (await c.get("/v1/units:export", params={"format": "csv"}, headers=auth(who))).status_code == 403
        # a unit sees its own numbers, nobody else's
        units = (await c.get("/v1/units", params={"limit": 5000}, headers=auth("unit"))).json()
        assert [u["code"] for u in units if u["contacts"]] == [UNIT]
        assert (await c.get(f"/v1/units/{UNIT}", headers=auth("unit"))).json()["contacts"]["sms"]
        assert (await c.get(f"/v1/units/{OTHER}", headers=auth("unit"))).json()["contacts"] is None
        assert (await c.get(f"/v1/units/{UNIT}", headers=auth("other_unit"))).json()["contacts"] is None
        # a unit key sees only its own work orders, whatever it filters by
        mine = await receive(svc, "东湖区城关街道一家超市卖过期食品，商家拒绝退款")
        theirs = await receive(svc, "西岭区一家超市卖过期食品，商家拒绝退款", region_code="339902001")
        assert (await triaged(svc, mine))["lead_unit"] == UNIT
        assert (await triaged(svc, theirs))["lead_unit"] == OTHER
        for params in ({}, {"unit": OTHER}):
            listed = (await c.get("/v1/work-orders", params=params, headers=auth("unit"))).json()
            assert {w["ticket_no"] for w in listed} == {mine}
        assert (await c.get(f"/v1/work-orders/{theirs}", headers=auth("unit"))).status_code == 404
        # frontends and platforms talk to intake, leaders read oversight's statistics: no work orders, no catalogue,
        # no corrections from triage
        for who in ("frontend", "platform", "leader"):
            for path in ("/v1/work-orders", f"/v1/work-orders/{mine}", "/v1/catalogue", "/v1/corrections"):
                assert (await c.get(path, headers=auth(who))).status_code == 403, (who, path)


# ------------------------------------------------------------------------------------------ finding 2: formulas


async def test_the_csv_export_runs_no_formula_and_imports_back(databases: Databases, kafka_bootstrap: str,
                                                               topic_prefix: str) -> None:
    url = await databases.new("triage")
    await seed_directory(url)
    async with run_service("triage", database_url=url, kafka_bootstrap=kafka_bootstrap,
                           topic_prefix=topic_prefix) as svc:
        c = svc.client
        rows = [{"code": f"339901-f{i}", "name": name, "level": 3, "kind": "water", "region_code": "339901",
                 "parent_code": "339901-local_government", "contacts": {"sms": name}}
                for i, name in enumerate(FORMULAS)]
        rows.append({"code": "-339901-dash", "name": "水务站", "level": 3, "kind": "water", "region_code": "339901",
                     "parent_code": "339901-local_government"})
        r = await c.post("/v1/units:import", headers=auth("work_team"), json=rows)
        assert r.status_code == 200, r.text
        text = (await c.get("/v1/units:export", params={"format": "csv"}, headers=auth("work_team"))).text
        cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
        live = [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "＝", "＋", "－", "＠")]
        assert live == []
        assert "'=HYPERLINK(" in text and "'-339901-dash" in text
        # the export imports back unchanged (the apostrophes come off again)
        before = (await c.get("/v1/units:export", headers=auth("work_team"))).json()
        r = await c.post("/v1/units:import", params={"mode": "replace"},
                         headers={**auth("work_team"), "content-type": "text/csv"}, content=text.encode())
        assert r.status_code == 200, r.text
        assert (await c.get("/v1/units:export", headers=auth("work_team"))).json() == before
        names = {u["code"]: u["name"] for u in before}
        assert [names[f"339901-f{i}"] for i in range(len(FORMULAS))] == FORMULAS


# ------------------------------------------------------------------------------------------ finding 3: limits


async def test_every_value_intake_may_send_is_triaged_and_what_triage_publishes_fits(
        databases: Databases, kafka_bootstrap: str, topic_prefix: str) -> None:
    url = await databases.new("triage")
    await seed_directory(url)
    # a work-team key whose name is as long as a name may be
    await seed_keys(url, "triage_svc", [{"name": "专" * NAME_MAX, "role": "work_team", "unit": None,
                                         "key": LONG_KEY}])
    long_team = {"Authorization": f"Bearer {LONG_KEY}"}
    async with run_service("triage", database_url=url, kafka_bootstrap=kafka_bootstrap,
                           topic_prefix=topic_prefix) as svc:
        c = svc.client
        # a web ticket with a 500-character title (a formula, too) and 10,000 characters of content is triaged
        content = ("东湖区城关街道一家超市卖过期食品，商家拒绝退款，多次反映推诿扯皮。" * 400)[:CONTENT_MAX]
        big = await receive(svc, content, channel=Channel.web, title=(FORMULAS[0] * 50)[:TITLE_MAX],
                            address="东湖区城关街道人民路" + "号" * (ADDRESS_MAX - 10),
                            region_code="3" * REGION_CODE_MAX, enterprise_name="企" * NAME_MAX, external_id="e" * 200)
        w = await triaged(svc, big)
        assert len(w["content"]) == CONTENT_MAX and w["tier"] == "red" and len(w["address"]) == ADDRESS_MAX
        # a person's longest reasons, by a key with the longest name: stored, and published within the limits
        a = await receive(svc, "东湖区城关街道小区门口的电动车充电桩经常坏，车充不了电")
        await triaged(svc, a)
        reason = "充电设施安全隐患属应急管理。" * (REASON_MAX // 14)
        r = await c.post(f"/v1/work-orders/{a}/reclassify", headers=long_team,
                         json={"department_kind": "emergency", "reason": reason[:REASON_MAX]})
        assert r.status_code == 200, r.text
        r = await c.post(f"/v1/work-orders/{a}/tier", headers=long_team,
                         json={"tier": "red", "reason": reason[:REASON_MAX]})
        assert r.status_code == 200, r.text
        # the correction's reason is quoted in the next similar ticket's explanation
        b = await receive(svc, "东湖区城关街道我们小区门口的电动车充电桩又坏了，充不上电")
        wb = await triaged(svc, b)
        assert any("correction #" in x for x in wb["explanation"])
        w = (await c.get(f"/v1/work-orders/{a}", headers=auth("work_team"))).json()
        assert w["log"][-1]["actor"] == "work_team:" + "专" * NAME_MAX
        assert all(len(x) <= EXPLANATION_LINE_MAX for x in [*w["explanation"], *wb["explanation"]])
        corr = (await c.get("/v1/corrections", headers=auth("work_team"))).json()[0]
        assert corr["created_by"] == "work_team:" + "专" * NAME_MAX
        events = await published(svc)
        assert {"TicketTriaged", "TierChanged", "TierCopyIssued"} <= {e["type"] for e in events}
        assert over_limits(events) == []
        by = [e["payload"]["by"] for e in events if e["type"] == "TierChanged" and not e["payload"]["automatic"]]
        assert by and all(len(x) == NAME_MAX for x in by)


# ------------------------------------------------------------------------------------------ finding 4: no 500


async def test_no_500_from_absurd_input(databases: Databases, kafka_bootstrap: str, topic_prefix: str) -> None:
    url = await databases.new("triage")
    await seed_directory(url)
    async with run_service("triage", database_url=url, kafka_bootstrap=kafka_bootstrap,
                           topic_prefix=topic_prefix) as svc:
        c = svc.client
        wt = auth("work_team")
        no = await receive(svc, "东湖区城关街道一家超市卖过期食品，商家拒绝退款")
        await triaged(svc, no)
        huge = str(2**63)
        probes: list[tuple[str, str, dict[str, Any]]] = [
            ("GET", "/v1/work-orders", {"params": {"offset": huge}}),
            ("GET", "/v1/work-orders", {"params": {"offset": "9" * 40}}),
            ("GET", "/v1/work-orders", {"params": {"limit": huge}}),
            ("GET", "/v1/work-orders", {"params": {"state": "nope\x00"}}),
            ("GET", "/v1/work-orders", {"params": {"unit": "a\x00b"}}),
            ("GET", "/v1/units", {"params": {"offset": huge}}),
            ("GET", "/v1/units", {"params": {"kind": "water\x00"}}),
            ("GET", "/v1/units", {"params": {"region": "33\x00"}}),
            ("GET", "/v1/units", {"params": {"parent": "x\x01"}}),
            ("GET", "/v1/units/a%00b", {}),
            ("GET", "/v1/work-orders/T%00", {}),
            ("POST", "/v1/work-orders/T%00/sign", {}),
            ("GET", "/v1/catalogue", {"params": {"version": huge}}),
            ("POST", f"/v1/catalogue/versions/{huge}:activate", {}),
            ("POST", f"/v1/catalogue/versions/{'9' * 30}:activate", {}),
            ("POST", f"/v1/work-orders/{no}/progress", {"json": {"note": "a\x00b"}}),
            ("POST", f"/v1/work-orders/{no}/return-requests/decision",
             {"json": {"approved": True, "reason": "理由充分", "new_unit": "x\x00"}}),
            ("POST", f"/v1/work-orders/{no}/dispatch", {"json": {"lead_unit": "x" * 1000}}),
            ("POST", f"/v1/work-orders/{no}/reclassify", {"json": {"department_kind": "w\x00", "reason": "理由"}}),
            ("POST", f"/v1/work-orders/{no}/tier", {"json": {"tier": "red", "reason": "理由\x00"}}),
            ("POST", f"/v1/work-orders/{no}/resolution", {"json": {"outcome": "resolved", "reply": "x" * 10_001}}),
        ]
        row = {"code": "339901-zz", "name": "测试站", "level": 3, "kind": "water", "region_code": "339901",
               "parent_code": "339901-local_government"}
        for bad in ({"name": "测试\x00站"}, {"name": "\x07"}, {"parent_code": "a\x00"}, {"level": 1e308},
                    {"level": 2.5}, {"level": True}, {"level": "1e400"}, {"kind": "w\x00" * 1000},
                    {"contacts": {"sms": "139\x00"}}, {"contacts": {"sms\x00": "1"}}, {"contacts": {"a": {"b": 1}}},
                    {"contacts": '{"sms": NaN}'}, {"contacts": "[" * 100_000}, {"code": "a\x00"}):
            probes.append(("POST", "/v1:import-json", {"json": [{**row, **bad}]}))
        probes += [
            ("POST", "/v1/units:import", {"content": b"code,name\n\x00,x\n", "headers": {"content-type": "text/csv"}}),
            ("POST", "/v1/units:import", {"content": "code,name,level,kind,region_code,parent_code,contacts,active\n"
                                          "339901-zz,测\x01试,3,water,339901,339901-local_government,,true\n".encode(),
                                          "headers": {"content-type": "text/csv"}}),
            ("POST", "/v1/units:import", {"content": b"code,name\n" + b"x" * 200_000 + b",y\n",
                                          "headers": {"content-type": "text/csv"}}),
            ("POST", "/v1/units:import", {"content": b"\xff\xfe", "headers": {"content-type": "text/csv"}}),
            ("POST", "/v1/units:import", {"content": b"[" * 5000}),
            ("POST", "/v1/units:import", {"content": b"[1e400]"}),
            ("POST", "/v1/units:import", {"content": b'[{"level": 123456789012345678901234567890}]'}),
        ]
        cat = (await c.get("/v1/catalogue", headers=wt)).json()["catalogue"]
        for change in ({"name": "目录\x00"}, {"min_score": "x"}, {"model_temperature": 0},
                       {"tier_rules": {**cat["tier_rules"], "coordination": [{"min_units": "x", "tier": "red"}]}},
                       {"tier_rules": {**cat["tier_rules"], "repeats": [{"min_repeats": 1e308, "tier": "red"}]}},
                       {"tier_rules": {**cat["tier_rules"], "response_level": {"red": 9}}},
                       {"tier_rules": {**cat["tier_rules"], "copy": {"red": {"on": "tier", "purpose": "p" * 41,
                                                                             "to_kinds": ["discipline"]}}}},
                       {"knowledge": [{"id": "k" * 65, "answer": "x"}]},
                       {"knowledge": [{"id": "k", "answer": "x" * (CONTENT_MAX + 1)}]},
                       {"rules": [{**cat["rules"][0], "kind": "k" * 41}]},
                       {"category_cues": [["consult", "问"]]}):
            probes.append(("PUT", "/v1/catalogue", {"json": {"catalogue": {**cat, **change}}}))
        probes += [
            ("PUT", "/v1/catalogue", {"content": b'{"catalogue": {"rules": [], "min_score": NaN}}',
                                      "headers": {"content-type": "application/json"}}),
            ("PUT", "/v1/catalogue", {"content": b'{"catalogue": {"x": ' + b"1" * 5000 + b"}}",
                                      "headers": {"content-type": "application/json"}}),
            ("PUT", "/v1/catalogue", {"json": {"catalogue": cat, "note": "说明\x00"}}),
        ]
        failed = []
        for method, path, kw in probes:
            path = "/v1/units:import" if path == "/v1:import-json" else path
            r = await c.request(method, path, headers={**wt, **kw.pop("headers", {})}, **kw)
            if r.status_code >= 500 or r.status_code < 400:
                failed.append(f"{method} {path} {str(kw)[:120]}: {r.status_code} {r.text[:200]}")
            elif r.status_code == 422 and r.json().get("type", "").endswith("/validation"):
                assert r.json().get("errors"), r.text  # a validation problem names the field
        assert failed == []
        # nothing of that was stored: the directory and the catalogue still work, a new ticket is triaged
        assert (await c.get("/v1/catalogue", headers=wt)).json()["version"] == 0
        assert (await c.get("/v1/units/339901-zz", headers=wt)).status_code == 404
        assert (await triaged(svc, await receive(svc, "东湖区城关街道的菜市场有人缺斤短两")))["state"] == "dispatched"
