"""Calendars as versioned data: seeded, read, loaded through the API with validation; a clock that needs an
unknown year is flagged and computed once the year is loaded."""

from __future__ import annotations

from sla_helpers import dispatched, feed, local, published, sla_service

from bancheng_services.testing import Databases, auth

Y2027 = {"holidays": [{"date": "2027-01-01", "name": "元旦"}],
         "workdays": [{"date": "2027-02-20", "name": "春节调休"}]}


async def test_seeded_years_are_readable(sqlite_databases: Databases) -> None:
    url = await sqlite_databases.new("sla")
    async with sla_service(url) as svc:
        r = await svc.client.get("/v1/calendars/2026", headers=auth("operator"))
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["source"] == "chinesecalendar" and body["version"] == 1 and body["timezone"] == "Asia/Shanghai"
        work = {w["date"] for w in body["workdays"]}
        assert {"2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"} <= work
        hol = {h["date"] for h in body["holidays"]}
        assert {"2026-02-17", "2026-10-01", "2026-10-07"} <= hol and "2026-10-08" not in hol
        listing = (await svc.client.get("/v1/calendars", headers=auth("operator"))).json()
        assert {"year": 2025, "version": 1} in listing["years"]
        r = await svc.client.get("/v1/calendars/2031", headers=auth("operator"))
        assert r.status_code == 404 and "PUT /v1/calendars/2031" in r.json()["detail"]


async def test_unknown_year_flags_the_clock_until_the_year_is_loaded(databases: Databases) -> None:
    url = await databases.new("sla")
    async with sla_service(url) as svc:
        await svc.client.put("/v1/clock", headers=auth("work_team"), json={"now": "2026-12-28T10:00:00+08:00"})
        await feed(svc, dispatched("T9", local("2026-12-28 10:00")))
        clock = (await svc.client.get("/v1/clocks/T9", headers=auth("work_team"))).json()["rounds"][0]
        assert clock["flagged"] is True and clock["flagged_years"] == [2027]
        assert clock["resolve_due"] is None and "does not cover 2027" in clock["explanation"]
        assert [t["kind"] for t in clock["pending_transitions"]] == ["accept"]  # no guessed alarm
        flagged = (await published(svc, "T9", "ClockFlagged"))[0]["payload"]
        assert flagged["years_missing"] == [2027]
        listing = (await svc.client.get("/v1/clocks/flagged", headers=auth("operator"))).json()
        assert [c["ticket_no"] for c in listing["items"]] == ["T9"]
        assert (await svc.client.get("/v1/clocks", params={"flagged": "true"},
                                     headers=auth("operator"))).json()["total"] == 1

        # bad calendars: problem+json naming the date, nothing changes
        bad = [
            ({"holidays": [{"date": "2027-02-30"}]}, "holidays[0].date", "'2027-02-30' is not a date"),
            ({"holidays": [{"date": "2026-10-01"}]}, "holidays[0].date", "not in year 2027"),
            ({"holidays": [{"date": "2027-02-08"}, {"date": "2027-02-08"}]}, "holidays[1].date", "twice"),
            ({"holidays": [{"date": "2027-02-20"}], "workdays": [{"date": "2027-02-20"}]}, "workdays[0].date",
             "overlaps"),
            ({"year": 2028, "holidays": []}, "year", "2028"),
        ]
        for body, field, words in bad:
            r = await svc.client.put("/v1/calendars/2027", headers=auth("work_team"), json=body)
            assert r.status_code == 422, r.text
            assert r.headers["content-type"].startswith("application/problem+json")
            assert words in r.json()["detail"]
            assert r.json()["errors"][0]["field"] == field
        r = await svc.client.put("/v1/calendars/2027", headers=auth("unit"), json=Y2027)
        assert r.status_code == 403
        assert (await svc.client.get("/v1/calendars/2027", headers=auth("work_team"))).status_code == 404
        assert (await svc.client.get("/v1/clocks/T9", headers=auth("work_team"))).json()["rounds"][0]["flagged"]

        # the year is loaded: the flagged clock is computed
        r = await svc.client.put("/v1/calendars/2027", headers=auth("work_team"), json=Y2027)
        assert r.status_code == 200, r.text
        assert r.json()["version"] == 1 and r.json()["changed"] and r.json()["flagged_clocks_recomputed"] == 1
        clock = (await svc.client.get("/v1/clocks/T9", headers=auth("work_team"))).json()["rounds"][0]
        # 12-29, 12-30, 12-31, (01-01 New Year, 01-02/03 weekend), 01-04, 01-05
        assert clock["flagged"] is False and clock["resolve_due_date"] == "2027-01-05"
        assert clock["calendar_version"].startswith("cn-2024-2027-")
        assert "skipped 2027-01-01 元旦" in clock["explanation"]
        assert {t["kind"] for t in clock["pending_transitions"]} == {"accept", "urgent", "alarm"}
        changed = (await published(svc, "T9", "DeadlineChanged"))[0]["payload"]
        assert changed["reason"] == "calendar loaded" and changed["resolve_due_date"] == "2027-01-05"
        assert (await svc.client.get("/v1/clocks/flagged", headers=auth("operator"))).json()["total"] == 0

        # versions: the same data is no change; a change is a new version; clocks keep the version they used
        r = await svc.client.put("/v1/calendars/2027", headers=auth("work_team"), json=Y2027)
        assert r.json()["changed"] is False and r.json()["version"] == 1
        amended = {**Y2027, "holidays": [*Y2027["holidays"], {"date": "2027-01-04", "name": "test"}]}
        r = await svc.client.put("/v1/calendars/2027", headers=auth("admin"), json=amended)
        assert r.json()["version"] == 2
        got = (await svc.client.get("/v1/calendars/2027", headers=auth("operator"))).json()
        assert got["version"] == 2 and [v["version"] for v in got["versions"]] == [1, 2]
        v1 = (await svc.client.get("/v1/calendars/2027", params={"version": 1}, headers=auth("operator"))).json()
        assert v1["in_force"] is False and len(v1["holidays"]) == 1
        assert (await svc.client.get("/v1/clocks/T9", headers=auth("work_team"))).json()["rounds"][0][
            "resolve_due_date"] == "2027-01-05"
        # a new clock uses the new version: 01-04 is now a holiday
        await feed(svc, dispatched("T10", local("2026-12-30 10:00")))
        c10 = (await svc.client.get("/v1/clocks/T10", headers=auth("work_team"))).json()["rounds"][0]
        assert c10["resolve_due_date"] == "2027-01-08" and c10["calendar_version"] != clock["calendar_version"]


