"""Extensions, pause/resume, return requests and re-dispatch, redo rounds, stopping events."""

from __future__ import annotations

from sla_helpers import (
    closed,
    dispatched,
    feed,
    local,
    published,
    reopened,
    resolved,
    return_decided,
    return_requested,
    sla_service,
)
from sqlalchemy import func, select

from bancheng_services.testing import OTHER_UNIT, Databases, auth
from sla_svc.adapters.tables import extension_requests


async def _at(svc, when: str) -> int:  # type: ignore[no-untyped-def]
    r = await svc.client.put("/v1/clock", headers=auth("work_team"), json={"now": when})
    assert r.status_code == 200, r.text
    return int(r.json()["fired"])


async def _clock(svc, ticket: str, who: str = "work_team", round_: int = -1) -> dict:  # type: ignore[no-untyped-def]
    r = await svc.client.get(f"/v1/clocks/{ticket}", headers=auth(who))
    assert r.status_code == 200, r.text
    return r.json()["rounds"][round_]


async def _levels(svc, ticket: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [e["payload"]["level"] for e in await published(svc, ticket, "AlertRaised")]


async def test_extension_moves_the_deadline_and_the_pending_alerts(databases: Databases) -> None:
    url = await databases.new("sla")
    async with sla_service(url) as svc:
        await _at(svc, "2026-09-30T10:00:00+08:00")
        await feed(svc, dispatched("T3", local("2026-09-30 10:00")))
        assert await _at(svc, "2026-10-12T09:00:00+08:00") == 2  # warning (deemed signed) and urgent
        assert (await _clock(svc, "T3"))["alert_level"] == "urgent"
        path = "/v1/clocks/T3/extension-requests"
        # another unit cannot see it; more than 5 days; unknown ticket
        r = await svc.client.post(path, headers=auth("other_unit"), json={"days": 2, "reason": "需现场核查"})
        assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
        r = await svc.client.post(path, headers=auth("unit"), json={"days": 6, "reason": "需现场核查"})
        assert r.status_code == 422 and "days" in r.json()["detail"]
        r = await svc.client.post("/v1/clocks/NOPE/extension-requests", headers=auth("unit"),
                                  json={"days": 2, "reason": "需现场核查"})
        assert r.status_code == 404 and "NOPE" in r.json()["detail"]
        r = await svc.client.post(path, headers=auth("unit"), json={"days": 3, "reason": "需现场核查"})
        assert r.status_code == 201, r.text
        rid = r.json()["id"]
        # the work team's list of requests to rule on; a unit key sees only its own unit's
        pending = await svc.client.get("/v1/extension-requests", params={"state": "pending"},
                                       headers=auth("work_team"))
        assert [(e["id"], e["ticket_no"], e["days"]) for e in pending.json()["items"]] == [(rid, "T3", 3)]
        assert pending.json()["total"] == 1
        r = await svc.client.get("/v1/extension-requests", headers=auth("other_unit"))
        assert r.status_code == 200 and r.json()["items"] == []
        r = await svc.client.get("/v1/extension-requests", params={"unit": "339902-market_regulation"},
                                 headers=auth("unit"))
        assert r.status_code == 403
        r = await svc.client.post(path, headers=auth("unit"), json={"days": 1, "reason": "再延"})
        assert r.status_code == 409 and "already requested" in r.json()["detail"]
        r = await svc.client.post(f"{path}/{rid}/decision", headers=auth("unit"), json={"approved": True})
        assert r.status_code == 403
        r = await svc.client.post(f"{path}/{rid}/decision", headers=auth("work_team"),
                                  json={"approved": True, "reason": "同意"})
        assert r.status_code == 200, r.text
        r2 = await svc.client.post(f"{path}/{rid}/decision", headers=auth("work_team"), json={"approved": False})
        assert r2.status_code == 409
        r = await svc.client.get("/v1/extension-requests", params={"state": "pending"}, headers=auth("work_team"))
        assert r.json()["items"] == []
        c = await _clock(svc, "T3")
        assert c["resolve_due_date"] == "2026-10-16" and c["extension_days"] == 3
        assert "+3 working day(s) extension" in c["explanation"]
        assert c["alert_level"] == "warning"  # urgent no longer holds: it moved with the deadline
        kinds = {t["kind"]: t["due_at"] for t in c["pending_transitions"]}
        assert kinds["urgent"].startswith("2026-10-14T16:00") and kinds["alarm"].startswith("2026-10-16T16:00")
        types = [e["type"] for e in await published(svc, "T3")]
        assert types[-3:] == ["ExtensionRequested", "ExtensionDecided", "DeadlineChanged"]
        assert await _at(svc, "2026-10-14T09:00:00+08:00") == 0  # the old alarm does not fire
        assert await _at(svc, "2026-10-15T00:00:00+08:00") == 1
        assert await _at(svc, "2026-10-17T00:00:00+08:00") == 1
        assert await _levels(svc, "T3") == ["reported", "warning", "urgent", "urgent", "alarm"]
        open_levels = [a["level"] for a in (await svc.client.get(
            "/v1/alerts", params={"ticket_no": "T3", "open_only": "true"}, headers=auth("work_team"))).json()["items"]]
        assert open_levels == ["alarm", "urgent", "warning", "reported"]


async def test_extension_after_the_deadline_is_refused_and_writes_nothing(databases: Databases) -> None:
    url = await databases.new("sla")
    async with sla_service(url) as svc:
        await _at(svc, "2026-11-02T10:00:00+08:00")
        await feed(svc, dispatched("T4", local("2026-11-02 10:00")))
        await _at(svc, "2026-11-10T00:00:00+08:00")  # due end of 11-09
        r = await svc.client.post("/v1/clocks/T4/extension-requests", headers=auth("unit"),
                                  json={"days": 2, "reason": "需现场核查"})
        assert r.status_code == 409 and "has passed" in r.json()["detail"]
        async with svc.runtime.sm() as s:
            assert (await s.execute(select(func.count()).select_from(extension_requests))).scalar_one() == 0
        assert not await published(svc, "T4", "ExtensionRequested")


async def test_pause_does_not_count_and_resume_moves_the_deadline(databases: Databases) -> None:
    url = await databases.new("sla")
    async with sla_service(url) as svc:
        await _at(svc, "2026-09-18T10:00:00+08:00")
        await feed(svc, dispatched("T6", local("2026-09-18 10:00")))
        # 09-20 (make-up Sunday) 1, 09-21 .. 09-24 -> due 09-24
        assert (await _clock(svc, "T6"))["resolve_due_date"] == "2026-09-24"
        await _at(svc, "2026-09-21T10:00:00+08:00")
        # the unit asks (5 working days), the work team approves: paused from now until 09-29 00:00
        r = await svc.client.post("/v1/clocks/T6/pause-requests", headers=auth("unit"),
                                  json={"days": 5, "reason": "等待当事人补充材料"})
        assert r.status_code == 201, r.text
        r = await svc.client.post(f"/v1/clocks/T6/pause-requests/{r.json()['id']}/decision",
                                  headers=auth("work_team"), json={"approved": True, "reason": "同意"})
        assert r.status_code == 200, r.text
        assert (await _clock(svc, "T6"))["state"] == "paused"
        r = await svc.client.post("/v1/clocks/T6/pause", headers=auth("work_team"), json={"reason": "again", "days": 1})
        assert r.status_code == 409
        # while paused: the acceptance window still closes (deemed signed) but no urgent/alarm
        assert await _at(svc, "2026-09-25T15:00:00+08:00") == 1
        assert await _levels(svc, "T6") == ["reported", "warning"]
        r = await svc.client.post("/v1/clocks/T6/resume", headers=auth("work_team"), json={"reason": "材料已补齐"})
        assert r.status_code == 200, r.text
        c = r.json()["rounds"][0]
        # (09-21, 09-25] = 09-22, 09-23, 09-24 (09-25 is Mid-autumn Festival): 3 working days not counted
        # -> 8 working days: 09-20, 09-21 .. 09-24, (09-25..27 off), 09-28, 09-29, 09-30
        assert c["state"] == "running" and c["paused_days"] == 3 and c["resolve_due_date"] == "2026-09-30"
        assert c["pauses"][0]["working_days"] == 3 and c["pauses"][0]["reason"] == "等待当事人补充材料"
        assert "+3 working day(s) paused" in c["explanation"]
        assert "skipped 2026-09-25..2026-09-27 中秋节" in c["explanation"]
        r = await svc.client.post("/v1/clocks/T6/resume", headers=auth("work_team"), json={})
        assert r.status_code == 409
        assert await _at(svc, "2026-09-29T00:00:00+08:00") == 1  # urgent: 09-29 and 09-30 remain
        assert await _at(svc, "2026-10-01T00:00:00+08:00") == 1  # alarm
        assert await _levels(svc, "T6") == ["reported", "warning", "urgent", "alarm"]
        types = [e["type"] for e in await published(svc, "T6")]
        assert "ClockPaused" in types and "ClockResumed" in types


async def test_return_request_approved_then_redispatch_restarts_for_the_new_unit(databases: Databases) -> None:
    url = await databases.new("sla")
    async with sla_service(url) as svc:
        await _at(svc, "2026-11-02T10:00:00+08:00")
        await feed(svc, dispatched("T7", local("2026-11-02 10:00")), return_requested("T7", local("2026-11-03 09:00")))
        assert await _at(svc, "2026-11-05T08:00:00+08:00") == 0  # asked to return in time: not deemed signed
        await feed(svc, return_decided("T7", local("2026-11-05 09:00"), True, new_unit=OTHER_UNIT))
        assert (await _clock(svc, "T7"))["state"] == "returned"
        await feed(svc, dispatched("T7", local("2026-11-05 10:00"), unit=OTHER_UNIT, redispatch=True))
        c = await _clock(svc, "T7", "other_unit")
        assert c["unit"] == OTHER_UNIT and c["state"] == "running" and c["resolve_due_date"] == "2026-11-12"
        assert c["restarts"][0]["unit"] != OTHER_UNIT
        assert (await svc.client.get("/v1/clocks/T7", headers=auth("unit"))).status_code == 404
        started = await published(svc, "T7", "ClockStarted")
        assert [s["payload"]["restarted"] for s in started] == [False, True]
        assert (await published(svc, "T7", "ClockStopped"))[0]["payload"]["reason"] == "returned"
        # the old unit's alerts were closed; the new unit has its own `reported`
        alerts = (await svc.client.get("/v1/alerts", params={"ticket_no": "T7", "open_only": "true"},
                                       headers=auth("work_team"))).json()["items"]
        assert [(a["unit"], a["level"]) for a in alerts] == [(OTHER_UNIT, "reported")]


async def test_return_rejected_means_the_unit_goes_on_signed(sqlite_databases: Databases) -> None:
    url = await sqlite_databases.new("sla")
    async with sla_service(url) as svc:
        await _at(svc, "2026-11-02T10:00:00+08:00")
        await feed(svc, dispatched("T8", local("2026-11-02 10:00")), return_requested("T8", local("2026-11-03 09:00")),
                   return_decided("T8", local("2026-11-03 15:00"), False))
        c = await _clock(svc, "T8")
        assert c["signed"] is True and c["deemed_signed"] is False and c["state"] == "running"
        assert await _at(svc, "2026-11-05T23:00:00+08:00") == 0  # no warning; urgent starts 11-06


async def test_redo_rounds_and_policies(databases: Databases) -> None:
    url = await databases.new("sla")
    async with sla_service(url) as svc:
        await _at(svc, "2026-11-02T10:00:00+08:00")
        await feed(svc, dispatched("T10", local("2026-11-02 10:00"), complex_=True))
        assert (await _clock(svc, "T10"))["working_days"] == 10
        await feed(svc, resolved("T10", local("2026-11-04 16:00")),
                   reopened("T10", local("2026-11-10 10:00"), 2))
        body = (await svc.client.get("/v1/clocks/T10", headers=auth("work_team"))).json()
        assert body["current_round"] == 2
        r1, r2 = body["rounds"]
        assert r1["state"] == "resolved" and r1["return_visit_due"] is not None
        assert r2["state"] == "running" and r2["working_days"] == 10 and r2["resolve_due_date"] == "2026-11-24"
        # the dispatch of round 2 after the reopen is the same round and unit: nothing new
        await feed(svc, dispatched("T10", local("2026-11-10 10:05"), round_=2, complex_=True))
        assert len(await published(svc, "T10", "ClockStarted")) == 2
        # a higher round supersedes; a stale round is ignored
        await feed(svc, dispatched("T10", local("2026-11-11 10:00"), round_=3),
                   dispatched("T10", local("2026-11-11 11:00"), round_=1))
        body = (await svc.client.get("/v1/clocks/T10", headers=auth("work_team"))).json()
        assert [r["state"] for r in body["rounds"]] == ["resolved", "superseded", "running"]
        assert body["rounds"][2]["working_days"] == 5
        await feed(svc, closed("T10", local("2026-11-12 10:00")))
        assert (await _clock(svc, "T10"))["state"] == "closed"
        assert await _at(svc, "2027-01-01T00:00:00+08:00") == 0
        # level 3: answered within 1 working day
        await feed(svc, dispatched("T11", local("2026-11-06 18:00"), level=3))
        c = await _clock(svc, "T11")
        assert c["working_days"] == 1 and c["resolve_due_date"] == "2026-11-09"


async def test_events_of_unknown_tickets_are_tolerated_and_answered_stops(sqlite_databases: Databases) -> None:
    from bancheng_shared.contracts import make_event
    from bancheng_shared.contracts.triage import TicketAnswered

    url = await sqlite_databases.new("sla")
    async with sla_service(url) as svc:
        await feed(svc, resolved("GHOST", local("2026-11-02 10:00")), closed("GHOST", local("2026-11-02 11:00")),
                   return_decided("GHOST", local("2026-11-02 12:00"), True))
        assert await published(svc, "GHOST") == []
        r = await svc.client.get("/v1/clocks/GHOST", headers=auth("work_team"))
        assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
        await feed(svc, dispatched("T12", local("2026-11-02 10:00")),
                   make_event(TicketAnswered(answer="已答复", answered_at=local("2026-11-02 15:00")),
                              ticket_id="T12", producer="triage-svc"))
        c = await _clock(svc, "T12")
        assert c["state"] == "answered" and c["pending_transitions"] == []
        assert (await published(svc, "T12", "ClockStopped"))[0]["payload"]["reason"] == "answered"
