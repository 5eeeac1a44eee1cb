"""The yearly assessment over HTTP with the real broker: an admin sets scheme versions, a year's counted facts (work
orders, signings, results, return visits, an overdue alarm, an escalation, an accountability record) become each
unit's score, rank and explanations; an old version reproduces its old scores; roles, a unit key's own row, the
validation problems (nothing stored), the CSV and XLSX files. SQLite and PostgreSQL."""

from __future__ import annotations

import io
from typing import Any

from oversight_helpers import at, by_unit, ev, produce

from bancheng_services.testing import OTHER_UNIT, TEST_UNIT, Databases, RunningService, auth, eventually, run_service
from bancheng_shared.contracts.sla import AlertRaised, ClockStarted, EscalatedToSupervision
from bancheng_shared.contracts.triage import ResolutionSubmitted, TicketDispatched, TicketSigned

A, B, C = TEST_UNIT, OTHER_UNIT, "339901-urban_management"
NAMES = {A: "江北区市场监督管理局", B: "江南区市场监督管理局", C: "江北区城市管理局"}
YEAR = {"from": "2025-01-01", "to": "2025-12-31"}
V1 = {"measures": {"response_rate": 40, "satisfaction_rate": 40, "on_time_rate": 20},
      "deductions": {"overdue": 2, "supervised": 3, "accountability": 5}, "min_sample": 3,
      "reason": "2025 年度考核方案：响应与满意并重，超期、督办、问责扣分"}
V2 = {"measures": {"response_rate": 100}, "deductions": {}, "min_sample": 1,
      "reason": "试算：只看响应率（市政府办公室 2025-12-20 会议要求）"}


def work_order(no: str, unit: str, *, signed_h: float, resolved_d: float) -> list[Any]:
    """Dispatched on 3 March 2025, sla's clock (accept in 2 days, resolve in 7), signed, resolved."""
    return [ev(TicketDispatched(lead_unit=unit, lead_unit_name=NAMES[unit], unit_level=2,
                                region_code=unit.split("-")[0] + "001", tier="green", response_level=2,
                                dispatched_at=at()), no),
            ev(ClockStarted(unit=unit, started_at=at(), accept_due=at(days=2), resolve_due=at(days=7),
                            working_days=5, calendar_version="cn-test"), no),
            ev(TicketSigned(unit=unit, signed_at=at(signed_h)), no),
            ev(ResolutionSubmitted(unit=unit, outcome="resolved", reply="已现场核查并督促商户整改",
                                   submitted_at=at(days=resolved_d)), no)]


async def visit(svc: RunningService, no: str, resolved: str, satisfaction: str, **more: Any) -> None:
    async def due() -> bool:
        r = await svc.client.get("/v1/return-visits/due", headers=auth("work_team"))
        return any(x["ticket_no"] == no for x in r.json())

    await eventually(due)
    r = await svc.client.post(f"/v1/tickets/{no}/return-visits", headers=auth("work_team"),
                              json={"resolved": resolved, "satisfaction": satisfaction,
                                    "visited_at": at(days=9).isoformat(), **more})
    assert r.status_code == 201, r.text


async def get(svc: RunningService, who: str = "leader", **params: Any) -> dict[str, Any]:
    r = await svc.client.get("/v1/assessment/2025", params=params, headers=auth(who))
    assert r.status_code == 200, r.text
    return dict(r.json())


async def put(svc: RunningService, body: dict[str, Any], who: str = "admin", year: int = 2025) -> Any:
    return await svc.client.put(f"/v1/assessment/schemes/{year}", json=body, headers=auth(who))


