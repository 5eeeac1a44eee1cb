"""One calendar: a supervision letter's due date counts working days on the calendar sla publishes.

A letter sent on 2026-12-28 with 5 working days needs 2027, which the seed (chinesecalendar) does not know: 422.
Once sla's CalendarYearLoaded for 2027 was consumed — with a custom holiday on Monday 4 January, so the date
proves the received data is used and not a seed — the same request is due on Wednesday 6 January 2027. A newer
version of the year wins, on every replica (the calendar lives in the database). Real broker, SQLite and
PostgreSQL."""

from __future__ import annotations

from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import Any

from oversight_helpers import ev, produce
from sqlalchemy import func, select

from bancheng_services.testing import Databases, RunningService, auth, eventually, run_service
from bancheng_shared.calendar import seed_years
from bancheng_shared.contracts.sla import CalendarYearLoaded, calendar_key
from oversight_svc.adapters.tables import calendar_years

UNIT = "339901-market_regulation"
SENT = datetime(2026, 12, 28, 1, 0, tzinfo=UTC)  # Monday 09:00 Asia/Shanghai
LETTER = {"unit": UNIT, "requirements": "限期整改并书面回复", "working_days": 5}


class FixedClock:
    """The service's time, held at the day the letters are sent."""

    def now(self) -> datetime:
        return SENT


def year_2027(version: int, *, custom_holiday: bool) -> Any:
    holidays = [{"date": "2027-01-01", "name": "元旦 New Year's Day"}]
    if custom_holiday:
        holidays.append({"date": "2027-01-04", "name": "补休 (test)"})
    return ev(CalendarYearLoaded(year=2027, version=version, holidays=holidays, workdays=[], source="api",
                                 loaded_at=SENT), calendar_key(2027), producer="sla-svc")


async def stored_version(svc: RunningService, year: int) -> int:
    """The newest version of a year oversight stored (what its consumer did with sla's events)."""
    async with svc.runtime.sm() as s:
        q = select(func.max(calendar_years.c.version)).where(calendar_years.c.year == year)
        return int((await s.execute(q)).scalar() or 0)


async def registered_case(svc: RunningService) -> str:
    r = await svc.client.post("/v1/cases", headers=auth("supervision_office"),
                              json={"title": "街道办事拖延督办", "units": [UNIT]})
    assert r.status_code == 201, r.text
    cid = str(r.json()["case_id"])
    r = await svc.client.post(f"/v1/cases/{cid}/register", headers=auth("inspector"), json={})
    assert r.status_code == 200, r.text
    return cid


async def due_of(svc: RunningService, cid: str, local_day: str) -> Any:
    """Send the letter; its due date once it is counted to `local_day` (None while it is not)."""
    r = await svc.client.post(f"/v1/cases/{cid}/letters", headers=auth("inspector"), json=LETTER)
    if r.status_code != 200:
        assert r.status_code == 422 and r.json()["type"].endswith("unknown-calendar-year"), r.text
        return None
    due = r.json()["letters"][0]["due_at"]
    assert due == f"{local_day}T15:59:59Z", due  # end of that day in Asia/Shanghai
    return due


async def _is(value: Any, expected: Any) -> bool:
    return bool(await value == expected)


async def test_letter_due_dates_count_on_the_calendar_sla_publishes(databases: Databases, kafka_bootstrap: str,
                                                                     topic_prefix: str) -> None:
    assert not seed_years([2027]), "chinesecalendar now knows 2027: move this test to a year it does not know"
    url = await databases.new("oversight")
    async with AsyncExitStack() as stack:
        svc = await stack.enter_async_context(run_service(
            "oversight", database_url=url, kafka_bootstrap=kafka_bootstrap, topic_prefix=topic_prefix,
            letter_check_interval_s=3600))
        # a second replica on the same database, without a consumer: it learns the calendar from the database
        replica = await stack.enter_async_context(run_service(
            "oversight", database_url=url, kafka_bootstrap=kafka_bootstrap, topic_prefix=topic_prefix,
            letter_check_interval_s=3600, consumers_enabled=False, relay_enabled=False))
        for s in (svc, replica):
            s.runtime.clock = FixedClock()
        first, second = await registered_case(svc), await registered_case(svc)

        # 29, 30, 31 December are working days; the count runs into 2027, which nobody knows yet
        r = await svc.client.post(f"/v1/cases/{first}/letters", headers=auth("inspector"), json=LETTER)
        assert r.status_code == 422 and r.json()["type"].endswith("unknown-calendar-year"), r.text
        assert "working_days" in r.json()["detail"] and "2027" in r.json()["detail"]

        # sla loads 2027 with a holiday on Monday 4 January: 1 January off, 4 January off → 5, 6 January
        await produce(kafka_bootstrap, topic_prefix, [year_2027(1, custom_holiday=True)])
        await eventually(lambda: due_of(svc, first, "2027-01-06"))

        # a newer version without that holiday wins, on the replica too (1 January off → 4, 5 January); a letter
        # is sent once, so wait until the consumer stored version 2 (the replica has no consumer of its own)
        await produce(kafka_bootstrap, topic_prefix, [year_2027(2, custom_holiday=False)])
        await eventually(lambda: _is(stored_version(svc, 2027), 2))
        assert await due_of(replica, second, "2027-01-05")

        # the calendar's envelope (keyed calendar-2027) is not a ticket: nothing counts it
        r = await svc.client.get(f"/v1/tickets/{calendar_key(2027)}/return-visits", headers=auth("work_team"))
        assert r.status_code == 404
        ov = (await svc.client.get("/v1/stats/overview", params={"from": "2026-01-01", "to": "2027-12-31"},
                                   headers=auth("leader"))).json()
        assert ov["totals"]["tickets_received"] == 0 and ov["totals"]["dispatched"] == 0
