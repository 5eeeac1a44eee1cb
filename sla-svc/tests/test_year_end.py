"""Clocks across the year end, on SQLite and PostgreSQL: a step that needs next year's calendar is flagged and carried
out once the year is loaded (PUT /v1/calendars/{year}); from 1 November a missing next-year calendar is a warning in
/readyz and a metric."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sla_helpers import dispatched, feed, local, published, sla_service

from bancheng_services.testing import Databases, auth, eventually

Y2027 = {"holidays": [{"date": "2027-01-01", "name": "元旦"}],
         "workdays": [{"date": "2027-02-20", "name": "春节调休"}]}


async def _put_time(svc: Any, when: str) -> dict[str, Any]:
    r = await svc.client.put("/v1/clock", headers=auth("work_team"), json={"now": when})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def _round(svc: Any, ticket: str) -> dict[str, Any]:
    r = await svc.client.get(f"/v1/clocks/{ticket}", headers=auth("work_team"))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()["rounds"][-1]
    return body


def _at(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


async def test_an_urge_on_29_december_escalates_once_next_year_is_loaded(databases: Databases) -> None:
    url = await databases.new("sla")
    async with sla_service(url) as svc:
        await _put_time(svc, "2026-12-21T10:00:00+08:00")
        await feed(svc, dispatched("Y1", local("2026-12-21 10:00")))  # 5 working days: due the end of 12-28
        await _put_time(svc, "2026-12-29T09:00:00+08:00")  # warning, urgent, alarm + urge at 12-29 00:00

        async def urged_and_flagged() -> bool:
            return len(await published(svc, "Y1", "UrgeIssued")) == 1 and \
                len(await published(svc, "Y1", "ClockFlagged")) == 1
        await eventually(urged_and_flagged)
        clock = await _round(svc, "Y1")
        assert _at(clock["urged_at"]) == local("2026-12-29 00:00")
        assert clock["flagged"] is True and clock["flagged_years"] == [2027]
        assert clock["flagged_steps"] == ["escalate"]
        assert clock["pending_transitions"] == []  # no guessed escalation
        flagged = (await published(svc, "Y1", "ClockFlagged"))[0]["payload"]
        assert flagged["years_missing"] == [2027] and "escalation 3 working days after" in flagged["reason"]
        listing = (await svc.client.get("/v1/clocks/flagged", headers=auth("operator"))).json()
        assert [c["ticket_no"] for c in listing["items"]] == ["Y1"]

        r = await svc.client.put("/v1/calendars/2027", headers=auth("work_team"), json=Y2027)
        assert r.status_code == 200, r.text
        assert r.json()["flagged_clocks_recomputed"] == 1
        clock = await _round(svc, "Y1")
        assert clock["flagged"] is False and clock["flagged_years"] == [] and clock["flagged_steps"] == []
        # 3 working days after 12-29: 12-30, 12-31, (01-01 元旦 off) 01-04 -> escalated at 2027-01-05 00:00
        [timer] = clock["pending_transitions"]
        assert timer["kind"] == "escalate" and _at(timer["due_at"]) == local("2027-01-05 00:00")
        assert not await published(svc, "Y1", "DeadlineChanged")  # the deadline was known and stays as it was

        assert (await _put_time(svc, "2027-01-04T23:59:59+08:00"))["fired"] == 0
        assert (await _put_time(svc, "2027-01-05T00:00:00+08:00"))["fired"] == 1

        async def escalated() -> bool:
            return len(await published(svc, "Y1", "EscalatedToSupervision")) == 1
        await eventually(escalated)
        event = (await published(svc, "Y1", "EscalatedToSupervision"))[0]["payload"]
        assert _at(event["at"]) == local("2027-01-05 00:00")
        assert _at(event["urged_at"]) == local("2026-12-29 00:00")
        assert (await _round(svc, "Y1"))["escalated_at"] is not None


async def test_when_the_year_comes_late_the_scheduler_fires_what_fell_due(databases: Databases) -> None:
    url = await databases.new("sla")
    async with sla_service(url, scheduler_enabled=True, scheduler_interval_s=0.05) as svc:
        await _put_time(svc, "2026-12-21T10:00:00+08:00")
        await feed(svc, dispatched("Y2", local("2026-12-21 10:00")))
        await _put_time(svc, "2027-01-08T09:00:00+08:00")  # 2027 still unknown: urged, flagged, not escalated

        async def flagged() -> bool:
            return len(await published(svc, "Y2", "ClockFlagged")) == 1
        await eventually(flagged)
        assert not await published(svc, "Y2", "EscalatedToSupervision")
        r = await svc.client.put("/v1/calendars/2027", headers=auth("work_team"), json=Y2027)
        assert r.status_code == 200, r.text

        async def escalated() -> bool:
            return len(await published(svc, "Y2", "EscalatedToSupervision")) == 1
        await eventually(escalated)  # by the scheduler's loop, at the working day it fell due on
        event = (await published(svc, "Y2", "EscalatedToSupervision"))[0]["payload"]
        assert _at(event["at"]) == local("2027-01-05 00:00")


async def test_a_pause_ending_next_year_resumes_once_the_year_is_loaded(databases: Databases) -> None:
    url = await databases.new("sla")
    async with sla_service(url) as svc:
        await _put_time(svc, "2026-12-22T10:00:00+08:00")
        await feed(svc, dispatched("Y3", local("2026-12-22 10:00")))  # due the end of 12-29
        await _put_time(svc, "2026-12-29T10:00:00+08:00")
        r = await svc.client.post("/v1/clocks/Y3/pause", headers=auth("work_team"),
                                  json={"days": 3, "reason": "等待当事人补充材料"})
        assert r.status_code in (200, 201, 204), r.text
        clock = await _round(svc, "Y3")
        assert clock["state"] == "paused" and clock["resume_at"] is None
        assert clock["flagged"] is True and clock["flagged_years"] == [2027] and clock["flagged_steps"] == ["resume"]
        flagged = (await published(svc, "Y3", "ClockFlagged"))[0]["payload"]
        assert "pause of 3 working day(s)" in flagged["reason"]

        r = await svc.client.put("/v1/calendars/2027", headers=auth("work_team"), json=Y2027)
        assert r.status_code == 200, r.text
        clock = await _round(svc, "Y3")
        # 12-30, 12-31, 01-04: it resumes at 00:00 of the third
        assert _at(clock["resume_at"]) == local("2027-01-04 00:00") and clock["flagged"] is False
        assert [t["kind"] for t in clock["pending_transitions"]] == ["resume"]
        assert _at(clock["pauses"][0]["resume_at"]) == local("2027-01-04 00:00")
        assert (await _put_time(svc, "2027-01-04T00:00:00+08:00"))["fired"] == 1

        async def resumed() -> bool:
            return len(await published(svc, "Y3", "ClockResumed")) == 1
        await eventually(resumed)
        clock = await _round(svc, "Y3")
        assert clock["state"] == "running" and clock["resolve_due_date"] == "2027-01-04"


async def test_a_missing_next_year_calendar_is_a_warning_from_1_november(databases: Databases) -> None:
    url = await databases.new("sla")
    async with sla_service(url) as svc:
        async def details() -> dict[str, Any]:
            r = await svc.client.get("/readyz")  # the broker is off in this test: 503, with the same details
            body: dict[str, Any] = r.json()["details"]["next_year_calendar"]
            return body

        async def gauge() -> str:
            text = (await svc.client.get("/metrics")).text
            return next(line for line in text.splitlines()
                        if line.startswith("bancheng_sla_next_year_calendar_missing "))

        await _put_time(svc, "2026-10-31T23:00:00+08:00")
        assert await details() == {"next_year": 2027, "loaded": False}
        assert await gauge() == "bancheng_sla_next_year_calendar_missing 0.0"
        await _put_time(svc, "2026-11-01T00:00:00+08:00")
        warned = await details()
        assert warned["loaded"] is False and "2027 is not loaded" in warned["warning"]
        assert await gauge() == "bancheng_sla_next_year_calendar_missing 1.0"
        r = await svc.client.put("/v1/calendars/2027", headers=auth("work_team"), json=Y2027)
        assert r.status_code == 200, r.text
        assert await details() == {"next_year": 2027, "loaded": True}
        assert await gauge() == "bancheng_sla_next_year_calendar_missing 0.0"
