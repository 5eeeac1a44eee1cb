"""A ticket's whole life across the four services, on a real broker and real databases:
a working-day deadline across days off loaded as calendar data, the alert ladder walked with sla's simulated
time (deemed signing reaches triage, escalation reaches oversight), resolution, an unsatisfied return visit,
redo through triage with a new sla round, a satisfied visit, closure, and the intake timeline of it all."""

from __future__ import annotations

from contextlib import AsyncExitStack
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from bancheng_services.demo import seed_directory
from bancheng_services.testing import TEST_UNIT, Databases, auth, eventually, run_service

CN = ZoneInfo("Asia/Shanghai")
DRILL = "演练假日 drill day off"


async def get(client: httpx.AsyncClient, url: str, who: str, **params: Any) -> Any:
    r = await client.get(url, headers=auth(who), params=params)
    assert r.status_code == 200, r.text
    return r.json()


def reference_deadline(start: date, days: int, off: set[date], extra_work: set[date]) -> date:
    """Day by day: the Nth working day after start (start not counted)."""
    d, n = start, 0
    while n < days:
        d += timedelta(days=1)
        if d in extra_work or (d.weekday() < 5 and d not in off):
            n += 1
    return d


async def load_drill_days(sla: httpx.AsyncClient, today: date) -> tuple[set[date], set[date]]:
    """Declare the next two working days after tomorrow as days off, and make sure next year is known."""
    year = await get(sla, f"/v1/calendars/{today.year}", "work_team")
    holidays = [{"date": h["date"], "name": h["name"]} for h in year["holidays"]]
    workdays = [{"date": w["date"], "name": w["name"]} for w in year["workdays"]]
    off = {date.fromisoformat(h["date"]) for h in holidays}
    make_up = {date.fromisoformat(w["date"]) for w in workdays}
    drill: list[date] = []
    d = today + timedelta(days=1)
    while len(drill) < 2 and d.year == today.year:
        d += timedelta(days=1)
        if (d.weekday() < 5 and d not in off) and d not in make_up:
            drill.append(d)
    holidays += [{"date": x.isoformat(), "name": DRILL} for x in drill]
    r = await sla.put(f"/v1/calendars/{today.year}", headers=auth("work_team"),
                      json={"holidays": holidays, "workdays": workdays})
    assert r.status_code in (200, 201), r.text
    nxt = await sla.get(f"/v1/calendars/{today.year + 1}", headers=auth("work_team"))
    if nxt.status_code == 404:  # the deadline may reach into a year chinesecalendar does not know yet
        r = await sla.put(f"/v1/calendars/{today.year + 1}", headers=auth("work_team"),
                          json={"holidays": [], "workdays": [], "no_holidays": True})
        assert r.status_code in (200, 201), r.text
    return off | set(drill), make_up


async def set_time(sla: httpx.AsyncClient, at: datetime) -> None:
    r = await sla.put("/v1/clock", headers=auth("work_team"), json={"now": at.isoformat(), "running": False})
    assert r.status_code == 200, r.text