async def test_scheduler_loop_keeps_running_after_a_calendar_change(sqlite_databases: Databases) -> None:
    from sla_helpers import sla_of

    from bancheng_services.testing import eventually
    from sla_svc.adapters.tables import sim_time

    url = await sqlite_databases.new("sla")
    async with sla_service(url, scheduler_enabled=True, scheduler_interval_s=0.05) as svc:
        await svc.client.put("/v1/clock", headers=auth("work_team"), json={"now": "2026-12-28T10:00:00+08:00"})
        await feed(svc, dispatched("T20", local("2026-12-28 10:00")))
        assert (await svc.client.put("/v1/calendars/2027", headers=auth("work_team"), json=Y2027)).status_code == 200
        # the loop reloads the calendar and goes on firing what falls due (time moved without PUT /v1/clock)
        async with svc.runtime.sm() as s, s.begin():
            await s.execute(sim_time.update().values(now=local("2027-01-06 09:00")))
        sla_of(svc).wake()

        async def alarmed() -> bool:
            return any(e["payload"]["level"] == "alarm" for e in await published(svc, "T20", "AlertRaised"))
        await eventually(alarmed, timeout_s=15)


async def test_every_calendar_version_stored_is_published_for_the_other_services(sqlite_databases: Databases) -> None:
    """Oversight counts letter deadlines on the same calendar: each stored version goes out as an event."""
    from datetime import UTC, datetime

    from bancheng_shared.calendar import seed_years

    url = await sqlite_databases.new("sla")
    known = [y.year for y in seed_years(range(2024, datetime.now(UTC).year + 2))]

    async def loaded(svc) -> list[dict]:  # type: ignore[no-untyped-def]
        return await published(svc, type_="CalendarYearLoaded")

    async with sla_service(url) as svc:
        seeded = await loaded(svc)
        assert [(e["ticket_id"], e["payload"]["version"], e["payload"]["source"]) for e in seeded] == [
            (f"calendar-{y}", 1, "chinesecalendar") for y in known]
        assert (await svc.client.put("/v1/calendars/2027", headers=auth("work_team"), json=Y2027)).status_code == 200
        assert (await svc.client.put("/v1/calendars/2027", headers=auth("work_team"), json=Y2027)).json()[
            "changed"] is False
        amended = {**Y2027, "holidays": [*Y2027["holidays"], {"date": "2027-01-04", "name": "元旦补休"}]}
        assert (await svc.client.put("/v1/calendars/2027", headers=auth("work_team"), json=amended)).json()[
            "version"] == 2
        y2027 = [e for e in await loaded(svc) if e["payload"]["year"] == 2027]
        assert [e["payload"]["version"] for e in y2027] == [1, 2]  # the unchanged PUT stored and sent nothing
        assert y2027[1]["payload"]["holidays"] == [{"date": "2027-01-01", "name": "元旦"},
                                                   {"date": "2027-01-04", "name": "元旦补休"}]
        assert y2027[1]["payload"]["workdays"] == [{"date": "2027-02-20", "name": "春节调休"}]
    async with sla_service(url) as again:  # a restart seeds nothing new, so sends nothing again
        assert len(await loaded(again)) == len(known) + 2
