"""The three rates against a hand-checked data set (one unit closes without solving), rankings with a
minimum sample, order tolerance, unit scoping, bad periods; rates by dispatch cohort across a month's edge (facts
before the dispatch included) and the rebuild-rollups command. Real broker, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from oversight_helpers import at, by_unit, ev, produce
from sqlalchemy import text

from bancheng_services.testing import Databases, RunningService, auth, eventually, run_service
from bancheng_shared.contracts.intake import TicketReceived
from bancheng_shared.contracts.sla import AlertRaised, ClockStarted, DeemedSigned
from bancheng_shared.contracts.triage import (
    ResolutionSubmitted,
    TicketAnswered,
    TicketDispatched,
    TicketSigned,
    TicketTriaged,
)

A, B, C = "339901-market_regulation", "339902-market_regulation", "339901-urban_management"
PERIOD = {"from": "2025-03-01", "to": "2025-03-31"}


def dispatch(no: str, unit: str) -> list[Any]:
    region = unit.split("-")[0] + "001"
    return [ev(TicketDispatched(lead_unit=unit, lead_unit_name=f"name of {unit}", unit_level=2, region_code=region,
                                tier="green", response_level=2, dispatched_at=at()), no)]


def clock(no: str, unit: str) -> Any:
    return ev(ClockStarted(unit=unit, started_at=at(), accept_due=at(days=2), resolve_due=at(days=7),
                           working_days=5, calendar_version="cn-test"), no)


def signed(no: str, unit: str, hours: float) -> Any:
    return ev(TicketSigned(unit=unit, signed_at=at(hours)), no)


def resolved(no: str, unit: str, outcome: str = "resolved") -> Any:
    return ev(ResolutionSubmitted(unit=unit, outcome=outcome, reply="done", submitted_at=at(days=4)), no)


async def visit(svc: RunningService, no: str, **body: Any) -> dict[str, Any]:
    async def due() -> bool:
        r = await svc.client.get("/v1/return-visits/due", headers=auth("work_team"))
        return any(x["ticket_no"] == no for x in r.json())

    await eventually(due)
    body.setdefault("visited_at", at(days=5).isoformat())
    r = await svc.client.post(f"/v1/tickets/{no}/return-visits", headers=auth("work_team"), json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def stats(svc: RunningService, who: str = "leader", **params: str) -> list[dict[str, Any]]:
    r = await svc.client.get("/v1/stats/units", params={**PERIOD, **params}, headers=auth(who))
    assert r.status_code == 200, r.text
    return list(r.json())


async def test_three_rates_hand_checked(databases: Databases, kafka_bootstrap: str, topic_prefix: str) -> None:
    url = await databases.new("oversight")
    async with run_service("oversight", database_url=url, kafka_bootstrap=kafka_bootstrap, topic_prefix=topic_prefix,
                           gap_threshold=0.5, gap_min_sample=3, ranking_min_sample=2) as svc:
        envs: list[Any] = []
        for i in range(1, 5):
            envs += [*dispatch(f"A{i}", A), clock(f"A{i}", A)]
        for i in range(1, 4):
            envs += dispatch(f"B{i}", B)
        envs += [*dispatch("C1", C), clock("C1", C), clock("B1", B), clock("B3", B)]
        envs += [signed("A1", A, 1), signed("A2", A, 2), signed("A3", A, 3),
                 ev(DeemedSigned(unit=A, at=at(days=2, hours=1)), "A4"), signed("C1", C, 1),
                 signed("B1", B, 1), signed("B3", B, 5),
                 signed("B2", B, 72)]  # late, but sla's clock for B2 is not known yet: counted provisionally
        envs += [resolved(n, A) for n in ("A1", "A2", "A3", "A4")]
        envs += [resolved(n, B) for n in ("B1", "B2", "B3")] + [resolved("C1", C)]
        await produce(kafka_bootstrap, topic_prefix, envs)

        async def provisional() -> Any:
            rows = by_unit(await stats(svc))
            return rows if rows.get(B, {}).get("signed") == 3 else None

        assert (await eventually(provisional))[B]["signed_in_time"] == 3
        await produce(kafka_bootstrap, topic_prefix, [clock("B2", B)])  # the clock arrives after the sign

        async def corrected() -> Any:
            rows = by_unit(await stats(svc))
            return rows if rows[B]["signed_in_time"] == 2 else None

        await eventually(corrected)

        await visit(svc, "A1", resolved="yes", satisfaction="satisfied")
        await visit(svc, "A2", resolved="yes", satisfaction="basically_satisfied")
        await visit(svc, "A3", resolved="partly", satisfaction="unsatisfied", cause="objective")
        await visit(svc, "A4", satisfaction="unreachable")
        v = await visit(svc, "B1", resolved="no", satisfaction="unsatisfied", cause="subjective")
        assert v["redo"] is True
        await visit(svc, "B2", resolved="no", satisfaction="unsatisfied", cause="objective")
        await visit(svc, "B3", resolved="partly", satisfaction="basically_satisfied")
        await visit(svc, "C1", resolved="yes", satisfaction="satisfied")

        async def settled() -> Any:
            # A4's DeemedSigned comes on sla's topic: the visits above do not wait for it
            rows = by_unit(await stats(svc))
            return rows if rows[A]["signed"] == 4 else None

        rows = await eventually(settled)
        a, b, c = rows[A], rows[B], rows[C]
        # A: 4 dispatched, 3 signed in time (A4 deemed); 3 reached visits (A4 unreachable), 2 say resolved,
        # 2 (basically) satisfied
        assert (a["dispatched"], a["signed_in_time"], a["deemed_signed"]) == (4, 3, 1)
        assert (a["visited"], a["unreachable"], a["visit_yes"]) == (3, 1, 2)
        assert a["response_rate"] == 0.75
        assert a["resolution_rate"] == round(2 / 3, 4)
        assert a["satisfaction_rate"] == round(2 / 3, 4)
        assert a["closes_without_solving"] is False  # 1 of 3 claims denied < 0.5
        # B reports every ticket resolved; the people say none was: flagged
        assert b["response_rate"] == round(2 / 3, 4)
        assert b["self_reported_resolution_rate"] == 1.0
        assert b["resolution_rate"] == 0.0
        assert b["satisfaction_rate"] == round(1 / 3, 4)
        assert (b["claimed_visited"], b["claimed_denied"], b["redone"]) == (3, 3, 1)
        assert b["closes_without_solving"] is True
        assert (c["response_rate"], c["resolution_rate"], c["satisfaction_rate"]) == (1.0, 1.0, 1.0)
        assert all(r["region_code"] for r in rows.values())

        ov = (await svc.client.get("/v1/stats/overview", params=PERIOD, headers=auth("leader"))).json()
        t = ov["totals"]
        assert (t["dispatched"], t["signed_in_time"], t["visited"], t["visit_yes"]) == (8, 6, 7, 3)
        assert t["response_rate"] == 0.75
        assert t["resolution_rate"] == round(3 / 7, 4)
        assert t["satisfaction_rate"] == round(4 / 7, 4)
        sat = ov["rankings"]["satisfaction_rate"]
        assert [x["unit"] for x in sat["best"]] == [A, B]  # C has 1 visit < minimum sample 2: not ranked
        assert [x["unit"] for x in sat["worst"]] == [B, A]
        assert sat["not_ranked"] == 1
        assert [x["unit"] for x in ov["closes_without_solving"]] == [B]
        assert "响应率" in ov["definitions"]["response_rate"]
        region = (await svc.client.get("/v1/stats/overview", params={**PERIOD, "region": "339901"},
                                       headers=auth("leader"))).json()
        assert region["totals"]["dispatched"] == 5 and region["totals"]["response_rate"] == 0.8

        # a unit key sees only its own unit, whatever it asks for
        own = await stats(svc, "unit", unit=B)
        assert [r["unit"] for r in own] == [A]
        r = await svc.client.get("/v1/stats/overview", params=PERIOD, headers=auth("unit"))
        assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json")
        # a period outside March sees nothing; bad periods are problems
        assert await stats(svc, **{"from": "2025-04-01", "to": "2025-04-30"}) == []
        for bad in ({"from": "2025-03-31", "to": "2025-03-01"}, {"from": "1800-01-01", "to": "2025-03-01"}):
            r = await svc.client.get("/v1/stats/units", params=bad, headers=auth("leader"))
            assert r.status_code == 422, r.text
            assert r.headers["content-type"].startswith("application/problem+json")


async def test_direct_answers_count_in_the_hotline_centres_response_rate(
        databases: Databases, kafka_bootstrap: str, topic_prefix: str) -> None:
    hotline = "3399-hotline_center"

    def answered(no: str, hours: float) -> list[Any]:
        return [ev(TicketTriaged(category="consult", domain="public_service", department_kinds=["hotline_center"],
                                 tier="green", response_level=3, route="answer", region_code="339901001",
                                 answer_unit=hotline), no, when=at()),
                # sla's level-3 clock: one working day to answer, inside the usual two-day acceptance window
                ev(ClockStarted(unit=hotline, started_at=at(), accept_due=at(days=2), resolve_due=at(days=1),
                                working_days=1, calendar_version="cn-test"), no),
                ev(TicketAnswered(answer="请携带身份证到社保窗口办理。", answered_at=at(hours)), no)]

    url = await databases.new("oversight")
    async with run_service("oversight", database_url=url, kafka_bootstrap=kafka_bootstrap,
                           topic_prefix=topic_prefix) as svc:
        # two answered within the working day, one on the second day (late though inside two days)
        await produce(kafka_bootstrap, topic_prefix, [*answered("Q1", 2), *answered("Q2", 5), *answered("Q3", 30)])

        async def counted() -> Any:
            row = by_unit(await stats(svc)).get(hotline)
            return row if row and row["signed"] == 3 else None

        row = await eventually(counted)
        assert (row["dispatched"], row["signed_in_time"]) == (3, 2)
        assert row["response_rate"] == round(2 / 3, 4)


MARCH_31_20H = datetime(2025, 3, 31, 12, 0, tzinfo=UTC)  # 20:00 in Shanghai
MARCH, APRIL = {"from": "2025-03-01", "to": "2025-03-31"}, {"from": "2025-04-01", "to": "2025-04-30"}
COHORT_KEYS = ("dispatched", "signed", "signed_in_time", "deemed_signed", "resolved", "resolved_in_time", "overdue",
               "visited", "visit_yes", "satisfied", "response_rate", "resolution_rate", "satisfaction_rate")


def edge_ticket(no: str, *, after_dispatch: bool = True) -> tuple[list[Any], list[Any]]:
    """A work order dispatched on 31 March 20:00: (its dispatch, what follows on 1 and 2 April)."""
    t = MARCH_31_20H
    first = [ev(TicketReceived(channel="hotline", content="超市卖过期牛奶", region_code="339901001",
                               received_at=t - timedelta(hours=1)), no),
             ev(TicketDispatched(lead_unit=A, lead_unit_name=f"name of {A}", unit_level=2, region_code="339901001",
                                 tier="green", response_level=2, dispatched_at=t), no)]
    later = [ev(ClockStarted(unit=A, started_at=t, accept_due=t + timedelta(days=2), resolve_due=t + timedelta(days=7),
                             working_days=5, calendar_version="cn-test"), no)]
    if after_dispatch:
        later += [ev(TicketSigned(unit=A, signed_at=t + timedelta(hours=14)), no),
                  ev(ResolutionSubmitted(unit=A, outcome="resolved", reply="done", submitted_at=t + timedelta(days=2)),
                     no)]
    else:  # sla's facts only: they may come before triage's dispatch
        later += [ev(DeemedSigned(unit=A, at=t + timedelta(days=2)), no),
                  ev(AlertRaised(level="alarm", unit=A, raised_at=t + timedelta(days=8)), no)]
    return first, later


async def cohort_rows(svc: RunningService) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    march = by_unit(await stats(svc, **MARCH))[A]
    return {k: march[k] for k in COHORT_KEYS}, await stats(svc, **APRIL)


async def test_rates_by_dispatch_cohort_across_the_month_edge_and_the_rebuild(
        databases: Databases, kafka_bootstrap: str, topic_prefix: str) -> None:
    # the probe: three tickets dispatched on 31 March 20:00 and signed on 1 April gave April a response
    # rate of 3.0 and March 0; by cohort March has 1.0 and April nothing. A fourth one's sla facts (deemed sign,
    # alarm) arrive before its dispatch and are counted when the dispatch comes, in March, once.
    url = await databases.new("oversight")
    async with run_service("oversight", database_url=url, kafka_bootstrap=kafka_bootstrap,
                           topic_prefix=topic_prefix) as svc:
        d4, early = edge_ticket("E4", after_dispatch=False)
        await produce(kafka_bootstrap, topic_prefix, early)

        async def held() -> bool:
            async with svc.runtime.sm() as s:
                r = (await s.execute(text("SELECT signed_at, overdue, dispatch_day FROM rounds "
                                          "WHERE ticket_no = 'E4'"))).first()
            return r is not None and r[0] is not None and bool(r[1]) and r[2] is None

        await eventually(held)
        assert await stats(svc, **MARCH) == [] and await stats(svc, **APRIL) == []  # nothing counted yet
        envs = list(d4)
        for no in ("E1", "E2", "E3"):
            first, later = edge_ticket(no)
            envs += first + later
        await produce(kafka_bootstrap, topic_prefix, envs)

        async def counted() -> Any:
            rows = by_unit(await stats(svc, **MARCH))
            return rows if rows.get(A, {}).get("resolved") == 3 and rows[A]["signed"] == 4 else None

        await eventually(counted)
        await visit(svc, "E1", resolved="yes", satisfaction="satisfied", visited_at="2025-04-05T02:00:00+00:00")
        await visit(svc, "E2", resolved="partly", satisfaction="basically_satisfied",
                    visited_at="2025-04-05T03:00:00+00:00")
        march, april = await cohort_rows(svc)
        assert march == {"dispatched": 4, "signed": 4, "signed_in_time": 3, "deemed_signed": 1, "resolved": 3,
                         "resolved_in_time": 3, "overdue": 1, "visited": 2, "visit_yes": 1, "satisfied": 1,
                         "response_rate": 0.75, "resolution_rate": 0.5, "satisfaction_rate": 1.0}
        assert april == []  # nothing was dispatched in April: no figures, no rate above 1

        # old periods: rounds as stored before they kept their dispatch day, and rollups counted on the fact days
        async with svc.runtime.sm() as s, s.begin():
            await s.execute(text("UPDATE rounds SET dispatch_day = NULL, sign_deemed = NULL"))
            await s.execute(text("UPDATE rollups SET signed = 0, signed_in_time = 0, deemed_signed = 0, resolved = 0,"
                                 " resolved_in_time = 0, overdue = 0, visited = 0, visit_yes = 0, satisfied = 0"))
            await s.execute(text("INSERT INTO rollups (grain, period, unit, signed, signed_in_time) "
                                 "VALUES ('m', '2025-04-01', :u, 3, 3)"), {"u": A})
        r = await svc.client.get("/v1/stats/units", params=APRIL, headers=auth("leader"))
        assert r.json()[0]["response_rate"] is None and r.json()[0]["signed_in_time"] == 3  # what it was like
    for _ in range(2):  # the command, run twice: the same result
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "oversight_svc", "rebuild-rollups",
            env={**os.environ, "OVERSIGHT_DATABASE_URL": url}, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        out, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()
        assert "'rounds': 4" in out.decode() and "'uncounted': 0" in out.decode()
    async with run_service("oversight", database_url=url, kafka_bootstrap=kafka_bootstrap,
                           topic_prefix=topic_prefix) as svc:
        again, april = await cohort_rows(svc)
        assert again == march
        assert all(row["response_rate"] is None and row["signed_in_time"] == 0 for row in april)