async def test_a_ticket_lives_its_whole_life_across_the_four_services(
    databases: Databases, kafka_bootstrap: str, topic_prefix: str
) -> None:
    urls = {s: await databases.new(s) for s in ("intake", "triage", "sla", "oversight")}
    await seed_directory(urls["triage"])
    async with AsyncExitStack() as stack:
        svc = {
            s: (await stack.enter_async_context(run_service(
                s, database_url=u, kafka_bootstrap=kafka_bootstrap, topic_prefix=topic_prefix,
                **({"simulated_time_allowed": True} if s == "sla" else {})))).client
            for s, u in urls.items()
        }
        intake, triage, sla, oversight = svc["intake"], svc["triage"], svc["sla"], svc["oversight"]
        today = datetime.now(CN).date()
        off, make_up = await load_drill_days(sla, today)

        r = await intake.post("/v1/tickets", headers=auth("operator"), json={
            "channel": "hotline", "content": "城关街道一家超市卖过期食品，商家拒绝退款，希望市场监管部门处理",
            "complainant": {"name": "王女士", "phone": "13912345678"},
            "location": {"region_code": "339901001"}})
        assert r.status_code == 201, r.text
        no = r.json()["ticket_no"]

        async def clock() -> dict | None:
            r = await sla.get(f"/v1/clocks/{no}", headers=auth("work_team"))
            return r.json() if r.status_code == 200 else None

        c = (await eventually(clock))["rounds"][0]
        wo = await get(triage, f"/v1/work-orders/{no}", "work_team")
        assert wo["lead_unit"] == TEST_UNIT
        started = datetime.fromisoformat(c["started_at"]).astimezone(CN).date()
        expected = reference_deadline(started, c["working_days"], off, make_up)
        assert date.fromisoformat(c["resolve_due_date"]) == expected
        if any(started < d <= expected for d in off if d > today):
            assert DRILL.split()[0] in c["explanation"], c["explanation"]

        # the unit neither signs nor returns it: after the acceptance window, warning and deemed signing
        accept_due = datetime.fromisoformat(c["accept_due"])
        await set_time(sla, accept_due + timedelta(minutes=1))

        async def deemed_signed() -> bool:
            w = await get(triage, f"/v1/work-orders/{no}", "work_team")
            return w["state"] == "signed"

        await eventually(deemed_signed)
        levels = {a["level"] for a in (await get(sla, "/v1/alerts", "work_team", ticket_no=no))["items"]}
        assert {"reported", "warning"} <= levels

        # the 报到 SMS went to the unit's duty number from the directory, masked in intake's outbox
        duty = (await get(triage, f"/v1/units/{TEST_UNIT}", "work_team"))["contacts"]["sms"]

        async def reported_sms() -> list | None:
            rows = await get(intake, "/v1/sms", "operator", ticket_no=no, unit=TEST_UNIT)
            return [m for m in rows if m["kind"] == "alert_reported"] or None

        (to_unit,) = await eventually(reported_sms)
        assert to_unit["to"] == f"{duty[:3]}****{duty[-4:]}" and to_unit["status"] == "recorded", to_unit

        # overdue: alarm and an urge; still nothing after the set working days: escalation to supervision
        resolve_due = datetime.fromisoformat(c["resolve_due"])
        await set_time(sla, resolve_due + timedelta(minutes=1))
        await set_time(sla, resolve_due + timedelta(days=30))

        async def supervised() -> list | None:
            cases = await get(oversight, "/v1/cases", "inspector", ticket_no=no)
            items = cases["items"] if isinstance(cases, dict) else cases
            return items or None

        assert await eventually(supervised)
        levels = {a["level"] for a in (await get(sla, "/v1/alerts", "work_team", ticket_no=no))["items"]}
        assert {"urgent", "alarm"} <= levels

        # the unit finally resolves it; the person says no, through the unit's fault: redo
        r = await triage.post(f"/v1/work-orders/{no}/resolution", headers=auth("unit"),
                              json={"outcome": "resolved", "reply": "已责令超市下架过期食品并退款"})
        assert r.status_code == 200, r.text

        # back to the present before the redo: round 2 starts at triage's (real) time, and with sla's clock still 30
        # days ahead its acceptance window would already be over (deemed signed before the unit can sign)
        await set_time(sla, datetime.now(CN))

        async def visit(body: dict) -> dict | None:
            r = await oversight.post(f"/v1/tickets/{no}/return-visits", headers=auth("work_team"), json=body)
            return r.json() if r.status_code == 201 else None

        first = await eventually(lambda: visit({"resolved": "no", "satisfaction": "unsatisfied",
                                                "cause": "subjective", "notes": "没有退款"}))
        assert first["redo"] is True

        async def second_round() -> dict | None:
            c = await clock()
            return c if c and c["current_round"] == 2 else None

        assert (await eventually(second_round))["rounds"][-1]["unit"] == TEST_UNIT
        w = await get(triage, f"/v1/work-orders/{no}", "work_team")
        assert w["round"] == 2

        r = await triage.post(f"/v1/work-orders/{no}/sign", headers=auth("unit"))
        assert r.status_code == 200, r.text
        r = await triage.post(f"/v1/work-orders/{no}/resolution", headers=auth("unit"),
                              json={"outcome": "resolved", "reply": "已退款，并对超市立案处罚"})
        assert r.status_code == 200, r.text
        await eventually(lambda: visit({"resolved": "yes", "satisfaction": "satisfied"}))

        async def closed() -> dict | None:
            t = await get(intake, f"/v1/tickets/{no}", "operator")
            return t if t["status"] == "closed" else None

        t = await eventually(closed)
        events = [s["event"] for s in t["timeline"]]
        for e in ("TicketReceived", "TicketDispatched", "ClockStarted", "TicketSigned", "ResolutionSubmitted",
                  "ReturnVisitRecorded", "TicketReopened", "TicketClosed"):
            assert e in events, (e, events)
        assert events.count("ResolutionSubmitted") == 2

        public = (await intake.get(f"/v1/public/tickets/{no}", params={"phone_last4": "5678"})).json()
        assert "13912345678" not in str(public) and "王女士" not in str(public)
