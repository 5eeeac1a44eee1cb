"""The alert ladder walked with simulated time, through National Day 2026, on SQLite and PostgreSQL."""

from __future__ import annotations

from sla_helpers import dispatched, feed, local, published, resolved, signed, sla_service

from bancheng_services.testing import Databases, auth


async def _put_time(svc, when: str) -> dict:  # type: ignore[no-untyped-def]
    r = await svc.client.put("/v1/clock", headers=auth("work_team"), json={"now": when})
    assert r.status_code == 200, r.text
    return r.json()


async def _types(svc, ticket: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [e["type"] + (":" + e["payload"]["level"] if e["type"] == "AlertRaised" else "")
            for e in await published(svc, ticket)]


async def test_every_step_of_the_ladder_through_national_day(databases: Databases) -> None:
    url = await databases.new("sla")
    async with sla_service(url) as svc:
        await _put_time(svc, "2026-09-30T10:00:00+08:00")
        await feed(svc, dispatched("T1", local("2026-09-30 10:00")))
        clock = (await svc.client.get("/v1/clocks/T1", headers=auth("work_team"))).json()["rounds"][0]
        # 5 working days: 10-08, 10-09, 10-10 (make-up Saturday), 10-12, 10-13
        assert clock["resolve_due_date"] == "2026-10-13"
        assert clock["resolve_due_local"] == "2026-10-13T23:59:59.999999+08:00"
        assert clock["calendar_version"].startswith("cn-")
        assert "skipped 2026-10-01..2026-10-07" in clock["explanation"]
        assert "counted 2026-10-10" in clock["explanation"]
        assert clock["alert_level"] == "reported"
        assert await _types(svc, "T1") == ["ClockStarted", "AlertRaised:reported"]

        # the whole holiday passes: nothing is due (acceptance window ends with 10-09)
        assert (await _put_time(svc, "2026-10-09T23:59:59+08:00"))["fired"] == 0
        assert await _types(svc, "T1") == ["ClockStarted", "AlertRaised:reported"]
        # 10-10 00:00: not signed -> warning and deemed signed
        assert (await _put_time(svc, "2026-10-10T00:00:00+08:00"))["fired"] == 1
        assert (await _types(svc, "T1"))[2:] == ["AlertRaised:warning", "DeemedSigned"]
        # urgent from the start of 10-12 (10-12 and 10-13 remain); 10-11 is a Sunday
        assert (await _put_time(svc, "2026-10-11T23:00:00+08:00"))["fired"] == 0
        assert (await _put_time(svc, "2026-10-12T00:00:01+08:00"))["fired"] == 1
        assert (await _types(svc, "T1"))[4:] == ["AlertRaised:urgent"]
        # overdue at the first instant of 10-14: alarm + urge
        assert (await _put_time(svc, "2026-10-13T23:59:59+08:00"))["fired"] == 0
        assert (await _put_time(svc, "2026-10-14T00:00:00+08:00"))["fired"] == 1
        assert (await _types(svc, "T1"))[5:] == ["AlertRaised:alarm", "UrgeIssued"]
        # escalation: 3 working days after the urge date 10-14 -> end of 10-19 (weekend 10-17/18 skipped)
        assert (await _put_time(svc, "2026-10-19T23:00:00+08:00"))["fired"] == 0
        assert (await _put_time(svc, "2026-10-20T00:00:00+08:00"))["fired"] == 1
        assert (await _types(svc, "T1"))[7:] == ["EscalatedToSupervision"]
        # nothing fires twice
        assert (await _put_time(svc, "2026-12-31T00:00:00+08:00"))["fired"] == 0
        clock = (await svc.client.get("/v1/clocks/T1", headers=auth("work_team"))).json()["rounds"][0]
        assert clock["alert_level"] == "alarm" and clock["deemed_signed"] and clock["escalated_at"]
        alerts = (await svc.client.get("/v1/alerts", params={"ticket_no": "T1"}, headers=auth("work_team"))).json()
        assert [a["level"] for a in alerts["items"]] == ["alarm", "urgent", "warning", "reported"]


async def test_signed_and_resolved_in_time_raises_nothing_more(databases: Databases) -> None:
    url = await databases.new("sla")
    async with sla_service(url) as svc:
        await _put_time(svc, "2026-02-13T09:00:00+08:00")
        # dispatched on the Friday before Spring Festival 2026 (02-15..02-23 off; 02-14 and 02-28 make-up)
        await feed(svc, dispatched("T2", local("2026-02-13 09:00")))
        clock = (await svc.client.get("/v1/clocks/T2", headers=auth("unit"))).json()["rounds"][0]
        # 02-14 (make-up Saturday) 1, 02-24 2, 02-25 3, 02-26 4, 02-27 5
        assert clock["resolve_due_date"] == "2026-02-27"
        assert clock["accept_due"].startswith("2026-02-24T15:59:59")
        await feed(svc, signed("T2", local("2026-02-14 09:00")))
        assert (await _put_time(svc, "2026-02-25T00:00:00+08:00"))["fired"] == 0  # signed: no warning
        await feed(svc, resolved("T2", local("2026-02-25 15:00")))
        assert (await _put_time(svc, "2026-03-31T00:00:00+08:00"))["fired"] == 0
        types = await _types(svc, "T2")
        assert types == ["ClockStarted", "AlertRaised:reported", "ClockStopped", "ReturnVisitDue"]
        visit = (await published(svc, "T2", "ReturnVisitDue"))[0]["payload"]
        # 3 working days after 02-25: 02-26, 02-27, 02-28 (make-up Saturday)
        assert visit["due_date"] == "2026-02-28"
        stopped = (await published(svc, "T2", "ClockStopped"))[0]["payload"]
        assert stopped["reason"] == "resolved" and stopped["met_deadline"] is True
        open_alerts = (await svc.client.get("/v1/alerts", params={"open_only": "true", "ticket_no": "T2"},
                                            headers=auth("work_team"))).json()
        assert open_alerts["total"] == 0


async def test_simulated_time_is_refused_when_not_allowed(sqlite_databases: Databases) -> None:
    url = await sqlite_databases.new("sla")
    async with sla_service(url, simulated_time_allowed=False) as svc:
        r = await svc.client.put("/v1/clock", headers=auth("work_team"), json={"now": "2026-10-10T00:00:00+08:00"})
        # 409, not 403: the service's setting refuses it, not the caller's role (403 is about roles only)
        assert r.status_code == 409
        assert r.headers["content-type"].startswith("application/problem+json")
        assert "SLA_SIMULATED_TIME_ALLOWED" in r.json()["detail"]
        assert r.json()["type"] == "/problems/simulated-time-disabled"
        assert (await svc.client.get("/v1/clock", headers=auth("work_team"))).json()["simulated"] is False
        # back to real time: it is in force already
        r = await svc.client.delete("/v1/clock", headers=auth("work_team"))
        assert r.status_code == 200 and r.json()["simulated"] is False and r.json()["fired"] == 0
