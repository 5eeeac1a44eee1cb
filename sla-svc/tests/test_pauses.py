"""Pauses a 12345 centre expects: the unit asks (reason, working days), the work team rules or pauses itself, at most
1 pause and 10 paused working days per round (settings), and a pause that is up resumes by itself."""

from __future__ import annotations

from typing import Any

from sla_helpers import dispatched, feed, local, published, sla_service

from bancheng_services.testing import Databases, auth
from sla_svc.handlers.pauses import AUTOMATIC


async def _at(svc: Any, when: str) -> int:
    r = await svc.client.put("/v1/clock", headers=auth("work_team"), json={"now": when})
    assert r.status_code == 200, r.text
    return int(r.json()["fired"])


async def _clock(svc: Any, ticket: str, who: str = "work_team") -> dict[str, Any]:
    r = await svc.client.get(f"/v1/clocks/{ticket}", headers=auth(who))
    assert r.status_code == 200, r.text
    return dict(r.json()["rounds"][-1])


async def _ask(svc: Any, ticket: str, days: int, who: str = "unit") -> Any:
    return await svc.client.post(f"/v1/clocks/{ticket}/pause-requests", headers=auth(who),
                                 json={"days": days, "reason": "等待当事人补充材料"})


async def _rule(svc: Any, ticket: str, request_id: str, **body: Any) -> Any:
    return await svc.client.post(f"/v1/clocks/{ticket}/pause-requests/{request_id}/decision",
                                 headers=auth("work_team"), json=body)


async def _levels(svc: Any, ticket: str) -> list[str]:
    return [e["payload"]["level"] for e in await published(svc, ticket, "AlertRaised")]


async def test_a_unit_cannot_freeze_its_own_clock(databases: Databases) -> None:
    """The reported abuse: five pauses in a row by the unit itself, and no alert while paused. Now the unit asks,
    the work team rules, and the round's one pause is all there is; the ladder fires on time."""
    url = await databases.new("sla")
    async with sla_service(url) as svc:
        await _at(svc, "2026-11-02T10:00:00+08:00")  # Monday
        await feed(svc, dispatched("P1", local("2026-11-02 10:00")))  # due 11-09
        for _ in range(5):
            r = await svc.client.post("/v1/clocks/P1/pause", headers=auth("unit"),
                                      json={"reason": "等待当事人补充材料", "days": 1})
            assert r.status_code == 403 and "pause-requests" in r.json()["detail"], r.text
        assert (await _clock(svc, "P1"))["state"] == "running"
        assert not await published(svc, "P1", "ClockPaused")

        r = await _ask(svc, "P1", 11)  # more than the round's 10 paused working days
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "days"
        assert (await _ask(svc, "P1", 3, who="other_unit")).status_code == 404
        r = await _ask(svc, "P1", 3)
        assert r.status_code == 201, r.text
        asked = r.json()
        assert asked["state"] == "pending" and asked["days"] == 3 and "decided_at" not in asked
        r = await _ask(svc, "P1", 1)
        assert r.status_code == 409 and r.json()["type"] == "/problems/pause-already-requested"
        assert r.json()["request_id"] == asked["id"]
        r = await svc.client.post(f"/v1/clocks/P1/pause-requests/{asked['id']}/decision", headers=auth("unit"),
                                  json={"approved": True})
        assert r.status_code == 403
        pending = await svc.client.get("/v1/pause-requests", params={"state": "pending"}, headers=auth("work_team"))
        assert [p["id"] for p in pending.json()["items"]] == [asked["id"]]
        r = await svc.client.get("/v1/pause-requests", params={"unit": "339902-market_regulation"},
                                 headers=auth("unit"))
        assert r.status_code == 403

        # approved for fewer days than asked: paused from now until 00:00 of the 2nd working day after today
        r = await _rule(svc, "P1", asked["id"], approved=True, days=2, reason="同意两个工作日")
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "approved" and r.json()["approved_days"] == 2
        assert (await _rule(svc, "P1", asked["id"], approved=False)).status_code == 409  # ruled once
        c = await _clock(svc, "P1")
        assert c["state"] == "paused" and c["resume_at"] == "2026-11-03T16:00:00Z"  # 11-04 00:00 Shanghai
        assert {t["kind"] for t in c["pending_transitions"]} == {"accept", "resume"}
        assert c["pauses"][0]["days"] == 2 and c["pauses"][0]["request_id"] == asked["id"]
        assert c["pause_requests"][0]["state"] == "approved"

        # the unit resumes the same day: nothing added; the round's one pause is used
        r = await svc.client.post("/v1/clocks/P1/resume", headers=auth("unit"), json={"reason": "材料已补齐"})
        assert r.status_code == 200, r.text
        assert r.json()["rounds"][0]["state"] == "running" and r.json()["rounds"][0]["paused_days"] == 0
        r = await _ask(svc, "P1", 1)
        assert r.status_code == 409 and r.json()["type"] == "/problems/pause-limit"
        assert r.json()["pauses_taken"] == 1 and r.json()["max_pauses"] == 1
        r = await svc.client.post("/v1/clocks/P1/pause", headers=auth("work_team"),
                                  json={"reason": "再次暂停", "days": 1})
        assert r.status_code == 409 and r.json()["type"] == "/problems/pause-limit"
        assert len(await published(svc, "P1", "ClockPaused")) == 1

        # the ladder was never frozen: warning, urgent and alarm on the original schedule
        assert await _at(svc, "2026-11-10T00:00:00+08:00") == 3
        assert await _levels(svc, "P1") == ["reported", "warning", "urgent", "alarm"]