def units(out: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return by_unit([*out["ranked"], *out["not_ranked"]])


async def feed_the_year(svc: RunningService, bootstrap: str, prefix: str) -> None:
    envs: list[Any] = []
    for i in range(1, 5):  # A: A4 signed after the window (72 h); all resolved in time
        envs += work_order(f"A{i}", A, signed_h=72 if i == 4 else i, resolved_d=4)
    for i in range(1, 4):  # B: B3 resolved after its deadline, the alarm raised
        envs += work_order(f"B{i}", B, signed_h=1, resolved_d=8 if i == 3 else 4)
    envs += work_order("C1", C, signed_h=1, resolved_d=3)  # C: one work order, never visited
    envs += [ev(AlertRaised(level="alarm", unit=B, raised_at=at(days=7, hours=1)), "B3"),
             ev(EscalatedToSupervision(unit=A, reason="催办后仍未办结", at=at(days=6)), "A4")]
    await produce(bootstrap, prefix, envs)
    for no, res, sat in (("A1", "yes", "satisfied"), ("A2", "yes", "basically_satisfied"),
                         ("A4", "yes", "satisfied"), ("B1", "yes", "satisfied"), ("B2", "yes", "satisfied"),
                         ("B3", "yes", "basically_satisfied")):
        await visit(svc, no, res, sat)
    await visit(svc, "A3", "partly", "unsatisfied", cause="objective")
    r = await svc.client.post("/v1/accountability", headers=auth("inspector"), json={
        "unit": B, "person": {"name": "周建国", "post": "市场监管所所长"}, "measure": "criticism",
        "reason_category": "慢作为", "reason": "超期办结且未说明原因", "decided_at": "2025-06-02T02:00:00Z"})
    assert r.status_code == 201, r.text

    async def counted() -> Any:
        r = await svc.client.get("/v1/stats/units", params=YEAR, headers=auth("leader"))
        rows = by_unit(r.json())
        want = {A: {"signed_in_time": 3, "supervised": 1, "visited": 4}, B: {"overdue": 1, "accountability": 1},
                C: {"resolved_in_time": 1}}
        return all(rows.get(u, {}).get(k) == v for u, kv in want.items() for k, v in kv.items())

    await eventually(counted)


async def test_scores_ranks_explanations_and_versions(databases: Databases, kafka_bootstrap: str,
                                                      topic_prefix: str) -> None:
    url = await databases.new("oversight")
    async with run_service("oversight", database_url=url, kafka_bootstrap=kafka_bootstrap, topic_prefix=topic_prefix,
                           open_cases_for_escalation=False) as svc:
        # a fresh system answers with the shipped default (version 0): nobody has the 20 work orders to be ranked
        fresh = await get(svc)
        assert fresh["scheme"]["version"] == 0 and fresh["scheme"]["min_sample"] == 20
        assert fresh["ranked"] == [] and fresh["not_ranked"] == []

        await feed_the_year(svc, kafka_bootstrap, topic_prefix)
        default = await get(svc)
        assert default["scheme"]["version"] == 0 and default["ranked"] == []
        assert sorted(u["unit"] for u in default["not_ranked"]) == sorted([A, B, C])

        r = await put(svc, V1)
        assert r.status_code == 201, r.text
        v1 = r.json()
        assert (v1["version"], v1["created_by"], v1["created_role"]) == (1, "test admin", "admin")
        assert v1["reason"] == V1["reason"] and v1["created_at"]

        out = await get(svc)
        assert out["scheme"]["version"] == 1
        assert out["city"] == {"response_rate": 0.875, "satisfaction_rate": round(6 / 7, 4), "on_time_rate": 0.875}
        assert [(u["unit"], u["rank"]) for u in out["ranked"]] == [(B, 1), (A, 2)]
        u = units(out)
        # A: response 3/4 × 40 = 30, satisfaction 3/4 × 40 = 30, on time 4/4 × 20 = 20; one escalation −3
        assert (u[A]["rated_points"], u[A]["deducted_points"], u[A]["score"]) == (80.0, 3.0, 77.0)
        # B: 40 + 40 + 2/3 × 20 (13.33); one overdue −2, one accountability record −5
        assert (u[B]["rated_points"], u[B]["deducted_points"], u[B]["score"]) == (93.33, 7.0, 86.33)
        # C: one work order, below the minimum of 3: scored (no visit: the city's 85.7%), not ranked
        assert [x["unit"] for x in out["not_ranked"]] == [C]
        assert (u[C]["rank"], u[C]["score"]) == (None, 94.28)
        lines = {m["measure"]: m["explanation"] for m in u[C]["measures"]}
        assert lines["satisfaction_rate"] == "满意率 无回访样本，按全市 85.7% 计，得 34.28/40 分"
        assert u[C]["explanation"] == ("总分 94.28 分（指标得分 94.28，扣分 0），"
                                       "派单 1 件，少于最低样本 3 件，不参加排名")
        lines = {m["measure"]: m["explanation"] for m in u[B]["measures"]}
        assert lines["on_time_rate"] == "按时办结率 66.7%（办结 3，全市 87.5%），得 13.33/20 分"
        assert {d["deduction"]: d["explanation"] for d in u[B]["deductions"]} == {
            "overdue": "超期工单 1 件，每件扣 2 分，扣 2 分", "supervised": "督办 0 件，不扣分",
            "accountability": "问责 1 起，每起扣 5 分，扣 5 分"}
        assert u[A]["explanation"] == "总分 77 分（指标得分 80，扣分 3），第 2 名（共 2 个单位参加排名）"
        assert u[A]["name"] == NAMES[A]

        # a second version: response rate only, everyone ranked; B and C tie
        assert (await put(svc, V2)).status_code == 201
        out2 = await get(svc)
        assert out2["scheme"]["version"] == 2
        # (ties in the order of their unit codes)
        assert [(x["unit"], x["rank"], x["score"]) for x in out2["ranked"]] == [(C, 1, 100.0), (B, 1, 100.0),
                                                                                 (A, 3, 75.0)]
        assert units(out2)[C]["explanation"].endswith("并列第 1 名（共 3 个单位参加排名）")
        # the old version reproduces the old scores exactly; version 0 is the default
        assert await get(svc, version=1) == out
        assert await get(svc, version=0) == default
        r = await svc.client.get("/v1/assessment/2025", params={"version": 7}, headers=auth("leader"))
        assert r.status_code == 404 and r.json()["type"].endswith("/unknown-scheme-version")

        history = (await svc.client.get("/v1/assessment/schemes/2025", headers=auth("leader"))).json()
        assert history["current"] == 2 and [v["version"] for v in history["versions"]] == [0, 1, 2]
        assert history["versions"][2]["reason"] == V2["reason"]
        assert history["versions"][0]["created_by"] == "系统默认"
        # another year has only the default, and no units
        other = (await svc.client.get("/v1/assessment/schemes/2024", headers=auth("work_team"))).json()
        assert [v["version"] for v in other["versions"]] == [0]
        r = await svc.client.get("/v1/assessment/2024", headers=auth("leader"))
        assert r.json()["ranked"] == [] and r.json()["not_ranked"] == []

        # who may read: the offices, leaders, the work team; a unit key its own row only; inspectors and others not
        for who in ("supervision_office", "business_environment", "work_team", "admin"):
            assert await get(svc, who) == out2, who
        mine = await get(svc, "unit", version=1)
        assert [x["unit"] for x in mine["ranked"]] == [A] and mine["not_ranked"] == []
        assert mine["ranked"][0]["rank"] == 2  # its rank among all units
        theirs = await get(svc, "other_unit")
        assert [x["unit"] for x in theirs["ranked"]] == [B]
        for who, status in (("inspector", 403), ("operator", 403), ("frontend", 403)):
            r = await svc.client.get("/v1/assessment/2025", headers=auth(who))
            assert r.status_code == status and r.headers["content-type"].startswith("application/problem+json")
        assert (await svc.client.get("/v1/assessment/2025")).status_code == 401
        assert (await svc.client.get("/v1/assessment/schemes/2025", headers=auth("inspector"))).status_code == 403

        # the files: Chinese headers, ranked units first, the explanation in its column
        r = await svc.client.get("/v1/assessment/2025", params={"format": "csv", "version": 1},
                                 headers=auth("leader"))
        assert r.status_code == 200 and r.content.startswith(b"\xef\xbb\xbf")
        text = r.content.decode("utf-8-sig").splitlines()
        assert text[0].startswith("排名,单位代码,单位名称,区划代码,总分,指标得分,扣分,年度派单,说明,响应率（%）")
        assert [line.split(",")[1] for line in text[1:]] == [B, A, C]
        assert "不排名" in text[3]
        r = await svc.client.get("/v1/assessment/2025", params={"format": "xlsx"}, headers=auth("unit"))
        from openpyxl import load_workbook

        sheet = load_workbook(io.BytesIO(r.content)).active
        values = [[c.value for c in row] for row in sheet.iter_rows()]
        assert values[1][:5] == ["排名", "单位代码", "单位名称", "区划代码", "总分"]
        assert [row[1] for row in values[2:]] == [A]  # the unit key's file holds its own row only


async def test_scheme_changes_are_checked_and_admin_only(databases: Databases, kafka_bootstrap: str,
                                                         topic_prefix: str) -> None:
    url = await databases.new("oversight")
    async with run_service("oversight", database_url=url, kafka_bootstrap=kafka_bootstrap,
                           topic_prefix=topic_prefix) as svc:
        bad: list[tuple[dict[str, Any], int, list[str]]] = [
            ({**V1, "measures": {"response_rate": 40, "satisfaction_rate": 40}}, 422, ["measures"]),
            ({**V1, "measures": {**V1["measures"], "好评率": 0}}, 422, ["measures.好评率"]),
            ({**V1, "measures": {"response_rate": 120, "satisfaction_rate": -20}}, 422,
             ["measures.response_rate", "measures.satisfaction_rate"]),
            ({**V1, "deductions": {"overdue": -1, "complaints": 1}}, 422,
             ["deductions.overdue", "deductions.complaints"]),
            ({**V1, "min_sample": -5}, 422, ["min_sample"]),
            ({**V1, "measures": {"response_rate": "很多"}}, 422, ["measures.response_rate"]),
            ({k: v for k, v in V1.items() if k != "reason"}, 422, ["reason"]),
            ({**V1, "reason": ""}, 422, ["reason"]),
            ({**V1, "weights": {}}, 422, ["weights"]),
        ]
        for body, status, fields in bad:
            r = await put(svc, body)
            assert r.status_code == status, (body, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
            assert [e["field"] for e in r.json()["errors"]] == fields, r.json()
        r = await put(svc, V1, year=1980)
        assert r.status_code == 422 and r.json()["type"].endswith("/period-out-of-range")
        assert r.json()["detail"].startswith("year:")
        for who in ("leader", "supervision_office", "business_environment", "work_team", "unit"):
            assert (await put(svc, V1, who)).status_code == 403, who
        # nothing was stored by any refused request
        history = (await svc.client.get("/v1/assessment/schemes/2025", headers=auth("leader"))).json()
        assert [v["version"] for v in history["versions"]] == [0] and history["current"] == 0
        assert (await put(svc, V1)).status_code == 201
        assert (await put(svc, V1)).json()["version"] == 2  # the same numbers again: still a new version