async def test_a_pause_that_is_up_resumes_by_itself_and_the_ladder_fires_again(databases: Databases) -> None:
    url = await databases.new("sla")
    async with sla_service(url) as svc:
        await _at(svc, "2026-11-02T10:00:00+08:00")
        await feed(svc, dispatched("P2", local("2026-11-02 10:00")))  # due 11-09
        await _at(svc, "2026-11-03T09:00:00+08:00")
        r = await _ask(svc, "P2", 3)
        assert (await _rule(svc, "P2", r.json()["id"], approved=True)).status_code == 200
        c = await _clock(svc, "P2")
        assert c["state"] == "paused" and c["resume_at"] == "2026-11-05T16:00:00Z"  # 11-06 00:00 Shanghai
        # while paused only the acceptance window closes; the original deadline (11-09) passes without alarm
        assert await _at(svc, "2026-11-05T12:00:00+08:00") == 1
        # the pause is up at 11-06 00:00: the clock runs again with 3 working days more (due 11-12)
        assert await _at(svc, "2026-11-06T00:00:00+08:00") == 1
        c = await _clock(svc, "P2")
        assert c["state"] == "running" and c["paused_days"] == 3 and c["resolve_due_date"] == "2026-11-12"
        assert c["resume_at"] is None and c["pauses"][0]["working_days"] == 3
        assert c["pauses"][0]["resumed_by"] == AUTOMATIC and c["pauses"][0]["resumed_at"] == "2026-11-05T16:00:00Z"
        assert {t["kind"] for t in c["pending_transitions"]} == {"urgent", "alarm"}
        resumed = (await published(svc, "P2", "ClockResumed"))[0]["payload"]
        assert resumed["paused_working_days"] == 3 and resumed["at"].startswith("2026-11-05T16:00:00")
        changed = (await published(svc, "P2", "DeadlineChanged"))[-1]["payload"]
        assert changed["reason"] == "resumed after a pause of 3 working day(s)"
        # the ladder fires again on the moved deadline
        assert await _at(svc, "2026-11-10T23:00:00+08:00") == 0
        assert await _at(svc, "2026-11-11T00:00:00+08:00") == 1
        assert await _at(svc, "2026-11-13T00:00:00+08:00") == 1
        assert await _levels(svc, "P2") == ["reported", "warning", "urgent", "alarm"]
        types = [e["type"] for e in await published(svc, "P2")]
        assert types.index("ClockPaused") < types.index("ClockResumed") < types.index("UrgeIssued")


async def test_the_rounds_paused_days_are_bounded_and_a_late_approval_can_only_be_rejected(
        databases: Databases) -> None:
    url = await databases.new("sla")
    async with sla_service(url, max_pauses_per_round=5, max_paused_working_days=3) as svc:
        await _at(svc, "2026-11-02T10:00:00+08:00")
        await feed(svc, dispatched("P3", local("2026-11-02 10:00")))
        r = await svc.client.post("/v1/clocks/P3/pause", headers=auth("work_team"),
                                  json={"reason": "现场勘查", "days": 2})
        assert r.status_code == 200 and r.json()["rounds"][0]["state"] == "paused", r.text
        assert await _at(svc, "2026-11-04T00:00:00+08:00") == 1  # resumed by itself after 2 working days
        c = await _clock(svc, "P3")
        assert c["state"] == "running" and c["paused_days"] == 2
        r = await _ask(svc, "P3", 2)  # 2 of 3 used: 1 remains
        assert r.status_code == 409 and r.json()["paused_days_used"] == 2, r.text
        r = await _ask(svc, "P3", 1)
        assert r.status_code == 201, r.text
        # the deadline passes before the work team rules: the request can only be rejected
        await _at(svc, "2026-11-20T00:00:00+08:00")
        late = await _rule(svc, "P3", r.json()["id"], approved=True)
        assert late.status_code == 409 and late.json()["type"] == "/problems/deadline-passed"
        rejected = await _rule(svc, "P3", r.json()["id"], approved=False, reason="已超期")
        assert rejected.status_code == 200 and rejected.json()["state"] == "rejected"
        assert rejected.json()["approved_days"] is None
        assert (await _clock(svc, "P3"))["state"] == "running"
        r = await svc.client.post("/v1/clocks/P3/pause-requests/nope/decision", headers=auth("work_team"),
                                  json={"approved": True})
        assert r.status_code == 404 and r.json()["type"] == "/problems/unknown-pause-request"
